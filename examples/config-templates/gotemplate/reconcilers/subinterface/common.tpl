{{- /* Shared by both reconcilers: the Config's metadata; call with (the for-object). */ -}}
{{- define "metadata" }}
metadata:
  name: {{ template "name" . }}
  namespace: {{ .metadata.namespace }}
  labels:
    config.sdcio.dev/targetName: {{ .spec.node }}
    config.sdcio.dev/targetNamespace: {{ .metadata.namespace }}
{{- end }}
{{- define "name" }}{{ if eq .kind "Interface" }}interface{{ else }}subinterface{{ end }}.{{ .metadata.name }}{{ end }}

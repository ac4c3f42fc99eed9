apiVersion: config.sdcio.dev/v1alpha1
kind: Config
{{- template "metadata" . }}
spec:
  priority: 10
  config:
  - path: /
    value:
      interface:
      - name: {{ .spec.name }}
        admin-state: {{ .spec.adminState }}
{{- with .spec.description }}
        description: {{ . }}
{{- end }}
{{- with .spec.mtu }}
        mtu: {{ . }}
{{- end }}
{{- if .spec.vlanTagging }}
        vlan-tagging: true
{{- end }}

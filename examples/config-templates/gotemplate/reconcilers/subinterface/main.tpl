apiVersion: config.sdcio.dev/v1alpha1
kind: Config
{{- template "metadata" . }}
spec:
  priority: 20
  config:
  - path: /
    value:
      interface:
      - name: {{ .spec.interface }}
        subinterface:
        - index: {{ .spec.index }}
          type: {{ .spec.type }}
          admin-state: enable
{{- with .spec.vlanId }}
          vlan:
            encap:
              single-tagged:
                vlan-id: {{ . }}
{{- end }}
{{- if eq .spec.type "routed" }}
{{- range $family, $prefixes := .spec }}
{{- if or (eq $family "ipv4") (eq $family "ipv6") }}
          {{ $family }}:
            admin-state: enable
            address:
{{- range $prefixes }}
            - ip-prefix: {{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Small helpers only. Each service's manifests (Deployment, Service, PodDisruptionBudget,
NetworkPolicy, ServiceAccount) are written out in its own templates/<service>.yaml.
*/}}

{{/* The labels of one service's objects: (dict "svc" NAME "root" $). */}}
{{- define "latchkey.labels" -}}
app.kubernetes.io/name: {{ .svc }}
app.kubernetes.io/part-of: latchkey
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* The variables every service reads (libs/service/src/service-config.ts): (dict "svc" NAME "root" $). */}}
{{- define "latchkey.env" -}}
- name: LATCHKEY_SERVICE_HOST
  value: 0.0.0.0
- name: LATCHKEY_GRPC_PORT
  value: "7400"
- name: LATCHKEY_REPLICA_ID
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: LATCHKEY_LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: LATCHKEY_TLS_CA_FILE
  value: /keys/tls/ca.crt
- name: LATCHKEY_TLS_CERT_FILE
  value: /keys/tls/{{ .svc }}.crt
- name: LATCHKEY_TLS_KEY_FILE
  value: /keys/tls/{{ .svc }}.key
- name: LATCHKEY_NATS_URL
  value: {{ join "," .root.Values.nats.urls | quote }}
- name: LATCHKEY_NATS_REPLICAS
  value: {{ .root.Values.nats.replicas | quote }}
- name: LATCHKEY_NATS_CA_FILE
  value: /keys/tls/ca.crt
- name: LATCHKEY_NATS_CREDS_FILE
  value: /keys/bus/{{ .svc }}.creds
- name: LATCHKEY_OIDC_ISSUER
  value: {{ .root.Values.oidc.issuer | quote }}
- name: LATCHKEY_OIDC_AUDIENCE
  value: {{ .root.Values.oidc.audience | quote }}
{{- if .root.Values.oidc.jwksUrl }}
- name: LATCHKEY_OIDC_JWKS_URL
  value: {{ .root.Values.oidc.jwksUrl | quote }}
{{- else }}
- name: LATCHKEY_OIDC_JWKS_FILE
  value: /keys/oidc-jwks.json
{{- end }}
- name: LATCHKEY_OIDC_GROUPS_CLAIM
  value: {{ .root.Values.oidc.groupsClaim | quote }}
- name: LATCHKEY_OIDC_USER_CLAIM
  value: {{ .root.Values.oidc.userClaim | quote }}
- name: LATCHKEY_SECRETS_V2
  value: {{ .root.Values.features.secretsV2.enabled | quote }}
- name: LATCHKEY_METRICS_PORT
  value: {{ .root.Values.metrics.port | quote }}
- name: OTEL_SERVICE_NAME
  value: latchkey-{{ .svc }}
{{- if .root.Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .root.Values.tracing.otlpEndpoint | quote }}
{{- end }}
{{- end }}

{{/* One egress rule to a destination outside the chart: {peers, ports}; no peers: any destination on those ports. */}}
{{- define "latchkey.egressTo" -}}
- ports:
    {{- range .ports }}
    - { port: {{ . }}, protocol: TCP }
    {{- end }}
  {{- with .peers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

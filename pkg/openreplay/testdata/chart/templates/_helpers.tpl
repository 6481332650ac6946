{{/* The Secret a service takes its S3 key from: global.s3.existingSecret, else or-secrets
(as OpenReplay's "openreplay.secrets" does for access-key and secret-key). */}}
{{- define "shape.s3SecretRef" -}}
name: {{ .ctx.Values.global.s3.existingSecret | default "or-secrets" }}
key: {{ .key }}
{{- end }}

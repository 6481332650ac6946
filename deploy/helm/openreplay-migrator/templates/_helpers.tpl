{{/* Names: <release>-openreplay-migrator, or the release name when it already says so.
Cut to 50 characters so that suffixes such as "-destination" keep names within 63. */}}
{{- define "migrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "migrator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "migrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "migrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "migrator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "migrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "migrator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "migrator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secrets the keys come from. */}}
{{- define "migrator.sourceSecret" -}}
{{- if .Values.source.existingSecret }}
{{- .Values.source.existingSecret }}
{{- else }}
{{- include "migrator.fullname" . }}-source
{{- end }}
{{- end }}

{{- define "migrator.destinationSecret" -}}
{{- if or .Values.destination.accessKey .Values.destination.secretKey }}
{{- include "migrator.fullname" . }}-destination
{{- else }}
{{- .Values.destination.existingSecret }}
{{- end }}
{{- end }}

{{/* "true" when templates talk to a cluster (helm install/upgrade), "" under helm template,
helm lint and a client-side dry run, where lookup finds nothing. kube-system exists in
every cluster, so an empty answer for it means there is no cluster to ask. */}}
{{- define "migrator.online" -}}
{{- if lookup "v1" "Namespace" "" "kube-system" }}true{{ end }}
{{- end }}

{{/* The destination's access key, base64 as in a Secret's data, when it can be known. */}}
{{- define "migrator.destinationAccessKeyB64" -}}
{{- $d := .Values.destination }}
{{- if $d.accessKey }}
{{- $d.accessKey | b64enc }}
{{- else if $d.existingSecret }}
{{- $s := lookup "v1" "Secret" .Release.Namespace $d.existingSecret }}
{{- if $s }}{{ index (default dict $s.data) $d.secretKeys.accessKey | default "" }}{{ end }}
{{- end }}
{{- end }}

{{- define "migrator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "migrator.configPath" -}}/etc/openreplay-migrator/config.yaml{{- end }}
{{- define "migrator.stateDir" -}}/var/lib/openreplay-migrator{{- end }}
{{- define "migrator.caDir" -}}/etc/openreplay-migrator-ca{{- end }}

{{/* Checks that apply whatever the mode. */}}
{{- define "migrator.validate" -}}
{{- if not (has .Values.mode (list "copy" "serve" "cron")) }}
{{- fail (printf "mode %q: want copy (the bulk copy Job), serve (a Deployment running `migrator serve`) or cron (a CronJob running `migrator sync`)" (toString .Values.mode)) }}
{{- end }}
{{- if or (lt (int .Values.shards) 1) (ne (toString (int .Values.shards)) (toString .Values.shards)) }}
{{- fail (printf "shards %v: want a whole number, 1 or more" .Values.shards) }}
{{- end }}
{{- range $side := list "source" "destination" }}
{{- $v := index $.Values $side }}
{{- if and (or $v.accessKey $v.secretKey) (not (and $v.accessKey $v.secretKey)) }}
{{- fail (printf "%s.accessKey and %s.secretKey go together: give both, or neither" $side $side) }}
{{- end }}
{{- end }}
{{- if not (include "migrator.destinationSecret" .) }}
{{- fail "destination keys: set destination.accessKey and destination.secretKey, or name a Secret holding them with destination.existingSecret" }}
{{- end }}
{{- if lt (int .Values.gracePeriodSeconds) 1 }}
{{- fail "gracePeriodSeconds: want 1 or more" }}
{{- end }}
{{- end }}

{{/* The pod every mode runs. Called with a dict: ctx (the root context), component,
args (the migrator's command line without the binary), restartPolicy, serve (probes). */}}
{{- define "migrator.pod" -}}
{{- $ := .ctx }}
{{- $v := $.Values -}}
metadata:
  labels:
    {{- include "migrator.selectorLabels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") $ | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "migrator.serviceAccountName" $ }}
  # The migrator talks to S3 only, never to the Kubernetes API.
  automountServiceAccountToken: false
  restartPolicy: {{ .restartPolicy }}
  # The migrator's own grace period for in-flight objects, plus time to abort the rest
  # and write the checkpoint.
  terminationGracePeriodSeconds: {{ add (int $v.gracePeriodSeconds) 30 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    fsGroup: 65532
    fsGroupChangePolicy: OnRootMismatch
    seccompProfile:
      type: RuntimeDefault
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: migrator
      image: {{ include "migrator.image" $ }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args:
        {{- range .args }}
        - {{ . | quote }}
        {{- end }}
        {{- range $v.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        # Keys reach the migrator only from Secrets, never on its command line.
        - name: MIGRATOR_SOURCE_ACCESS_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "migrator.sourceSecret" $ }}
              key: {{ $v.source.secretKeys.accessKey }}
        - name: MIGRATOR_SOURCE_SECRET_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "migrator.sourceSecret" $ }}
              key: {{ $v.source.secretKeys.secretKey }}
        - name: MIGRATOR_DESTINATION_ACCESS_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "migrator.destinationSecret" $ }}
              key: {{ $v.destination.secretKeys.accessKey }}
        - name: MIGRATOR_DESTINATION_SECRET_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "migrator.destinationSecret" $ }}
              key: {{ $v.destination.secretKeys.secretKey }}
        {{- if and (eq .component "copy") (gt (int $v.shards) 1) }}
        # With JOB_COMPLETION_INDEX, which the Indexed Job sets, this makes the pod shard
        # $JOB_COMPLETION_INDEX of MIGRATOR_SHARDS.
        - name: MIGRATOR_SHARDS
          value: {{ $v.shards | quote }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ $v.metrics.port }}
          protocol: TCP
      {{- if .serve }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
        periodSeconds: 20
        failureThreshold: 3
      readinessProbe:
        # Ready when both services answer and the checkpoints can be saved.
        httpGet:
          path: /readyz
          port: metrics
        periodSeconds: 30
        timeoutSeconds: 10
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: {{ dir (include "migrator.configPath" $) }}
          readOnly: true
        {{- if not $v.state.s3 }}
        - name: state
          mountPath: {{ include "migrator.stateDir" $ }}
        {{- end }}
        {{- if $v.destination.caConfigMap.name }}
        - name: ca
          mountPath: {{ include "migrator.caDir" $ }}
          readOnly: true
        {{- end }}
      securityContext:
        runAsNonRoot: true
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        privileged: false
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
      resources:
        {{- toYaml $v.resources | nindent 8 }}
  volumes:
    - name: config
      configMap:
        name: {{ include "migrator.fullname" $ }}
    {{- if not $v.state.s3 }}
    - name: state
      persistentVolumeClaim:
        claimName: {{ default (printf "%s-state" (include "migrator.fullname" $)) $v.state.existingClaim }}
    {{- end }}
    {{- if $v.destination.caConfigMap.name }}
    - name: ca
      configMap:
        name: {{ $v.destination.caConfigMap.name }}
        items:
          - key: {{ $v.destination.caConfigMap.key }}
            path: ca.crt
    {{- end }}
  {{- $affinity := $v.affinity }}
  {{- if and (eq .component "copy") (gt (int $v.shards) 1) (eq $v.state.accessMode "ReadWriteOnce") (not $v.state.s3) (not $affinity) }}
  {{- /* A ReadWriteOnce volume attaches to one node: keep the shards together there. */}}
  {{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (merge (dict "app.kubernetes.io/component" "copy") (include "migrator.selectorLabels" $ | fromYaml))) }}
  {{- $affinity = dict "podAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) }}
  {{- end }}
  {{- with $affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* The flags every mode passes; a test parses them with the migrator's own flag parser. */}}
{{- define "migrator.commonArgs" -}}
{{- list "--config" (include "migrator.configPath" .) "--metrics-addr" (printf ":%v" .Values.metrics.port) "--log-format" "json" | toJson }}
{{- end }}

{{/* "true" when the assets route is rendered: assetsRoute.enabled, or when that is null,
whether the chart was told OpenReplay's domain. */}}
{{- define "migrator.assetsRouteOn" -}}
{{- $on := .Values.assetsRoute.enabled }}
{{- if kindIs "invalid" $on }}{{ $on = ne (default .Values.openreplay.domain .Values.assetsRoute.host) "" }}{{ end }}
{{- if $on }}true{{ end }}
{{- end }}

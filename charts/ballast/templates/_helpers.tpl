{{/* Names, labels and the pieces every pod of the chart shares. */}}

{{- define "ballast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ballast for a release called ballast (or ballast-anything), else <release>-ballast. */}}
{{- define "ballast.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ballast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/name: {{ include "ballast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ballast
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component: call with (dict "root" $ "component" "webhook"). */}}
{{- define "ballast.componentLabels" -}}
{{ include "ballast.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ballast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ballast.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ballast.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "ballast.webhookName" -}}{{ include "ballast.fullname" . }}-webhook{{- end -}}
{{- define "ballast.auditorName" -}}{{ include "ballast.fullname" . }}-auditor{{- end -}}
{{- define "ballast.policyConfigMap" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "ballast.fullname" .)) -}}
{{- end -}}
{{- define "ballast.tlsSecret" -}}
{{- .Values.tls.secretName | default (printf "%s-webhook-tls" (include "ballast.fullname" .)) -}}
{{- end -}}

{{/* The environment every ballast container gets: cache, registry settings. */}}
{{- define "ballast.env" -}}
- name: BALLAST_CACHE_PATH
  value: /var/cache/ballast/facts.db
- name: BALLAST_CACHE__TAG_TTL_S
  value: {{ .Values.cache.tagTtlSeconds | quote }}
{{- if .Values.cache.urlSecret.name }}
- name: BALLAST_CACHE__URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.cache.urlSecret.name }}
      key: {{ .Values.cache.urlSecret.key }}
{{- else if .Values.cache.url }}
- name: BALLAST_CACHE__URL
  value: {{ .Values.cache.url | quote }}
{{- end }}
{{- with .Values.registry.platforms }}
- name: BALLAST_PLATFORM
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.registry.insecureRegistries }}
- name: BALLAST_INSECURE_REGISTRIES
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.registry.allowedPrivateRegistries }}
- name: BALLAST_REGISTRY__ALLOWED_PRIVATE_REGISTRIES
  value: {{ join "," . | quote }}
{{- end }}
{{- if .Values.registry.authSecret }}
- name: BALLAST_REGISTRY_AUTH_FILE
  value: /etc/ballast/registry/.dockerconfigjson
{{- end }}
{{- end -}}

{{/* Volumes every ballast pod has: the cache, /tmp, the policy, and the registry credentials. */}}
{{- define "ballast.volumes" -}}
- name: cache
  emptyDir:
    sizeLimit: {{ .Values.cache.sizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: policy
  configMap:
    name: {{ include "ballast.policyConfigMap" . }}
{{- if .Values.registry.authSecret }}
- name: registry-auth
  secret:
    secretName: {{ .Values.registry.authSecret }}
{{- end }}
{{- end -}}

{{- define "ballast.volumeMounts" -}}
- name: cache
  mountPath: /var/cache/ballast
- name: tmp
  mountPath: /tmp
- name: policy
  mountPath: /etc/ballast/policy
  readOnly: true
{{- if .Values.registry.authSecret }}
- name: registry-auth
  mountPath: /etc/ballast/registry
  readOnly: true
{{- end }}
{{- end -}}

{{/* The policy document with the release namespace as the webhook's (always exempt). */}}
{{- define "ballast.policyDocument" -}}
{{- $document := deepCopy .Values.policy.document -}}
{{- $spec := $document.spec | default dict -}}
{{- $scope := $spec.scope | default dict -}}
{{- $_ := set $scope "webhookNamespace" .Release.Namespace -}}
{{- $_ := set $spec "scope" $scope -}}
{{- $_ := set $document "spec" $spec -}}
{{- toYaml $document -}}
{{- end -}}

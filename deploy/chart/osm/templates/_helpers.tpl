{{/* The control-plane namespace (OSM's osm.namespace). */}}
{{- define "osm.namespace" -}}
{{ default .Release.Namespace .Values.osm.osmNamespace }}
{{- end -}}

{{/* Labels on every object (OSM's app.kubernetes.io/name and instance; osm uninstall selects by them). */}}
{{- define "osm.labels" -}}
app.kubernetes.io/name: openservicemesh.io
app.kubernetes.io/instance: {{ .Values.osm.meshName | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: osm
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels of one component's objects; `app` is OSM's selector label. Takes (dict "root" $ "name" "osm-controller" "component" "controller"). */}}
{{- define "osm.componentLabels" -}}
{{ include "osm.labels" .root }}
app.kubernetes.io/component: {{ .component }}
app: {{ .name }}
{{- end -}}

{{/* An image reference: <registry>/<name>:<tag>, or @<digest> when the tag is empty. Takes (dict "root" $ "key" "osmController"). */}}
{{- define "osm.image" -}}
{{- $image := .root.Values.osm.image -}}
{{- $name := get $image.name .key -}}
{{- if $image.tag -}}
{{- printf "%s/%s:%s" $image.registry $name $image.tag -}}
{{- else -}}
{{- printf "%s/%s@%s" $image.registry $name (required (printf "osm.image.digest.%s is required when osm.image.tag is empty" .key) (get $image.digest .key)) -}}
{{- end -}}
{{- end -}}

{{/* The root-CA flags every component takes (the same root for all: see @osm/k8s-writes rootCaFlagSpecs). */}}
{{- define "osm.rootCaArgs" -}}
- --certificate-manager={{ .Values.osm.certificateProvider.kind }}
- --ca-bundle-secret-name={{ .Values.osm.caBundleSecretName }}
- --trust-domain={{ .Values.osm.trustDomain }}
{{- if eq .Values.osm.certificateProvider.kind "cert-manager" }}
- --cert-manager-issuer-name={{ .Values.osm.certmanager.issuerName }}
- --cert-manager-issuer-kind={{ .Values.osm.certmanager.issuerKind }}
- --cert-manager-issuer-group={{ .Values.osm.certmanager.issuerGroup }}
{{- end }}
{{- end -}}

{{/* The webhook configuration the injector registers (OSM's osm-webhook-<mesh>). */}}
{{- define "osm.webhookConfigName" -}}
{{ printf "%s-%s" .Values.osm.webhookConfigNamePrefix .Values.osm.meshName }}
{{- end -}}

{{/* Cluster-scoped RBAC object names carry the mesh name: several meshes can share a cluster. */}}
{{- define "osm.clusterRbacName" -}}
{{ printf "%s-%s" .name .root.Values.osm.meshName }}
{{- end -}}

{{/* The names of the CRDs in crds/ (ca-bootstrap may apply exactly these). */}}
{{- define "osm.crdNames" -}}
{{- range $path, $_ := .Files.Glob "crds/*.yaml" }}
{{- range regexSplit "(?m)^---\\s*$" ($.Files.Get $path) -1 }}
{{- $doc := fromYaml . }}
{{- if and $doc $doc.metadata }}
- {{ $doc.metadata.name }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

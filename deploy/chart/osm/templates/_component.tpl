{{/*
One control-plane component: Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget,
shared by osm-controller, osm-injector and osm-bootstrap. Each takes
(dict "root" $ "name" "osm-controller" "component" "controller" "values" .Values.osm.osmController ...).
*/}}

{{- define "osm.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $name := .name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ include "osm.namespace" $root }}
  labels:
    {{- include "osm.componentLabels" . | nindent 4 }}
spec:
  {{- /* With an HPA the HPA owns the replica count; a re-install must not reset it. */}}
  {{- if not (and $v.autoScale $v.autoScale.enable) }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # A new pod is ready before an old one stops: a rollout never leaves the component without a pod.
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      app: {{ $name }}
  template:
    metadata:
      labels:
        {{- include "osm.componentLabels" . | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9091"
        prometheus.io/path: /metrics
    spec:
      serviceAccountName: {{ $name }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      # The admin server's shutdown deadline is 10 s; the preStop pause comes first.
      terminationGracePeriodSeconds: 30
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- range . }}
        - {{- toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" (dict "app" $name)))) | nindent 10 }}
        {{- end }}
      {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.osm.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "osm.image" (dict "root" $root "key" .imageKey) | quote }}
          imagePullPolicy: {{ $root.Values.osm.image.pullPolicy }}
          args:
            {{- .args | nindent 12 }}
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
            - name: admin
              containerPort: 9091
              protocol: TCP
          resources:
            {{- toYaml $v.resource | nindent 12 }}
          startupProbe:
            httpGet:
              path: /livez
              port: admin
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: /livez
              port: admin
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: admin
            periodSeconds: 5
            timeoutSeconds: 5
            failureThreshold: 2
          {{- if and .preStop ($root.Capabilities.KubeVersion.GitVersion | semverCompare ">= 1.30.0-0") }}
          lifecycle:
            # Keep serving while the Service's endpoints drop this pod, so no client dials a closing server.
            preStop:
              sleep:
                seconds: 5
          {{- end }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        # The only writable path (Node's compile cache); the root file system is read-only.
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end -}}

{{- define "osm.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ include "osm.namespace" .root }}
  labels:
    {{- include "osm.componentLabels" . | nindent 4 }}
spec:
  selector:
    app: {{ .name }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
      {{- with .appProtocol }}
      appProtocol: {{ . }}
      {{- end }}
    {{- end }}
    - name: admin
      port: 9091
      targetPort: admin
      protocol: TCP
      appProtocol: http
{{- end -}}

{{- define "osm.hpa" -}}
{{- $as := .values.autoScale -}}
{{- if $as.enable }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}-hpa
  namespace: {{ include "osm.namespace" .root }}
  labels:
    {{- include "osm.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ $as.minReplicas }}
  maxReplicas: {{ $as.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $as.cpu.targetAverageUtilization }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ $as.memory.targetAverageUtilization }}
{{- end }}
{{- end -}}

{{- define "osm.pdb" -}}
{{- if .values.enablePodDisruptionBudget }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}-pdb
  namespace: {{ include "osm.namespace" .root }}
  labels:
    {{- include "osm.componentLabels" . | nindent 4 }}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: {{ .name }}
{{- end }}
{{- end -}}

// Pods and namespaces for the golden patches: one case per injection rule and per pod shape that
// changes the patch. Each golden file under test/golden/ was read and checked by hand.
import { sidecarSettings, type InjectInput, type InjectorOptions, type Namespace, type Pod } from '../src/index.ts';

export const options: InjectorOptions = {
  meshName: 'osm',
  osmNamespace: 'osm-system',
  controller: { host: 'osm-controller.osm-system.svc.cluster.local', port: 15128, serverName: 'osm-controller.osm-system.svc.cluster.local' },
  envoyImage: 'envoyproxy/envoy-distroless:v1.23.1',
  initImage: 'openservicemesh/init:v1.2.4',
  healthcheckImage: 'openservicemesh/osm-healthcheck:v1.2.4',
};

const ns = (name: string, annotations: Record<string, string> = { 'openservicemesh.io/sidecar-injection': 'enabled' }, labels: Record<string, string> = { 'openservicemesh.io/monitored-by': 'osm' }): Namespace => ({
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, annotations },
});

const app = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'bookstore',
  image: 'openservicemesh/bookstore:v1.2.0',
  ports: [{ name: 'http', containerPort: 14001, protocol: 'TCP' }],
  ...extra,
});

const pod = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): Pod =>
  ({
    metadata: { generateName: 'bookstore-5d9f8c7b6-', labels: { app: 'bookstore', version: 'v1' }, ...metadata },
    spec: { serviceAccountName: 'bookstore', containers: [app()], ...spec },
  }) as unknown as Pod;

export interface Fixture {
  readonly name: string;
  readonly what: string;
  readonly input: InjectInput;
}

const uuid = (n: number): string => `6a1e5f2c-0000-4000-8000-${String(n).padStart(12, '0')}`;
const defaults = sidecarSettings(undefined).settings;

const fixture = (n: number, name: string, what: string, p: Pod, namespace: Namespace | undefined, namespaceName = namespace?.metadata.name ?? 'bookstore', settings = defaults): Fixture => ({
  name,
  what,
  input: { pod: p, namespace: namespaceName, namespaceObject: namespace, settings, proxyUuid: uuid(n), options },
});

const httpProbe = (path: string, port: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  httpGet: { path, port, scheme: 'HTTP' },
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
  ...extra,
});

export const fixtures: readonly Fixture[] = [
  fixture(1, 'plain', 'a pod in a namespace with injection enabled: sidecar, init container, label, volume', pod(), ns('bookstore')),
  fixture(2, 'host-network', 'hostNetwork: never meshed', pod({ hostNetwork: true }), ns('bookstore')),
  fixture(3, 'system-namespace', 'kube-system: never meshed, even when labelled', pod(), ns('kube-system')),
  fixture(4, 'control-plane-namespace', 'the control-plane namespace: never meshed', pod(), ns('osm-system')),
  fixture(5, 'unmonitored-namespace', 'a namespace without the monitored-by label', pod(), ns('bookstore', { 'openservicemesh.io/sidecar-injection': 'enabled' }, {})),
  fixture(6, 'other-mesh', 'a namespace monitored by another mesh', pod(), ns('bookstore', undefined, { 'openservicemesh.io/monitored-by': 'other' })),
  fixture(7, 'ignored-namespace', 'a monitored namespace with the ignore label', pod(), ns('bookstore', undefined, { 'openservicemesh.io/monitored-by': 'osm', 'openservicemesh.io/ignore': 'true' })),
  fixture(8, 'opted-out-pod', 'the pod disables injection in an enabled namespace', pod({}, { annotations: { 'openservicemesh.io/sidecar-injection': 'disabled' } }), ns('bookstore')),
  fixture(9, 'opted-out-namespace', 'the namespace disables injection and the pod says nothing', pod(), ns('bookstore', { 'openservicemesh.io/sidecar-injection': 'disabled' })),
  fixture(10, 'not-enabled-namespace', 'a monitored namespace without the injection annotation', pod(), ns('bookstore', {})),
  fixture(11, 'pod-wins', 'the pod enables injection in a namespace that disables it', pod({}, { annotations: { 'openservicemesh.io/sidecar-injection': 'yes' } }), ns('bookstore', { 'openservicemesh.io/sidecar-injection': 'disabled' })),
  fixture(12, 'invalid-annotation', 'an injection annotation value OSM does not know: denied', pod({}, { annotations: { 'openservicemesh.io/sidecar-injection': 'maybe' } }), ns('bookstore')),
  fixture(
    13,
    'exclusions',
    'exclusion annotations merged with MeshConfig lists; 16 outbound ports split into two multiport rules',
    pod({}, {
      annotations: {
        'openservicemesh.io/outbound-port-exclusion-list': '6379, 5432,3306,9000,9001,9002,9003,9004,9005,9006,9007,9008,9009,9010,9011',
        'openservicemesh.io/inbound-port-exclusion-list': '8081',
        'openservicemesh.io/outbound-ip-range-exclusion-list': '169.254.169.254/32, 10.96.0.0/12',
        'openservicemesh.io/outbound-ip-range-inclusion-list': '10.0.0.0/8',
      },
    }),
    ns('bookstore'),
    'bookstore',
    sidecarSettings({
      traffic: { outboundPortExclusionList: [6379, 25], inboundPortExclusionList: [8081, 9999], outboundIPRangeExclusionList: ['10.96.0.0/12'], networkInterfaceExclusionList: ['eth1'] },
    }).settings,
  ),
  fixture(14, 'bad-exclusion', 'an exclusion annotation with a value that is not a port: denied', pod({}, { annotations: { 'openservicemesh.io/outbound-port-exclusion-list': '6379,redis' } }), ns('bookstore')),
  fixture(
    15,
    'probes',
    'HTTP liveness by port name, HTTPS readiness, TCP startup (osm-healthcheck); exec and gRPC probes and a probe naming a host left alone',
    pod({
      containers: [
        app({
          livenessProbe: httpProbe('/healthz', 'http', { timeoutSeconds: 3 }),
          readinessProbe: { httpGet: { path: '/ready', port: 14443, scheme: 'HTTPS' }, timeoutSeconds: 2 },
          startupProbe: { tcpSocket: { port: 14001 }, failureThreshold: 30 },
        }),
        { name: 'cache', image: 'redis:7', livenessProbe: { exec: { command: ['redis-cli', 'ping'] } }, readinessProbe: { grpc: { port: 6380 } } },
        { name: 'probe-elsewhere', image: 'busybox', livenessProbe: httpProbe('/', 80, { httpGet: { path: '/', port: 80, host: 'example.com' } }) },
      ],
    }),
    ns('bookstore'),
  ),
  fixture(
    16,
    'several-containers',
    'two containers with HTTP probes (app and app2: exact path routes), an existing init container and volume, no labels',
    pod(
      {
        initContainers: [{ name: 'migrate', image: 'flyway:10' }],
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [
          { name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }], livenessProbe: httpProbe('/live', 8080), readinessProbe: httpProbe('', 8080) },
          { name: 'app2', image: 'app:2', ports: [{ containerPort: 9090 }], livenessProbe: httpProbe('/live', 9090) },
        ],
      },
      { labels: undefined },
    ),
    ns('bookstore'),
  ),
  fixture(17, 'already-injected', 'a pod that already has the sidecar: a reinvocation changes nothing', pod({ volumes: [{ name: 'envoy-bootstrap-config-volume', secret: { secretName: 'envoy-bootstrap-config-x' } }] }), ns('bookstore')),
  fixture(18, 'metrics-namespace', 'a namespace with metrics enabled: Prometheus annotations', pod({}, { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } }), ns('bookstore', { 'openservicemesh.io/sidecar-injection': 'enabled', 'openservicemesh.io/metrics': 'enabled' })),
  fixture(
    19,
    'mesh-config',
    'MeshConfig images, log level, resources, PodIP mode, privileged init container and TLS settings',
    pod({ serviceAccountName: undefined }),
    ns('bookstore'),
    'bookstore',
    sidecarSettings({
      sidecar: {
        envoyImage: 'registry.example.com/envoy:v1.30.1',
        initContainerImage: 'registry.example.com/osm-init:v2',
        logLevel: 'debug',
        resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
        enablePrivilegedInitContainer: true,
        localProxyMode: 'PodIP',
        tlsMinProtocolVersion: 'TLSv1_3',
        cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'],
        ecdhCurves: ['X25519', 'P-256'],
      },
    }).settings,
  ),
  fixture(20, 'control-plane-pod', 'a pod of the control plane in a meshed namespace', pod({}, { labels: { 'app.kubernetes.io/name': 'openservicemesh.io', app: 'osm-controller' } }), ns('bookstore')),
  fixture(21, 'namespace-not-found', 'the namespace object could not be read: denied', pod(), undefined, 'gone'),
];

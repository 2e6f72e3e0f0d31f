// Test-only helpers: a real kube-apiserver with etcd on loopback, the binaries it runs, and a fleet
// of simulated Envoy sidecars (the load generator of the HA tests and benchmarks).
export { startKubeApiServer, loadCrds, type KubeApiServer, type KubeApiServerOptions } from './kube-api-server.ts';
export { controlPlaneBinaries, pinnedVersions, type ControlPlaneBinaries } from './binaries.ts';
export { KubeRest, compactEtcd, etcdRevision, eventually } from './kube-rest.ts';
export { FakeClock, settle } from './fake-clock.ts';
export { AdsTestStream, type ClientTls } from './ads-stream.ts';
export { freePort } from './ports.ts';
export { httpOk, ManagedProcess, waitFor } from './process.ts';
export { checkMetrics, prometheusBinaries, promtool, startPrometheus, type MetricsCheck, type Prometheus, type PrometheusOptions, type QueryResult, type RuleHealth, type ScrapeTarget } from './prometheus.ts';
export { opensslSignCsr } from './openssl-signer.ts';
export { startFleet, FleetError, DEFAULT_SERVER_NAME, type Fleet, type FleetEngine, type FleetOptions, type FleetLogger, type ProxyStatus, type TypeStatus } from './fleet/fleet.ts';
export type { SimulatedProxySpec, HeldResource } from './fleet/ipc.ts';
export type { NackRule } from './fleet/nack-rules.ts';
export { checkEnvoyBootstrap, checkEnvoyOverAds, checkEnvoyResources, formatEnvoyProblems, startXdsReference, XdsGoError, xdsGoBinaries, type AdsCheckOptions, type EnvoyAdsReport, type EnvoyCheckReport, type EnvoyProblem, type EnvoyResource, type EnvoyResources, type XdsReference, type XdsReferenceOptions, type XdsReferenceSnapshots } from './xds-go.ts';
export { APPS as BOOKSTORE_APPS, bootstrapOf, createBookstore, createBookstoreWorkload, testAuthority, trafficTarget, trafficTargetsPath, type Bookstore, type MeshPod, type WorkloadOptions } from './bookstore-cluster.ts';
export { ComponentProcess, type AppName, type ComponentProcessOptions, type LogLine } from './component-process.ts';
export { ControllerProcess } from './controller-process.ts';
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

// The mesh model: immutable plain data that mesh-catalog produces from Kubernetes objects and that
// xds-snapshot (and others) consume. No behaviour here beyond what the types say; helpers live in
// the sibling files. Every collection is readonly; maps are keyed by the strings that keys.ts makes.

/** How a service port is proxied: from `appProtocol`, else the port name prefix, default `http`. */
export type Protocol = 'http' | 'tcp' | 'grpc' | 'tcp-server-first';

/** Anything that lives in a namespace under a name (Kubernetes `namespace/name`). */
export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** A Kubernetes service account, the unit of identity: certificate CN `<name>.<namespace>.<trustDomain>`. */
export type ServiceIdentity = NamespacedName;

/** A reference to a MeshService by namespace and name. */
export type ServiceRef = NamespacedName;

/** One port of a MeshService: the port clients dial, the (resolved, numeric) pod port it forwards to, and its protocol. */
export interface ServicePort {
  /** The Service port's name ('' when unnamed). */
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: Protocol;
}

/** A Kubernetes Service in a monitored namespace, with its ports, DNS names and the identities of the pods behind it. */
export interface MeshService extends NamespacedName {
  readonly ports: readonly ServicePort[];
  /** `spec.clusterIPs` (outbound traffic to them is matched to the service); empty for a headless service, whose endpoint IPs are matched instead. */
  readonly clusterIps: readonly string[];
  /** Service accounts of the pods the service selects: the identities its clients verify (upstream SANs). */
  readonly identities: readonly ServiceIdentity[];
}

/** One address of a service: pod IP, pod (target) port, and whether it is ready to receive traffic. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
}

/** What a proxy proves with its xDS client certificate CN `<uuid>.sidecar.<sa>.<ns>.<trustDomain>`. */
export interface ProxyIdentity {
  /** The pod's `osm-proxy-uuid` label; Envoy's node.id. */
  readonly uuid: string;
  readonly identity: ServiceIdentity;
}

/** A meshed pod's sidecar: its identity, where it runs, and the services it backs. */
export interface Proxy extends ProxyIdentity {
  readonly namespace: string;
  readonly podName: string;
  /** Services whose selector matches the pod (the proxy serves their ports inbound). */
  readonly services: readonly ServiceRef[];
  /**
   * The pod's annotation `prometheus.io/scrape` is true: the proxy exposes its stats on 15010 (OSM's
   * rule; the injector sets the annotation on pods of namespaces with metrics enabled).
   */
  readonly prometheusScrape: boolean;
}

/** A subject of an SMI TrafficTarget (kind ServiceAccount). */
export interface IdentityRef extends ServiceIdentity {
  readonly kind: 'ServiceAccount';
}

/**
 * A rule of a TrafficTarget: a route object by kind and name. For an HTTPRouteGroup the rule grants the
 * named matches only (none named = nothing granted, as in OSM); a TCPRoute rule grants the route's ports
 * whatever matches it names (OSM ignores them).
 */
export interface TrafficTargetRule {
  readonly kind: 'HTTPRouteGroup' | 'TCPRoute';
  readonly name: string;
  readonly matches: readonly string[];
}

/** SMI access v1alpha3 TrafficTarget: the sources may reach the destination identity through the rules' routes. */
export interface TrafficTarget extends NamespacedName {
  readonly destination: IdentityRef & { readonly port?: number };
  readonly sources: readonly IdentityRef[];
  readonly rules: readonly TrafficTargetRule[];
}

/** One named match of an HTTPRouteGroup: path regex, methods (`*` = any; empty = any) and exact-match headers. */
export interface HttpRouteMatch {
  readonly name: string;
  readonly pathRegex?: string;
  readonly methods: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
}

/** SMI specs v1alpha4 HTTPRouteGroup: named HTTP matches that TrafficTarget rules refer to. */
export interface HTTPRouteGroup extends NamespacedName {
  readonly matches: readonly HttpRouteMatch[];
}

/** One named match of a TCPRoute: the destination ports it allows (empty = all). */
export interface TcpRouteMatch {
  readonly name: string;
  readonly ports: readonly number[];
}

/** SMI specs v1alpha4 TCPRoute: TCP traffic by destination port. */
export interface TCPRoute extends NamespacedName {
  readonly matches: readonly TcpRouteMatch[];
}

/** A weighted backend of a TrafficSplit: a service name in the split's namespace. */
export interface TrafficSplitBackend {
  readonly service: string;
  readonly weight: number;
}

/** SMI split v1alpha2 TrafficSplit: traffic to the apex service goes to the backends by weight. */
export interface TrafficSplit extends NamespacedName {
  /** The apex service's name, in the split's namespace (the catalog resolves `<name>.<ns>` and the FQDN to it). */
  readonly apexService: string;
  readonly backends: readonly TrafficSplitBackend[];
}

/** A monitored namespace (label `openservicemesh.io/monitored-by=<mesh>`). */
export interface MeshNamespace {
  readonly name: string;
}

/** Mesh behaviour from MeshConfig `osm-mesh-config` (config.openservicemesh.io/v1alpha2), and the cluster's DNS domain. */
export interface MeshSettings {
  /** `traffic.enablePermissiveTrafficPolicyMode`: every mesh service reachable, SMI not enforced. */
  readonly permissiveMode: boolean;
  /** `traffic.enableEgress`: outbound traffic to non-mesh destinations passes through. */
  readonly enableEgress: boolean;
  /** Trust domain of certificate CNs and SPIFFE IDs (OSM default `cluster.local`). */
  readonly trustDomain: string;
  /** The Kubernetes cluster's DNS domain (the controller's `--cluster-domain`, default `cluster.local`): service FQDNs and TLS server names. */
  readonly clusterDomain: string;
  /** `certificate.serviceCertValidityDuration` in seconds. */
  readonly serviceCertValiditySeconds: number;
  /** `sidecar.logLevel`. */
  readonly envoyLogLevel: string;
  /** `traffic.inboundPortExclusionList`. */
  readonly inboundPortExclusionList: readonly number[];
  /** `traffic.outboundPortExclusionList`. */
  readonly outboundPortExclusionList: readonly number[];
  /** `traffic.outboundIPRangeExclusionList` (CIDRs). */
  readonly outboundIpRangeExclusionList: readonly string[];
  /** `traffic.outboundIPRangeInclusionList` (CIDRs). */
  readonly outboundIpRangeInclusionList: readonly string[];
  /** `observability.tracing` when `enable` is true (OSM's defaults filled in); absent when sidecar tracing is off. */
  readonly tracing?: MeshTracing;
}

/** Where the sidecars send Zipkin spans: MeshConfig `observability.tracing` with OSM's defaults for empty fields. */
export interface MeshTracing {
  /** `address`: the collector's host name (default `jaeger.<osm-namespace>.svc.<clusterDomain>`). */
  readonly address: string;
  /** `port`: the collector's port (default 9411). */
  readonly port: number;
  /** `endpoint`: the collector's span API path (default `/api/v2/spans`). */
  readonly endpoint: string;
}

/**
 * Everything the control plane knows about the mesh at one moment. Maps are keyed by `keyOf(x)`
 * (`namespace/name`), proxies by uuid, namespaces by name. Consumers must not depend on map or list
 * order: the same content filled in any order is the same model.
 * Immutable: a change yields a new model with new maps and objects for what changed, and the previous
 * ones for what did not (consumers such as xds-snapshot memoize on the identity of maps and lists).
 */
export interface MeshModel {
  readonly settings: MeshSettings;
  readonly namespaces: ReadonlyMap<string, MeshNamespace>;
  readonly services: ReadonlyMap<string, MeshService>;
  /** Endpoints by service key (`namespace/name`), ready or not. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  readonly proxies: ReadonlyMap<string, Proxy>;
  readonly trafficTargets: ReadonlyMap<string, TrafficTarget>;
  readonly httpRouteGroups: ReadonlyMap<string, HTTPRouteGroup>;
  readonly tcpRoutes: ReadonlyMap<string, TCPRoute>;
  readonly trafficSplits: ReadonlyMap<string, TrafficSplit>;
}

// Plans to Envoy messages. Each function depends only on its arguments, so a resource's cache key can
// be the canonical form of those arguments. Map-typed proto fields are filled in sorted key order so
// that encoding is byte-stable.
import { envoy, packAny } from '@osm/envoy-api';
import { ENVOY_ADMIN_PORT, ENVOY_INBOUND_PORT, ENVOY_OUTBOUND_PORT, ENVOY_PROMETHEUS_PATH, ENVOY_PROMETHEUS_PORT, type Protocol } from '@osm/mesh-model';
import {
  ALPN_IN_MESH,
  FILTER,
  INBOUND_LISTENER,
  INBOUND_ROOT_CERT,
  METRICS_CLUSTER,
  OUTBOUND_LISTENER,
  PASSTHROUGH_CLUSTER,
  PROMETHEUS_LISTENER,
  SERVICE_CERT,
  TRACING_CLUSTER,
} from './names.ts';
import type { ClusterPlan, EndpointsPlan, HttpMatch, InboundChainPlan, NetworkPolicyPlan, OutboundChainPlan, RouteConfigPlan, RouteRule, VirtualHostPlan, WeightedTarget } from './plan.ts';

const L = envoy.config.listener.v3;
const C = envoy.config.core.v3;
const R = envoy.config.route.v3;
const CL = envoy.config.cluster.v3;
const E = envoy.config.endpoint.v3;
const TLS = envoy.extensions.transport_sockets.tls.v3;
const HCM = envoy.extensions.filters.network.http_connection_manager.v3;
const TCP = envoy.extensions.filters.network.tcp_proxy.v3;
const RBAC = envoy.config.rbac.v3;
const NRBAC = envoy.extensions.filters.network.rbac.v3;
const HRBAC = envoy.extensions.filters.http.rbac.v3;
const M = envoy.type.matcher.v3;
const TRACE = envoy.config.trace.v3;

type Listener = envoy.config.listener.v3.Listener;
type RouteConfiguration = envoy.config.route.v3.RouteConfiguration;
type Cluster = envoy.config.cluster.v3.Cluster;
type ClusterLoadAssignment = envoy.config.endpoint.v3.ClusterLoadAssignment;
type Secret = envoy.extensions.transport_sockets.tls.v3.Secret;
type HttpConnectionManager = envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

const ads = () => C.ConfigSource.fromPartial({ ads: {}, resourceApiVersion: C.ApiVersion.V3 });
const sds = (name: string) => TLS.SdsSecretConfig.fromPartial({ name, sdsConfig: ads() });
const address = (ip: string, port: number) => C.Address.fromPartial({ socketAddress: { address: ip, portValue: port, protocol: C.SocketAddress_Protocol.TCP } });
const cidr = (c: string) => {
  const [ip = '', len = '32'] = c.split('/');
  return C.CidrRange.fromPartial({ addressPrefix: ip, prefixLen: Number(len) });
};
const isHttp = (p: Protocol): boolean => p === 'http' || p === 'grpc';
const regex = (r: string) => M.RegexMatcher.fromPartial({ regex: r });

function routerFilter() {
  return HCM.HttpFilter.fromPartial({ name: FILTER.router, typedConfig: packAny(envoy.extensions.filters.http.router.v3.Router, envoy.extensions.filters.http.router.v3.Router.fromPartial({})) });
}

/**
 * What an HTTP connection manager gets when MeshConfig tracing is on, as OSM set it (OSM:
 * pkg/envoy/generator/lds/tracing.go, builder.go): a request ID on every request, and verbose Zipkin
 * spans posted as JSON (v2) to the collector endpoint through the tracing cluster. Envoy's defaults for
 * the rest (sampling 100 %, shared span context), as OSM left them.
 */
function hcmTracing(collectorEndpoint: string): Partial<HttpConnectionManager> {
  const zipkin = TRACE.ZipkinConfig.fromPartial({
    collectorCluster: TRACING_CLUSTER,
    collectorEndpoint,
    collectorEndpointVersion: TRACE.ZipkinConfig_CollectorEndpointVersion.HTTP_JSON,
  });
  return {
    tracing: HCM.HttpConnectionManager_Tracing.fromPartial({ verbose: true, provider: { name: FILTER.zipkinTracer, typedConfig: packAny(TRACE.ZipkinConfig, zipkin) } }),
    generateRequestId: true,
  };
}

function hcmFilter(statPrefix: string, routeConfigName: string, inbound: boolean, tracingEndpoint: string | undefined) {
  const httpFilters = inbound
    ? [HCM.HttpFilter.fromPartial({ name: FILTER.httpRbac, typedConfig: packAny(HRBAC.RBAC, HRBAC.RBAC.fromPartial({})) }), routerFilter()]
    : [routerFilter()];
  const hcm = HCM.HttpConnectionManager.fromPartial({
    statPrefix,
    codecType: HCM.HttpConnectionManager_CodecType.AUTO,
    rds: { configSource: ads(), routeConfigName },
    httpFilters,
    ...(tracingEndpoint !== undefined ? hcmTracing(tracingEndpoint) : {}),
  });
  return L.Filter.fromPartial({ name: FILTER.httpConnectionManager, typedConfig: packAny(HCM.HttpConnectionManager, hcm) });
}

function tcpProxyFilter(statPrefix: string, targets: readonly WeightedTarget[]) {
  const only = targets.length === 1 ? targets[0] : undefined;
  const tcp = only
    ? TCP.TcpProxy.fromPartial({ statPrefix, cluster: only.cluster })
    : TCP.TcpProxy.fromPartial({ statPrefix, weightedClusters: { clusters: targets.map((t) => ({ name: t.cluster, weight: t.weight })) } });
  return L.Filter.fromPartial({ name: FILTER.tcpProxy, typedConfig: packAny(TCP.TcpProxy, tcp) });
}

function principal(spiffe: string) {
  return RBAC.Principal.fromPartial({ authenticated: { principalName: { exact: spiffe } } });
}

function rbacRules(policies: readonly NetworkPolicyPlan[]) {
  const map: Record<string, envoy.config.rbac.v3.Policy> = {};
  for (const p of policies) map[p.name] = RBAC.Policy.fromPartial({ permissions: [{ any: true }], principals: p.principals.map(principal) });
  return RBAC.RBAC.fromPartial({ action: RBAC.RBAC_Action.ALLOW, policies: map });
}

function networkRbacFilter(statPrefix: string, policies: readonly NetworkPolicyPlan[]) {
  const rbac = NRBAC.RBAC.fromPartial({ statPrefix, rules: rbacRules(policies) });
  return L.Filter.fromPartial({ name: FILTER.networkRbac, typedConfig: packAny(NRBAC.RBAC, rbac) });
}

/** One filter chain of the outbound listener: match on destination IP and port, HCM (HTTP, gRPC) or TCP proxy. */
export function outboundChain(c: OutboundChainPlan) {
  return L.FilterChain.fromPartial({
    name: c.name,
    filterChainMatch: { destinationPort: c.port, prefixRanges: c.prefixRanges.map(cidr) },
    filters: [c.routeConfig !== undefined ? hcmFilter(c.name, c.routeConfig, false, c.tracingEndpoint) : tcpProxyFilter(c.name, c.targets ?? [])],
  });
}

/**
 * The constant parts of an outbound filter chain's HttpConnectionManager, in ts-proto's encoding order:
 * the fields before stat_prefix, the Rds config source, and the fields after rds (the HTTP filters,
 * then the tracing fields when tracing is on).
 */
export function outboundHcmParts(tracingEndpoint: string | undefined) {
  return {
    head: HCM.HttpConnectionManager.fromPartial({ codecType: HCM.HttpConnectionManager_CodecType.AUTO }),
    rdsSource: HCM.Rds.fromPartial({ configSource: ads() }),
    tail: HCM.HttpConnectionManager.fromPartial({ httpFilters: [routerFilter()], ...(tracingEndpoint !== undefined ? hcmTracing(tracingEndpoint) : {}) }),
  };
}

/** The outbound listener's fields before its filter chains (in ts-proto's encoding order). */
export function outboundListenerHead(): Partial<Listener> {
  return { name: OUTBOUND_LISTENER, address: address('0.0.0.0', ENVOY_OUTBOUND_PORT) };
}

/** The outbound listener's fields after its filter chains (in ts-proto's encoding order). */
export function outboundListenerTail(egress: boolean): Partial<Listener> {
  return {
    trafficDirection: C.TrafficDirection.OUTBOUND,
    listenerFilters: [L.ListenerFilter.fromPartial({ name: FILTER.originalDst, typedConfig: packAny(envoy.extensions.filters.listener.original_dst.v3.OriginalDst, {}) })],
    ...(egress ? { defaultFilterChain: L.FilterChain.fromPartial({ name: 'outbound-egress-filter-chain', filters: [tcpProxyFilter(`egress-tcp-proxy.${PASSTHROUGH_CLUSTER}`, [{ cluster: PASSTHROUGH_CLUSTER, weight: 1 }])] }) } : {}),
  };
}

/** `outbound-listener` on 15001: original destination, a filter chain per upstream service port. */
export function outboundListener(chains: readonly OutboundChainPlan[], egress: boolean): Listener {
  return L.Listener.fromPartial({ ...outboundListenerHead(), ...outboundListenerTail(egress), filterChains: chains.map(outboundChain) });
}

/** `inbound-listener` on 15003: mTLS termination requiring a client certificate, a filter chain per local service port. */
export function inboundListener(chains: readonly InboundChainPlan[]): Listener {
  return L.Listener.fromPartial({
    name: INBOUND_LISTENER,
    address: address('0.0.0.0', ENVOY_INBOUND_PORT),
    trafficDirection: C.TrafficDirection.INBOUND,
    listenerFilters: [
      { name: FILTER.originalDst, typedConfig: packAny(envoy.extensions.filters.listener.original_dst.v3.OriginalDst, {}) },
      { name: FILTER.tlsInspector, typedConfig: packAny(envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector, envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.fromPartial({})) },
    ],
    filterChains: chains.map((c) => {
      const tls = TLS.DownstreamTlsContext.fromPartial({
        requireClientCertificate: true,
        commonTlsContext: {
          tlsCertificateSdsSecretConfigs: [sds(SERVICE_CERT)],
          validationContextSdsSecretConfig: sds(INBOUND_ROOT_CERT),
        },
      });
      const filters =
        c.routeConfig !== undefined
          ? [hcmFilter(c.name, c.routeConfig, true, c.tracingEndpoint)]
          : [...(c.rbac ? [networkRbacFilter(`${c.name}.`, c.rbac)] : []), tcpProxyFilter(c.name, [{ cluster: c.localCluster ?? '', weight: 1 }])];
      return L.FilterChain.fromPartial({
        name: c.name,
        filterChainMatch: { destinationPort: c.targetPort, serverNames: [c.serverName], transportProtocol: 'tls', applicationProtocols: [ALPN_IN_MESH] },
        transportSocket: { name: FILTER.tlsTransportSocket, typedConfig: packAny(TLS.DownstreamTlsContext, tls) },
        filters,
      });
    }),
  });
}

/** `inbound-prometheus-listener` on 15010: `/stats/prometheus` to Envoy's admin port. */
export function prometheusListener(): Listener {
  const hcm = HCM.HttpConnectionManager.fromPartial({
    statPrefix: 'prometheus-http-conn-manager',
    codecType: HCM.HttpConnectionManager_CodecType.AUTO,
    routeConfig: {
      virtualHosts: [
        {
          name: 'prometheus-inbound-virtual-host',
          domains: ['*'],
          routes: [{ match: { prefix: ENVOY_PROMETHEUS_PATH }, route: { cluster: METRICS_CLUSTER, prefixRewrite: ENVOY_PROMETHEUS_PATH } }],
        },
      ],
    },
    httpFilters: [routerFilter()],
  });
  return L.Listener.fromPartial({
    name: PROMETHEUS_LISTENER,
    address: address('0.0.0.0', ENVOY_PROMETHEUS_PORT),
    trafficDirection: C.TrafficDirection.INBOUND,
    filterChains: [{ filters: [{ name: FILTER.httpConnectionManager, typedConfig: packAny(HCM.HttpConnectionManager, hcm) }] }],
  });
}

function routeMatch(m: HttpMatch) {
  const headers = [
    ...(m.methods.length > 0 ? [R.HeaderMatcher.fromPartial({ name: ':method', stringMatch: { safeRegex: regex(m.methods.join('|')) } })] : []),
    ...m.headers.map(([name, value]) => R.HeaderMatcher.fromPartial({ name, stringMatch: { safeRegex: regex(value) } })),
  ];
  return R.RouteMatch.fromPartial(m.pathRegex === '' ? { prefix: '/', headers } : { safeRegex: regex(m.pathRegex), headers });
}

// timeout 0s turns off Envoy's 15 s default route timeout, which would cut long requests and gRPC
// streams (OSM's rds route_config.go buildRoute does the same).
function routeAction(targets: readonly WeightedTarget[]) {
  const only = targets.length === 1 ? targets[0] : undefined;
  const timeout = { seconds: 0, nanos: 0 };
  return R.RouteAction.fromPartial(only ? { cluster: only.cluster, timeout } : { weightedClusters: { clusters: targets.map((t) => ({ name: t.cluster, weight: t.weight })) }, timeout });
}

function route(rule: RouteRule) {
  const typedPerFilterConfig: Record<string, ReturnType<typeof packAny>> = {};
  if (rule.principals !== undefined) {
    const perRoute = HRBAC.RBACPerRoute.fromPartial({ rbac: { rules: rbacRules([{ name: 'rbac-for-route', principals: rule.principals }]) } });
    typedPerFilterConfig[FILTER.httpRbac] = packAny(HRBAC.RBACPerRoute, perRoute);
  }
  return R.Route.fromPartial({ match: routeMatch(rule.match), route: routeAction(rule.targets), typedPerFilterConfig });
}

/** `rds-inbound.<port>` / `rds-outbound.<port>`: virtual hosts by service hostnames, routes from the policies. */
export function routeConfiguration(plan: RouteConfigPlan): RouteConfiguration {
  return R.RouteConfiguration.fromPartial({ name: plan.name, virtualHosts: plan.virtualHosts.map(virtualHost) });
}

/** A virtual host: the service's domains and the routes the policies allow. */
export function virtualHost(vh: VirtualHostPlan) {
  return R.VirtualHost.fromPartial({ name: vh.name, domains: [...vh.domains], routes: vh.rules.map(route) });
}

function httpProtocolOptions(protocol: Protocol) {
  const H = envoy.extensions.upstreams.http.v3;
  const options =
    protocol === 'grpc'
      ? H.HttpProtocolOptions.fromPartial({ explicitHttpConfig: { http2ProtocolOptions: {} } })
      : H.HttpProtocolOptions.fromPartial({ useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } });
  return { [FILTER.httpProtocolOptions]: packAny(H.HttpProtocolOptions, options) };
}

/** A cluster: upstream (EDS, mTLS with the destination's SANs), local (`|local`, 127.0.0.1), metrics, egress passthrough or the tracing collector. */
export function cluster(plan: ClusterPlan): Cluster {
  switch (plan.kind) {
    case 'upstream':
      return CL.Cluster.fromPartial({ ...upstreamClusterHead(plan), ...upstreamClusterOptions(plan.protocol), ...upstreamClusterSocket(plan) });
    case 'local':
      return CL.Cluster.fromPartial({
        name: plan.name,
        altStatName: plan.name,
        type: CL.Cluster_DiscoveryType.STATIC,
        connectTimeout: { seconds: 1 },
        lbPolicy: CL.Cluster_LbPolicy.ROUND_ROBIN,
        loadAssignment: { clusterName: plan.name, endpoints: [{ lbEndpoints: [{ endpoint: { address: address('127.0.0.1', plan.port) } }] }] },
        typedExtensionProtocolOptions: isHttp(plan.protocol) ? httpProtocolOptions(plan.protocol) : {},
      });
    case 'metrics':
      return CL.Cluster.fromPartial({
        name: METRICS_CLUSTER,
        altStatName: METRICS_CLUSTER,
        type: CL.Cluster_DiscoveryType.STATIC,
        lbPolicy: CL.Cluster_LbPolicy.ROUND_ROBIN,
        loadAssignment: { clusterName: METRICS_CLUSTER, endpoints: [{ lbEndpoints: [{ endpoint: { address: address('127.0.0.1', ENVOY_ADMIN_PORT) } }] }] },
      });
    case 'passthrough':
      return CL.Cluster.fromPartial({
        name: PASSTHROUGH_CLUSTER,
        type: CL.Cluster_DiscoveryType.ORIGINAL_DST,
        connectTimeout: { seconds: 1 },
        lbPolicy: CL.Cluster_LbPolicy.CLUSTER_PROVIDED,
      });
    case 'tracing':
      // The collector by its DNS name, plain TCP (OSM: pkg/envoy/generator/cds/builder.go getTracingCluster).
      return CL.Cluster.fromPartial({
        name: TRACING_CLUSTER,
        altStatName: TRACING_CLUSTER,
        type: CL.Cluster_DiscoveryType.LOGICAL_DNS,
        lbPolicy: CL.Cluster_LbPolicy.ROUND_ROBIN,
        loadAssignment: { clusterName: TRACING_CLUSTER, endpoints: [{ lbEndpoints: [{ endpoint: { address: address(plan.address, plan.port) } }] }] },
      });
  }
}

type UpstreamPlan = Extract<ClusterPlan, { kind: 'upstream' }>;

/** The upstream cluster's identity-independent fields that ts-proto encodes first. */
export function upstreamClusterHead(plan: UpstreamPlan): Partial<Cluster> {
  const p = upstreamClusterHeadParts();
  return { name: plan.name, ...p.type, edsClusterConfig: { ...p.edsSource, serviceName: plan.name }, ...p.rest };
}

/**
 * The constant parts of an upstream cluster's head, in ts-proto's encoding order: the fields between
 * name and eds_cluster_config, the EdsClusterConfig's fields before service_name, and the fields after
 * eds_cluster_config.
 */
export function upstreamClusterHeadParts() {
  return {
    type: { type: CL.Cluster_DiscoveryType.EDS },
    edsSource: CL.Cluster_EdsClusterConfig.fromPartial({ edsConfig: ads() }),
    rest: { connectTimeout: { seconds: 1, nanos: 0 }, lbPolicy: CL.Cluster_LbPolicy.ROUND_ROBIN },
  } satisfies Record<string, Partial<Cluster> | envoy.config.cluster.v3.Cluster_EdsClusterConfig>;
}

/** The upstream cluster's protocol options (encoded after the head). */
export function upstreamClusterOptions(protocol: Protocol): Partial<Cluster> {
  return { typedExtensionProtocolOptions: isHttp(protocol) ? httpProtocolOptions(protocol) : {} };
}

/** The three parts of an upstream CommonTlsContext, in ts-proto's encoding order: certificate, validation context, ALPN. */
export function upstreamTlsParts(plan: UpstreamPlan) {
  return {
    cert: { tlsCertificateSdsSecretConfigs: [sds(SERVICE_CERT)] },
    validation: { validationContextSdsSecretConfig: sds(plan.validationSecret) },
    alpn: { alpnProtocols: [ALPN_IN_MESH] },
  };
}

/** An SdsSecretConfig's fields after its name (in ts-proto's encoding order): the ADS config source. */
export function sdsConfigSource() {
  return TLS.SdsSecretConfig.fromPartial({ sdsConfig: ads() });
}

/** A validation secret's trusted CA (CertificateValidationContext field 1), the same for every service. */
export function trustedCa(trustBundle: string) {
  return TLS.CertificateValidationContext.fromPartial({ trustedCa: { inlineBytes: utf8.encode(trustBundle) } });
}

/** The fields of a URI SubjectAltNameMatcher before its matcher. */
export function uriSanHead() {
  return TLS.SubjectAltNameMatcher.fromPartial({ sanType: TLS.SubjectAltNameMatcher_SanType.URI });
}

/** The upstream cluster's TLS origination: the proxy's certificate, the destination's SANs, SNI and ALPN (encoded last). */
export function upstreamClusterSocket(plan: UpstreamPlan): Partial<Cluster> {
  const p = upstreamTlsParts(plan);
  const tls = TLS.UpstreamTlsContext.fromPartial({ sni: plan.sni, commonTlsContext: { ...p.cert, ...p.validation, ...p.alpn } });
  return { transportSocket: C.TransportSocket.fromPartial({ name: FILTER.tlsTransportSocket, typedConfig: packAny(TLS.UpstreamTlsContext, tls) }) };
}

/** EDS: the ready endpoints of an upstream cluster. */
export function clusterLoadAssignment(plan: EndpointsPlan): ClusterLoadAssignment {
  return E.ClusterLoadAssignment.fromPartial({
    clusterName: plan.name,
    endpoints: plan.endpoints.length === 0 ? [] : [{ lbEndpoints: plan.endpoints.map(([ip, port]) => ({ endpoint: { address: address(ip, port) }, healthStatus: C.HealthStatus.HEALTHY })) }],
  });
}

const utf8 = new TextEncoder();

/** The proxy's certificate chain and private key (PEM), under the name `service-cert`. */
export function certificateSecret(name: string, certificateChain: string, privateKey: string): Secret {
  return TLS.Secret.fromPartial({
    name,
    tlsCertificate: { certificateChain: { inlineBytes: utf8.encode(certificateChain) }, privateKey: { inlineBytes: utf8.encode(privateKey) } },
  });
}

/** A validation context: the trust bundle (PEM) and the URI SANs a peer must present one of (exact, or the prefix). */
export function validationSecret(name: string, trustBundle: string, sans: readonly string[], sanPrefix?: string): Secret {
  const uri = TLS.SubjectAltNameMatcher_SanType.URI;
  return TLS.Secret.fromPartial({
    name,
    validationContext: {
      trustedCa: { inlineBytes: utf8.encode(trustBundle) },
      matchTypedSubjectAltNames: [
        ...sans.map((s) => ({ sanType: uri, matcher: { exact: s } })),
        ...(sanPrefix !== undefined ? [{ sanType: uri, matcher: { prefix: sanPrefix } }] : []),
      ],
    },
  });
}

// The names one encoded resource refers to, read back from its bytes through the generated Envoy types
// (so the consistency check judges what is really sent, not what the builder meant to send).
import { envoy, typeUrlOf } from '@osm/envoy-api';
import type { google } from '@osm/envoy-api';

/** Names of other resources that a resource refers to, by the type that must hold them. */
export interface References {
  readonly routes: readonly string[];
  readonly clusters: readonly string[];
  readonly endpoints: readonly string[];
  readonly secrets: readonly string[];
}

type Any = google.protobuf.Any;
type CommonTlsContext = envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
type RouteAction = envoy.config.route.v3.RouteAction;
type FilterChain = envoy.config.listener.v3.FilterChain;

const TLS = envoy.extensions.transport_sockets.tls.v3;
const HCM = envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
const TCP = envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
const ZIPKIN = envoy.config.trace.v3.ZipkinConfig;

class Collector {
  readonly routes = new Set<string>();
  readonly clusters = new Set<string>();
  readonly endpoints = new Set<string>();
  readonly secrets = new Set<string>();

  result(): References {
    return { routes: [...this.routes], clusters: [...this.clusters], endpoints: [...this.endpoints], secrets: [...this.secrets] };
  }

  tls(common: CommonTlsContext | undefined): void {
    for (const s of common?.tlsCertificateSdsSecretConfigs ?? []) this.secrets.add(s.name);
    if (common?.validationContextSdsSecretConfig) this.secrets.add(common.validationContextSdsSecretConfig.name);
  }

  routeAction(action: RouteAction | undefined): void {
    if (!action) return;
    if (action.cluster) this.clusters.add(action.cluster);
    for (const w of action.weightedClusters?.clusters ?? []) this.clusters.add(w.name);
  }

  routeConfig(rc: envoy.config.route.v3.RouteConfiguration): void {
    for (const vh of rc.virtualHosts) for (const r of vh.routes) this.routeAction(r.route);
  }

  filterChain(chain: FilterChain | undefined): void {
    if (!chain) return;
    const socket = chain.transportSocket?.typedConfig;
    if (socket && is(socket, TLS.DownstreamTlsContext)) this.tls(TLS.DownstreamTlsContext.decode(socket.value).commonTlsContext);
    for (const f of chain.filters) {
      const cfg = f.typedConfig;
      if (!cfg) continue;
      if (is(cfg, HCM)) {
        const hcm = HCM.decode(cfg.value);
        if (hcm.rds) this.routes.add(hcm.rds.routeConfigName);
        if (hcm.routeConfig) this.routeConfig(hcm.routeConfig);
        // Envoy rejects a Zipkin tracer whose collector cluster it does not have.
        const tracer = hcm.tracing?.provider?.typedConfig;
        if (tracer && is(tracer, ZIPKIN)) this.clusters.add(ZIPKIN.decode(tracer.value).collectorCluster);
      } else if (is(cfg, TCP)) {
        const tcp = TCP.decode(cfg.value);
        if (tcp.cluster) this.clusters.add(tcp.cluster);
        for (const w of tcp.weightedClusters?.clusters ?? []) this.clusters.add(w.name);
      }
    }
  }
}

const is = (any: Any, type: { readonly $type: string }): boolean => any.typeUrl === typeUrlOf(type);

/** Reads the references out of an encoded Listener, RouteConfiguration or Cluster (others refer to nothing). */
export function referencesOf(typeUrl: string, bytes: Uint8Array): References {
  const c = new Collector();
  if (typeUrl === typeUrlOf(envoy.config.listener.v3.Listener)) {
    const l = envoy.config.listener.v3.Listener.decode(bytes);
    for (const chain of l.filterChains) c.filterChain(chain);
    c.filterChain(l.defaultFilterChain);
  } else if (typeUrl === typeUrlOf(envoy.config.route.v3.RouteConfiguration)) {
    c.routeConfig(envoy.config.route.v3.RouteConfiguration.decode(bytes));
  } else if (typeUrl === typeUrlOf(envoy.config.cluster.v3.Cluster)) {
    const cl = envoy.config.cluster.v3.Cluster.decode(bytes);
    if (cl.type === envoy.config.cluster.v3.Cluster_DiscoveryType.EDS) c.endpoints.add(cl.edsClusterConfig?.serviceName || cl.name);
    const socket = cl.transportSocket?.typedConfig;
    if (socket && is(socket, TLS.UpstreamTlsContext)) c.tls(TLS.UpstreamTlsContext.decode(socket.value).commonTlsContext);
  }
  return c.result();
}

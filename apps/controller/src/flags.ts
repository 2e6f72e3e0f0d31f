// Command-line flags of osm-controller (OSM's names where OSM had the flag); a bad value gets a message
// naming the flag and the allowed values.
import { hostname } from 'node:os';
import { systemClock } from '@osm/clock';
import { rootCaFlagSpecs, rootCaFlagsUsage, rootProviderOptionsFromFlags, type RootProviderOptions } from '@osm/k8s-writes';
import { parseGoDuration } from '@osm/mesh-model';
import { FlagError, logLevelFlag, parseFlagValues, portFlag, tracingFlagSpecs, tracingFlagsUsage, tracingOptionsFromFlags, type TracingOptions } from '@osm/observability';

export interface Flags {
  readonly namespace: string;
  readonly meshName: string;
  readonly rootCa: RootProviderOptions;
  readonly clusterDomain: string;
  readonly adsAddress: string;
  readonly adsPort: number;
  readonly adminAddress: string;
  readonly adminPort: number;
  readonly replicaId: string;
  /** 0 = unlimited. */
  readonly maxConnectionAgeMs: number;
  readonly logLevel: string;
  /** Off unless `otlpEndpoint` is set. */
  readonly tracing: TracingOptions;
  /** Above this many proxies in a catalog batch, per-proxy spans are sampled. */
  readonly traceMaxProxiesPerBatch: number;
}

export type Command = { readonly kind: 'run'; readonly flags: Flags } | { readonly kind: 'help' } | { readonly kind: 'version' };

export const usage = `usage: osm-controller [flags]

Watches the mesh's Kubernetes objects, computes each sidecar's Envoy configuration and serves it over
ADS (gRPC with mTLS) to the proxies that connect, each proxy only its own; issues the service
certificates (kept in memory only) and pushes them over SDS. Kubernetes credentials come from
KUBECONFIG or, in a pod, from its service account.

flags:
  --osm-namespace NAME    control-plane namespace, where MeshConfig and the CA Secret live (default osm-system)
  --mesh-name NAME        namespaces labelled openservicemesh.io/monitored-by=NAME are in the mesh (default osm)
${rootCaFlagsUsage}
  --cluster-domain NAME   Kubernetes cluster domain of service names (default cluster.local)
  --ads-address ADDR      ADS (xDS) server address (default 0.0.0.0)
  --ads-port PORT         ADS server port, 0 for any (default 15128)
  --admin-address ADDR    admin server address: /livez /readyz /metrics /version /debug/proxies
                          /debug/config_dump?pod=<ns>/<name> (default 0.0.0.0)
  --admin-port PORT       admin server port, 0 for any (default 9091)
  --replica-id NAME       this replica's name in every response's control_plane.identifier
                          (default $POD_NAME, else the host name)
  --max-connection-age DUR  close proxy connections older than DUR (Go duration, ±10 % jitter; GOAWAY,
                          so proxies spread over replicas added later); 0 = never (default 0)
  --log-level LEVEL       trace | debug | info | warn | error | fatal | silent, or OSM's panic | disabled (default info)
${tracingFlagsUsage}
  --trace-max-proxies-per-batch N  per-proxy spans (build, push) for at most N proxies of a catalog
                          batch, spread over them; the batch span counts all (default 100)
  --version               print the version and exit
  -h, --help              print this help and exit`;

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Command {
  const v = parseFlagValues(
    argv,
    {
      'osm-namespace': { type: 'string', default: 'osm-system' },
      'mesh-name': { type: 'string', default: 'osm' },
      ...rootCaFlagSpecs,
      'cluster-domain': { type: 'string', default: 'cluster.local' },
      'ads-address': { type: 'string', default: '0.0.0.0' },
      'ads-port': { type: 'string', default: '15128' },
      'admin-address': { type: 'string', default: '0.0.0.0' },
      'admin-port': { type: 'string', default: '9091' },
      'replica-id': { type: 'string', default: env['POD_NAME'] || hostname() },
      'max-connection-age': { type: 'string', default: '0' },
      'log-level': { type: 'string', default: 'info' },
      ...tracingFlagSpecs,
      'trace-max-proxies-per-batch': { type: 'string', default: '100' },
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    usage,
  );
  if (v.help) return { kind: 'help' };
  if (v.version) return { kind: 'version' };
  const namespace = v['osm-namespace'];
  const rootCa = rootProviderOptionsFromFlags(v, namespace, systemClock);
  if ('error' in rootCa) throw new FlagError(rootCa.error);
  const maxConnectionAgeMs = parseGoDuration(v['max-connection-age']);
  if (maxConnectionAgeMs === undefined || maxConnectionAgeMs < 0) {
    throw new FlagError(`--max-connection-age ${JSON.stringify(v['max-connection-age'])} is not valid: expected 0 or a positive Go duration such as 30m or 1h`);
  }
  if (v['replica-id'].trim() === '') throw new FlagError('--replica-id must not be empty');
  const logLevel = logLevelFlag(v['log-level']);
  const tracing = tracingOptionsFromFlags(v);
  if ('error' in tracing) throw new FlagError(tracing.error);
  const maxTraced = v['trace-max-proxies-per-batch'];
  if (!/^\d+$/.test(maxTraced)) throw new FlagError(`--trace-max-proxies-per-batch ${JSON.stringify(maxTraced)} is not valid: expected an integer 0 or more`);
  return {
    kind: 'run',
    flags: {
      namespace,
      meshName: v['mesh-name'],
      rootCa: rootCa.options,
      clusterDomain: v['cluster-domain'],
      adsAddress: v['ads-address'],
      adsPort: portFlag('ads-port', v['ads-port']),
      adminAddress: v['admin-address'],
      adminPort: portFlag('admin-port', v['admin-port']),
      replicaId: v['replica-id'],
      maxConnectionAgeMs,
      logLevel,
      tracing: tracing.options,
      traceMaxProxiesPerBatch: Number(maxTraced),
    },
  };
}

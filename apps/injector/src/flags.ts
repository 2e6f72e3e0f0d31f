// Command-line flags of the injector (OSM's names where OSM had the flag); a bad value gets a message
// naming the flag and the allowed values.
import { systemClock } from '@osm/clock';
import { FAILURE_POLICIES, type ControllerAddress, type FailurePolicy } from '@osm/injector-core';
import { rootCaFlagSpecs, rootCaFlagsUsage, rootProviderOptionsFromFlags, type RootProviderOptions } from '@osm/k8s-writes';
import { ADS_PORT, isDnsSubdomain, parseGoDuration } from '@osm/mesh-model';
import { FlagError, logLevelFlag, parseFlagValues, portFlag, tracingFlagSpecs, tracingFlagsUsage, tracingOptionsFromFlags, type TracingOptions } from '@osm/observability';

export interface Flags {
  readonly namespace: string;
  readonly meshName: string;
  readonly rootCa: RootProviderOptions;
  readonly clusterDomain: string;
  readonly webhookAddress: string;
  readonly webhookPort: number;
  readonly adminAddress: string;
  readonly adminPort: number;
  readonly webhookConfigName: string;
  readonly webhookServiceName: string;
  readonly webhookUrl: URL | undefined;
  readonly controller: ControllerAddress;
  readonly failurePolicy: FailurePolicy;
  readonly webhookTimeoutSeconds: number;
  readonly envoyImage: string;
  readonly initImage: string;
  readonly healthcheckImage: string;
  readonly bootstrapCertValidityMs: number;
  readonly orphanGraceMs: number;
  readonly sweepIntervalMs: number;
  readonly drainDelayMs: number;
  readonly logLevel: string;
  /** Off unless `otlpEndpoint` is set. */
  readonly tracing: TracingOptions;
  readonly version: boolean;
  readonly help: boolean;
}

// OSM's chart defaults (charts/osm/values.yaml): the images a plain OSM install runs.
export const DEFAULT_ENVOY_IMAGE = 'envoyproxy/envoy-distroless:v1.23.1@sha256:293ffbe026e50a9463e909d9114278ca0af076b33d59d77a4a369acc6cbc53a0';
export const DEFAULT_INIT_IMAGE = 'openservicemesh/init:v1.2.4';
export const DEFAULT_HEALTHCHECK_IMAGE = 'openservicemesh/osm-healthcheck:v1.2.4';

export const usage = `usage: injector [flags]
  --osm-namespace NAME      control-plane namespace (default osm-system)
  --mesh-name NAME          mesh name: namespaces labelled openservicemesh.io/monitored-by=NAME are meshed (default osm)
${rootCaFlagsUsage}
  --cluster-domain NAME     cluster DNS domain (default cluster.local)
  --webhook-address ADDR    HTTPS webhook address (default 0.0.0.0)
  --webhook-port PORT       HTTPS webhook port, 0 for any (default 9090)
  --admin-address ADDR      admin server address (default 0.0.0.0)
  --admin-port PORT         admin server port, 0 for any (default 9091)
  --webhook-config-name N   the MutatingWebhookConfiguration kept current (default osm-webhook-<mesh>)
  --webhook-service-name N  the injector's Service in the control-plane namespace (default osm-injector)
  --webhook-url URL         register this https URL instead of the Service (local runs and tests)
  --controller-address H:P  what sidecars dial for ADS (default osm-controller.<ns>.svc.<cluster-domain>:${ADS_PORT})
  --failure-policy P        Fail | Ignore: what the API server does when the webhook cannot answer (default Fail)
  --webhook-timeout SEC     seconds the API server waits for the webhook, 1-30 (default 10)
  --envoy-image IMAGE       sidecar image unless MeshConfig sidecar.envoyImage is set (default OSM's)
  --init-image IMAGE        init container image unless MeshConfig sidecar.initContainerImage is set (default OSM's)
  --healthcheck-image IMAGE osm-healthcheck image, for pods with TCP probes (default OSM's)
  --bootstrap-cert-validity DUR  validity of proxies' bootstrap certificates, Go duration (default 87600h, capped by the root)
  --orphan-grace DUR        a bootstrap Secret whose pod does not exist this long after creation is deleted (default 2m)
  --sweep-interval DUR      how often bootstrap Secrets are matched to their pods (default 1m)
  --drain-delay DUR         after SIGTERM, keep serving this long before closing (default 5s)
  --log-level LEVEL         trace | debug | info | warn | error | fatal | silent, or OSM's panic | disabled (default info)
${tracingFlagsUsage}
  --version                 print the version and exit
  --help                    print this help and exit`;

function duration(flag: string, value: string, allowZero: boolean): number {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms < 0 || (!allowZero && ms === 0)) {
    throw new FlagError(`--${flag} ${JSON.stringify(value)} is not valid: expected a ${allowZero ? 'non-negative' : 'positive'} Go duration such as 90s or 2m`);
  }
  return ms;
}

/** `host:port` or `[v6]:port`. */
function controllerAddress(value: string, serverName: string): ControllerAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  if (!match || !host) throw new FlagError(`--controller-address ${JSON.stringify(value)} is not valid: expected host:port such as osm-controller.osm-system.svc.cluster.local:${ADS_PORT}`);
  return { host, port: portFlag('controller-address', match[3] ?? '', 1), serverName };
}

export function parseFlags(argv: readonly string[]): Flags {
  const v = parseFlagValues(
    argv,
    {
      'osm-namespace': { type: 'string', default: 'osm-system' },
      'mesh-name': { type: 'string', default: 'osm' },
      ...rootCaFlagSpecs,
      'cluster-domain': { type: 'string', default: 'cluster.local' },
      'webhook-address': { type: 'string', default: '0.0.0.0' },
      'webhook-port': { type: 'string', default: '9090' },
      'admin-address': { type: 'string', default: '0.0.0.0' },
      'admin-port': { type: 'string', default: '9091' },
      'webhook-config-name': { type: 'string' },
      'webhook-service-name': { type: 'string', default: 'osm-injector' },
      'webhook-url': { type: 'string' },
      'controller-address': { type: 'string' },
      'failure-policy': { type: 'string', default: 'Fail' },
      'webhook-timeout': { type: 'string', default: '10' },
      'envoy-image': { type: 'string', default: DEFAULT_ENVOY_IMAGE },
      'init-image': { type: 'string', default: DEFAULT_INIT_IMAGE },
      'healthcheck-image': { type: 'string', default: DEFAULT_HEALTHCHECK_IMAGE },
      'bootstrap-cert-validity': { type: 'string', default: '87600h' },
      'orphan-grace': { type: 'string', default: '2m' },
      'sweep-interval': { type: 'string', default: '1m' },
      'drain-delay': { type: 'string', default: '5s' },
      'log-level': { type: 'string', default: 'info' },
      ...tracingFlagSpecs,
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    usage,
  );
  const namespace = v['osm-namespace'];
  const meshName = v['mesh-name'];
  for (const [flag, value] of [['osm-namespace', namespace], ['mesh-name', meshName], ['cluster-domain', v['cluster-domain']], ['webhook-service-name', v['webhook-service-name']]] as const) {
    if (!isDnsSubdomain(value)) throw new FlagError(`--${flag} ${JSON.stringify(value)} is not valid: expected a lowercase DNS name`);
  }
  const rootCa = rootProviderOptionsFromFlags(v, namespace, systemClock);
  if ('error' in rootCa) throw new FlagError(rootCa.error);

  let webhookUrl: URL | undefined;
  if (v['webhook-url'] !== undefined) {
    webhookUrl = URL.canParse(v['webhook-url']) ? new URL(v['webhook-url']) : undefined;
    if (webhookUrl?.protocol !== 'https:') throw new FlagError(`--webhook-url ${JSON.stringify(v['webhook-url'])} is not valid: expected an https:// URL (the API server only calls webhooks over TLS)`);
  }
  const failurePolicy = v['failure-policy'];
  if (!(FAILURE_POLICIES as readonly string[]).includes(failurePolicy)) throw new FlagError(`--failure-policy ${JSON.stringify(failurePolicy)} is not valid: allowed values are ${FAILURE_POLICIES.join(', ')}`);
  const timeout = Number(v['webhook-timeout']);
  if (!/^\d+$/.test(v['webhook-timeout']) || timeout < 1 || timeout > 30) throw new FlagError(`--webhook-timeout ${JSON.stringify(v['webhook-timeout'])} is not valid: expected whole seconds 1-30`);
  const logLevel = logLevelFlag(v['log-level']);
  const tracing = tracingOptionsFromFlags(v);
  if ('error' in tracing) throw new FlagError(tracing.error);
  const controllerServerName = `osm-controller.${namespace}.svc.${v['cluster-domain']}`;
  return {
    namespace,
    meshName,
    rootCa: rootCa.options,
    clusterDomain: v['cluster-domain'],
    webhookAddress: v['webhook-address'],
    webhookPort: portFlag('webhook-port', v['webhook-port']),
    adminAddress: v['admin-address'],
    adminPort: portFlag('admin-port', v['admin-port']),
    webhookConfigName: v['webhook-config-name'] ?? `osm-webhook-${meshName}`,
    webhookServiceName: v['webhook-service-name'],
    webhookUrl,
    controller: controllerAddress(v['controller-address'] ?? `${controllerServerName}:${ADS_PORT}`, controllerServerName),
    failurePolicy: failurePolicy as FailurePolicy,
    webhookTimeoutSeconds: timeout,
    envoyImage: v['envoy-image'],
    initImage: v['init-image'],
    healthcheckImage: v['healthcheck-image'],
    bootstrapCertValidityMs: duration('bootstrap-cert-validity', v['bootstrap-cert-validity'], false),
    orphanGraceMs: duration('orphan-grace', v['orphan-grace'], true),
    sweepIntervalMs: duration('sweep-interval', v['sweep-interval'], false),
    drainDelayMs: duration('drain-delay', v['drain-delay'], true),
    logLevel,
    tracing: tracing.options,
    version: v.version,
    help: v.help,
  };
}

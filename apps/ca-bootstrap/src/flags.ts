// Command-line flags of ca-bootstrap (OSM's names where OSM had the flag); bad values get a message
// naming the flag and the allowed values.
import { fileURLToPath } from 'node:url';
import { systemClock } from '@osm/clock';
import { rootCaFlagSpecs, rootCaFlagsUsage, rootProviderOptionsFromFlags, type RootProviderOptions } from '@osm/k8s-writes';
import { FlagError, logLevelFlag, parseFlagValues, portFlag, tracingFlagSpecs, tracingFlagsUsage, tracingOptionsFromFlags, type TracingOptions } from '@osm/observability';

export interface Flags {
  readonly namespace: string;
  readonly crdsDir: string;
  readonly rootCa: RootProviderOptions;
  readonly adminAddress: string;
  readonly adminPort: number;
  readonly logLevel: string;
  /** The same tracing flags as the other components (it makes no spans of its own yet). */
  readonly tracing: TracingOptions;
  readonly version: boolean;
}

export const usage = `usage: ca-bootstrap [flags]
  --osm-namespace NAME    control-plane namespace (default osm-system)
  --crds-dir DIR          CRD manifests to server-side apply (default deploy/crds of this checkout)
${rootCaFlagsUsage}
  --admin-address ADDR    admin server address (default 0.0.0.0)
  --admin-port PORT       admin server port, 0 for any (default 9091)
  --log-level LEVEL       trace | debug | info | warn | error | fatal | silent, or OSM's panic | disabled (default info)
${tracingFlagsUsage}
  --version               print the version and exit`;

const defaultCrdsDir = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));

export function parseFlags(argv: readonly string[]): Flags {
  const v = parseFlagValues(
    argv,
    {
      'osm-namespace': { type: 'string', default: 'osm-system' },
      'crds-dir': { type: 'string', default: defaultCrdsDir },
      ...rootCaFlagSpecs,
      'admin-address': { type: 'string', default: '0.0.0.0' },
      'admin-port': { type: 'string', default: '9091' },
      'log-level': { type: 'string', default: 'info' },
      ...tracingFlagSpecs,
      version: { type: 'boolean', default: false },
    },
    usage,
  );
  const namespace = v['osm-namespace'];
  const rootCa = rootProviderOptionsFromFlags(v, namespace, systemClock);
  if ('error' in rootCa) throw new FlagError(rootCa.error);
  const adminPort = portFlag('admin-port', v['admin-port']);
  const logLevel = logLevelFlag(v['log-level']);
  const tracing = tracingOptionsFromFlags(v);
  if ('error' in tracing) throw new FlagError(tracing.error);
  return { namespace, crdsDir: v['crds-dir'], rootCa: rootCa.options, adminAddress: v['admin-address'], adminPort, logLevel, tracing: tracing.options, version: v.version };
}

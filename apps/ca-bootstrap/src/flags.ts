// Command-line flags of ca-bootstrap; bad values get a message naming the flag and the allowed values.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_ROOT_VALIDITY_MS, DEFAULT_TRUST_DOMAIN, parseGoDuration } from '@osm/certificates';
import { parseLogLevel } from '@osm/observability';

export const CA_PROVIDERS = ['tresor', 'bring-your-own', 'cert-manager'] as const;
export type CaProviderKind = (typeof CA_PROVIDERS)[number];

export interface Flags {
  readonly namespace: string;
  readonly crdsDir: string;
  readonly caProvider: CaProviderKind;
  readonly caSecretName: string;
  readonly trustDomain: string;
  readonly rootValidityMs: number;
  readonly adminAddress: string;
  readonly adminPort: number;
  readonly logLevel: string;
  readonly certManagerIssuer: { readonly name: string; readonly kind: string; readonly group: string };
}

export const usage = `usage: ca-bootstrap [flags]
  --namespace NAME        control-plane namespace (default osm-system)
  --crds-dir DIR          CRD manifests to server-side apply (default deploy/crds of this checkout)
  --ca-provider KIND      tresor | bring-your-own | cert-manager (default tresor)
  --ca-secret-name NAME   the CA Secret (default osm-ca-bundle); for cert-manager it holds the trust anchor (ca.crt)
  --cert-manager-issuer-name NAME    issuer that signs CertificateRequests (default osm-ca)
  --cert-manager-issuer-kind KIND    Issuer | ClusterIssuer (default Issuer)
  --cert-manager-issuer-group GROUP  issuer API group (default cert-manager.io)
  --trust-domain NAME     trust domain (default cluster.local)
  --root-validity DUR     validity of a generated root, Go duration (default 87600h)
  --admin-address ADDR    admin server address (default 0.0.0.0)
  --admin-port PORT       admin server port, 0 for any (default 9091)
  --log-level LEVEL       trace | debug | info | warn | error | fatal | silent, or OSM's panic | disabled (default info)`;

export class FlagError extends Error {
  override name = 'FlagError';
}

const defaultCrdsDir = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));

export function parseFlags(argv: readonly string[]): Flags {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        namespace: { type: 'string', default: 'osm-system' },
        'crds-dir': { type: 'string', default: defaultCrdsDir },
        'ca-provider': { type: 'string', default: 'tresor' },
        'ca-secret-name': { type: 'string', default: 'osm-ca-bundle' },
        'trust-domain': { type: 'string', default: DEFAULT_TRUST_DOMAIN },
        'root-validity': { type: 'string', default: '87600h' },
        'admin-address': { type: 'string', default: '0.0.0.0' },
        'admin-port': { type: 'string', default: '9091' },
        'log-level': { type: 'string', default: 'info' },
        'cert-manager-issuer-name': { type: 'string', default: 'osm-ca' },
        'cert-manager-issuer-kind': { type: 'string', default: 'Issuer' },
        'cert-manager-issuer-group': { type: 'string', default: 'cert-manager.io' },
      },
    });
  } catch (err) {
    throw new FlagError(`${(err as Error).message}\n${usage}`);
  }
  const v = parsed.values;
  const caProvider = v['ca-provider'];
  if (!(CA_PROVIDERS as readonly string[]).includes(caProvider)) {
    throw new FlagError(`--ca-provider ${JSON.stringify(caProvider)} is not valid: allowed values are ${CA_PROVIDERS.join(', ')}`);
  }
  const adminPort = Number(v['admin-port']);
  if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) {
    throw new FlagError(`--admin-port ${JSON.stringify(v['admin-port'])} is not valid: expected an integer 0-65535`);
  }
  const rootValidityMs = parseGoDuration(v['root-validity']) ?? Number.NaN;
  if (!(rootValidityMs > 0)) {
    throw new FlagError(`--root-validity ${JSON.stringify(v['root-validity'])} is not valid: expected a positive Go duration such as 87600h`);
  }
  let logLevel: string;
  try {
    logLevel = parseLogLevel(v['log-level'], '--log-level');
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  return {
    namespace: v.namespace,
    crdsDir: v['crds-dir'],
    caProvider: caProvider as CaProviderKind,
    caSecretName: v['ca-secret-name'],
    trustDomain: v['trust-domain'],
    rootValidityMs: rootValidityMs || DEFAULT_ROOT_VALIDITY_MS,
    adminAddress: v['admin-address'],
    adminPort,
    logLevel,
    certManagerIssuer: { name: v['cert-manager-issuer-name'], kind: v['cert-manager-issuer-kind'], group: v['cert-manager-issuer-group'] },
  };
}

// The root CA provider every component loads the shared root with (ca-bootstrap, the controller and
// the injector take the same flags, named as OSM's: --certificate-manager, --ca-bundle-secret-name, ...): Tresor creates-or-loads the Secret atomically, bring-your-own and
// cert-manager only load.
import type { KubeConfig } from '@kubernetes/client-node';
import { BringYourOwnProvider, CertManagerProvider, DEFAULT_TRUST_DOMAIN, TresorProvider, type IssuerRef, type RootCAProvider } from '@osm/certificates';
import { parseGoDuration } from '@osm/mesh-model';
import type { Clock } from '@osm/clock';
import { KubeCertificateRequestClient } from './cert-manager.ts';
import { KubeSecretStore } from './secrets.ts';

export const CA_PROVIDERS = ['tresor', 'bring-your-own', 'cert-manager'] as const;
export type CaProviderKind = (typeof CA_PROVIDERS)[number];

export interface RootProviderOptions {
  readonly kind: CaProviderKind;
  /** The control-plane namespace, where the CA Secret lives. */
  readonly namespace: string;
  /** The CA Secret (osm-ca-bundle); for cert-manager it holds the trust anchor (ca.crt). */
  readonly secretName: string;
  readonly trustDomain: string;
  /** Validity of a root Tresor generates. */
  readonly rootValidityMs: number;
  readonly certManagerIssuer: IssuerRef;
  readonly clock: Clock;
}

export function rootCAProvider(kubeConfig: KubeConfig, options: RootProviderOptions): RootCAProvider {
  const common = { store: new KubeSecretStore(kubeConfig), namespace: options.namespace, trustDomain: options.trustDomain, clock: options.clock };
  switch (options.kind) {
    case 'tresor':
      return new TresorProvider({ ...common, secretName: options.secretName, rootValidityMs: options.rootValidityMs });
    case 'bring-your-own':
      return new BringYourOwnProvider({ ...common, secretName: options.secretName });
    case 'cert-manager':
      return new CertManagerProvider({ ...common, client: new KubeCertificateRequestClient(kubeConfig), issuerRef: options.certManagerIssuer, trustSecretName: options.secretName });
  }
}

/** The root-CA flags that ca-bootstrap, the controller and the injector all take (node:util parseArgs specs). */
export const rootCaFlagSpecs = {
  'certificate-manager': { type: 'string', default: 'tresor' },
  'ca-bundle-secret-name': { type: 'string', default: 'osm-ca-bundle' },
  'trust-domain': { type: 'string', default: DEFAULT_TRUST_DOMAIN },
  'root-validity': { type: 'string', default: '87600h' },
  'cert-manager-issuer-name': { type: 'string', default: 'osm-ca' },
  'cert-manager-issuer-kind': { type: 'string', default: 'Issuer' },
  'cert-manager-issuer-group': { type: 'string', default: 'cert-manager.io' },
} as const;

export const rootCaFlagsUsage = `  --certificate-manager KIND  tresor | bring-your-own | cert-manager (default tresor)
  --ca-bundle-secret-name NAME  the CA Secret in the control-plane namespace (default osm-ca-bundle); for
                          cert-manager it holds the trust anchor (ca.crt)
  --cert-manager-issuer-name NAME    issuer that signs CertificateRequests (default osm-ca)
  --cert-manager-issuer-kind KIND    Issuer | ClusterIssuer (default Issuer)
  --cert-manager-issuer-group GROUP  issuer API group (default cert-manager.io)
  --trust-domain NAME     trust domain of certificate names and SPIFFE IDs (default cluster.local)
  --root-validity DUR     validity of a root that Tresor generates, Go duration (default 87600h)`;

type RootCaFlagValues = { readonly [K in keyof typeof rootCaFlagSpecs]: string };

/**
 * RootProviderOptions from parsed flag values; a bad value gives `{ error }` naming the flag and the
 * allowed values (the caller turns it into its own usage error).
 */
export function rootProviderOptionsFromFlags(values: RootCaFlagValues, namespace: string, clock: Clock): { readonly options: RootProviderOptions } | { readonly error: string } {
  const kind = values['certificate-manager'];
  if (!(CA_PROVIDERS as readonly string[]).includes(kind)) return { error: `--certificate-manager ${JSON.stringify(kind)} is not valid: allowed values are ${CA_PROVIDERS.join(', ')}` };
  const rootValidityMs = parseGoDuration(values['root-validity']) ?? Number.NaN;
  if (!(rootValidityMs > 0)) return { error: `--root-validity ${JSON.stringify(values['root-validity'])} is not valid: expected a positive Go duration such as 87600h` };
  const issuerKind = values['cert-manager-issuer-kind'];
  if (issuerKind !== 'Issuer' && issuerKind !== 'ClusterIssuer') return { error: `--cert-manager-issuer-kind ${JSON.stringify(issuerKind)} is not valid: allowed values are Issuer, ClusterIssuer` };
  return {
    options: {
      kind: kind as CaProviderKind,
      namespace,
      secretName: values['ca-bundle-secret-name'],
      trustDomain: values['trust-domain'],
      rootValidityMs,
      certManagerIssuer: { name: values['cert-manager-issuer-name'], kind: issuerKind, group: values['cert-manager-issuer-group'] },
      clock,
    },
  };
}

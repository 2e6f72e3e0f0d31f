// Root CA providers behind one small interface. The Kubernetes API is reached only through SecretStore,
// which the apps implement with their client.
import type { Clock } from '@osm/clock';
import { LocalCertificateAuthority, type CertificateAuthority } from './authority.ts';
import { fail, ok, type Result } from './errors.ts';
import type { KeyGenerator, RandomSource } from './keys.ts';
import { generateRootCA } from './root.ts';
import { loadSigningCA } from './parse.ts';
import type { KeyAlgorithm, SigningCA } from './x509.ts';

/** A Secret as the providers see it. */
export interface StoredSecret {
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, Uint8Array>>;
  readonly resourceVersion?: string;
}

export interface NewSecret {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, Uint8Array>>;
}

/** The two Secret operations the providers need. Transient API failures reject; the caller retries. */
export interface SecretStore {
  get(namespace: string, name: string): Promise<StoredSecret | undefined>;
  /** Creates the Secret, or answers 'exists' if one of that name is already there (which is left untouched). */
  create(secret: NewSecret): Promise<'created' | 'exists'>;
}

export const CA_BUNDLE_SECRET_NAME = 'osm-ca-bundle';
export const CA_CERT_KEY = 'ca.crt';
export const CA_PRIVATE_KEY_KEY = 'private.key';
export const CA_SECRET_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'openservicemesh.io' };

export interface LoadedRoot {
  readonly authority: CertificateAuthority;
  /** The Secret the root was read from. */
  readonly secret: { readonly namespace: string; readonly name: string; readonly resourceVersion?: string };
  /** True when this instance's candidate won the creation race. */
  readonly created: boolean;
  /** created: this instance stored its candidate; lost-race: it tried, another won; existing: it found the Secret. */
  readonly outcome: 'created' | 'lost-race' | 'existing';
}

/** Yields the mesh's certificate authority; bad stored input is a value (`ok: false`), API failures reject. */
export interface RootCAProvider {
  readonly kind: 'tresor' | 'bring-your-own' | 'cert-manager';
  load(): Promise<Result<LoadedRoot>>;
}

export interface SecretKeys {
  readonly certificate: string;
  readonly privateKey: string;
}

const defaultKeys: SecretKeys = { certificate: CA_CERT_KEY, privateKey: CA_PRIVATE_KEY_KEY };

/** Validates a CA Secret's contents; every message names the Secret. */
export function signingCAFromSecret(secret: StoredSecret, now: number, keys: SecretKeys = defaultKeys): Result<SigningCA> {
  const where = `Secret ${secret.namespace}/${secret.name}`;
  const present = Object.keys(secret.data).sort().join(', ') || 'none';
  const cert = secret.data[keys.certificate];
  const key = secret.data[keys.privateKey];
  if (!cert) return fail('MissingKey', `${where} has no key "${keys.certificate}" (keys present: ${present})`);
  if (!key) return fail('MissingKey', `${where} has no key "${keys.privateKey}" (keys present: ${present})`);
  const loaded = loadSigningCA(Buffer.from(cert).toString('utf8'), Buffer.from(key).toString('utf8'), now);
  if (!loaded.ok) return fail(loaded.error.code, `${where}: ${loaded.error.message}`, loaded.error.cause);
  return loaded;
}

interface LocalProviderOptions {
  readonly store: SecretStore;
  readonly namespace: string;
  readonly trustDomain: string;
  readonly clock: Clock;
  readonly keys?: KeyGenerator;
  readonly random?: RandomSource;
}

function localRoot(options: LocalProviderOptions, secret: StoredSecret, outcome: LoadedRoot['outcome'], keys?: SecretKeys): Result<LoadedRoot> {
  const ca = signingCAFromSecret(secret, options.clock.now(), keys);
  if (!ca.ok) return ca;
  const authority = new LocalCertificateAuthority({
    ca: ca.value,
    trustDomain: options.trustDomain,
    clock: options.clock,
    ...(options.keys ? { keys: options.keys } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  const ref = { namespace: secret.namespace, name: secret.name, ...(secret.resourceVersion ? { resourceVersion: secret.resourceVersion } : {}) };
  return ok({ authority, secret: ref, created: outcome === 'created', outcome });
}

export interface TresorOptions extends LocalProviderOptions {
  readonly secretName?: string;
  readonly rootValidityMs?: number;
  readonly rootKeyAlgorithm?: KeyAlgorithm;
  readonly rootCommonName?: string;
}

/**
 * OSM's self-generating provider: if the CA Secret is missing, make a candidate root and *create* the
 * Secret (AlreadyExists is normal: another instance won), then read it back and use whatever is stored.
 * An existing Secret is never overwritten or repaired, even when it is invalid.
 */
export class TresorProvider implements RootCAProvider {
  readonly kind = 'tresor';
  readonly #options: TresorOptions;

  constructor(options: TresorOptions) {
    this.#options = options;
  }

  async load(): Promise<Result<LoadedRoot>> {
    const { store, namespace } = this.#options;
    const name = this.#options.secretName ?? CA_BUNDLE_SECRET_NAME;
    let secret = await store.get(namespace, name);
    let outcome: LoadedRoot['outcome'] = 'existing';
    if (!secret) {
      const candidate = await generateRootCA({
        clock: this.#options.clock,
        ...(this.#options.rootValidityMs ? { validityMs: this.#options.rootValidityMs } : {}),
        ...(this.#options.rootKeyAlgorithm ? { keyAlgorithm: this.#options.rootKeyAlgorithm } : {}),
        ...(this.#options.rootCommonName ? { commonName: this.#options.rootCommonName } : {}),
        ...(this.#options.keys ? { keys: this.#options.keys } : {}),
        ...(this.#options.random ? { random: this.#options.random } : {}),
      });
      const created = await store.create({
        namespace,
        name,
        labels: CA_SECRET_LABELS,
        data: { [CA_CERT_KEY]: Buffer.from(candidate.certificatePem), [CA_PRIVATE_KEY_KEY]: Buffer.from(candidate.privateKeyPem) },
      });
      outcome = created === 'created' ? 'created' : 'lost-race';
      secret = await store.get(namespace, name);
      if (!secret) return fail('NotFound', `Secret ${namespace}/${name} was ${outcome === 'created' ? 'created' : 'reported to exist'} but could not be read back`);
    }
    return localRoot(this.#options, secret, outcome);
  }
}

export interface BringYourOwnOptions extends LocalProviderOptions {
  readonly secretName: string;
  readonly keys?: KeyGenerator;
  readonly secretKeys?: SecretKeys;
}

/** A root (or intermediate) the user stored in a named Secret; read, validated, never written. */
export class BringYourOwnProvider implements RootCAProvider {
  readonly kind = 'bring-your-own';
  readonly #options: BringYourOwnOptions;

  constructor(options: BringYourOwnOptions) {
    this.#options = options;
  }

  async load(): Promise<Result<LoadedRoot>> {
    const { store, namespace, secretName } = this.#options;
    const secret = await store.get(namespace, secretName);
    if (!secret) return fail('NotFound', `Secret ${namespace}/${secretName} not found: the bring-your-own CA provider reads the CA from it (keys "${(this.#options.secretKeys ?? defaultKeys).certificate}" and "${(this.#options.secretKeys ?? defaultKeys).privateKey}")`);
    return localRoot(this.#options, secret, 'existing', this.#options.secretKeys);
  }
}

// An in-memory SecretStore with the API server's create semantics (AlreadyExists, resourceVersion).
import type { NewSecret, SecretStore, StoredSecret } from '../src/providers.ts';

export class MemorySecretStore implements SecretStore {
  readonly secrets = new Map<string, StoredSecret & { labels: Readonly<Record<string, string>> }>();
  readonly calls: string[] = [];
  #version = 1;

  async get(namespace: string, name: string): Promise<StoredSecret | undefined> {
    this.calls.push(`get ${namespace}/${name}`);
    await Promise.resolve();
    return this.secrets.get(`${namespace}/${name}`);
  }

  async create(secret: NewSecret): Promise<'created' | 'exists'> {
    this.calls.push(`create ${secret.namespace}/${secret.name}`);
    await Promise.resolve();
    const key = `${secret.namespace}/${secret.name}`;
    if (this.secrets.has(key)) return 'exists';
    this.secrets.set(key, { ...secret, resourceVersion: String(this.#version++) });
    return 'created';
  }

  put(namespace: string, name: string, data: Record<string, string>): void {
    const bytes = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)]));
    this.secrets.set(`${namespace}/${name}`, { namespace, name, data: bytes, labels: {}, resourceVersion: String(this.#version++) });
  }
}

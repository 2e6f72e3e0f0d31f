// Secrets as the certificate providers see them (SecretStore of @osm/certificates): create never
// overwrites, get reads back whatever won a creation race.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { NewSecret, SecretStore, StoredSecret } from '@osm/certificates';
import { statusCode } from './errors.ts';

export class KubeSecretStore implements SecretStore {
  readonly #core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async get(namespace: string, name: string): Promise<StoredSecret | undefined> {
    try {
      const secret = await this.#core.readNamespacedSecret({ name, namespace });
      const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      return { namespace, name, data, ...(secret.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}) };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async create(secret: NewSecret): Promise<'created' | 'exists'> {
    try {
      await this.#core.createNamespacedSecret({
        namespace: secret.namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name: secret.name, namespace: secret.namespace, labels: { ...secret.labels } },
          data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        },
      });
      return 'created';
    } catch (err) {
      if (statusCode(err) === 409) return 'exists';
      throw err;
    }
  }

  /**
   * Deletes the Secret if it still is the object with `uid` (a precondition, so a Secret re-created
   * under the same name is never deleted by mistake): 'deleted', or 'absent' when it is gone or replaced.
   */
  async delete(namespace: string, name: string, uid: string): Promise<'deleted' | 'absent'> {
    try {
      await this.#core.deleteNamespacedSecret({ name, namespace, body: { preconditions: { uid } } });
      return 'deleted';
    } catch (err) {
      const code = statusCode(err);
      if (code === 404 || code === 409) return 'absent';
      throw err;
    }
  }
}

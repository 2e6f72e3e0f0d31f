// Secrets as the certificate providers see them (SecretStore of @osm/certificates): create never
// overwrites, get reads back whatever won a creation race.
import { Agent, request, type AgentOptions } from 'node:https';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { NewSecret, SecretStore, StoredSecret } from '@osm/certificates';
import { statusCode } from './errors.ts';

/** A Kubernetes API call that failed: `code` is the HTTP status, the message the API server's. */
export class KubeWriteError extends Error {
  override name = 'KubeWriteError';
  readonly code: number;
  constructor(code: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class KubeSecretStore implements SecretStore {
  readonly #core: CoreV1Api;
  readonly #kubeConfig: KubeConfig;
  /** The keep-alive agent for creates, and the TLS credentials it was made for. */
  #agent: { readonly credentials: string; readonly agent: Agent } | undefined;

  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /**
   * POSTs JSON over one keep-alive agent. client-node 2.0 builds a new agent for every call (its
   * applyToHTTPSOptions sets `agent`), so each call paid a TLS handshake with the API server (in the
   * injector's profile the largest single cost of an admission, and as much again on the API server);
   * the injector creates one Secret per admitted pod. Credentials are read per call (tokens rotate);
   * the agent is replaced only when the TLS credentials change.
   */
  async #post(path: string, body: unknown): Promise<number> {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeWriteError(0, 'the KubeConfig has no current cluster');
    const applied: AgentOptions & { agent?: unknown; headers?: Record<string, string> } = {};
    await this.#kubeConfig.applyToHTTPSOptions(applied as never);
    const { agent: _perCall, headers, ...tls } = applied;
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(new URL(cluster.server.replace(/\/$/, '') + path), {
        ...tls,
        agent: this.#agentFor(tls),
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', accept: 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(status);
          let message = text;
          try {
            message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
          } catch {
            // not a Status object: the raw text says it
          }
          reject(new KubeWriteError(status, `POST ${path}: HTTP ${status}: ${message}`));
        });
        res.on('error', (err) => reject(new KubeWriteError(0, `POST ${path}: ${err.message}`, { cause: err })));
      });
      req.on('error', (err) => reject(new KubeWriteError(0, `POST ${path}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
  }

  #agentFor(tls: AgentOptions): Agent {
    const credentials = JSON.stringify([tls.ca, tls.cert, tls.key, tls.pfx, tls.passphrase, tls.rejectUnauthorized, tls.servername].map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    if (this.#agent?.credentials !== credentials) {
      this.#agent?.agent.destroy();
      this.#agent = { credentials, agent: new Agent({ ...tls, keepAlive: true }) };
    }
    return this.#agent.agent;
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
      await this.#post(`/api/v1/namespaces/${encodeURIComponent(secret.namespace)}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: secret.name, namespace: secret.namespace, labels: { ...secret.labels } },
        data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
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

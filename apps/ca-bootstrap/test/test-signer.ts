// Test-only: a small test signer standing in for cert-manager's CA issuer. It watches (polls)
// CertificateRequests for its issuer name, signs their CSRs with the real openssl and writes
// status.certificate, status.ca and the Ready condition, as cert-manager does.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';

interface CertificateRequest {
  metadata: { name: string; namespace: string };
  spec: { request: string; issuerRef: { name: string } };
  status?: { certificate?: string; conditions?: { type: string; status: string }[] };
}

export class TestSigner {
  readonly signed: string[] = [];
  /** Why ticks failed (each is retried); shown by tests when nothing was signed. */
  readonly errors: string[] = [];
  readonly #api: CustomObjectsApi;
  readonly #dir = mkdtempSync(join(tmpdir(), 'osm-test-signer-'));
  readonly #ca: { certificatePem: string; privateKeyPem: string };
  readonly #issuerName: string;
  readonly #deny: (csrPem: string) => string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(kubeConfig: KubeConfig, ca: { certificatePem: string; privateKeyPem: string }, issuerName: string, deny: (csrPem: string) => string | undefined = () => undefined) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#ca = ca;
    this.#issuerName = issuerName;
    this.#deny = deny;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      try {
        await this.#signPending();
      } catch (err) {
        this.errors.push(String(err));
      }
      if (!this.#stopped) this.#timer = setTimeout(() => void tick(), 50);
    };
    void tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #signPending(): Promise<void> {
    const list = (await this.#api.listClusterCustomObject({ group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests' })) as { items: CertificateRequest[] };
    for (const cr of list.items) {
      if (!this.errors.length && !cr.spec?.issuerRef) this.errors.push(JSON.stringify(cr));
      if (cr.spec?.issuerRef?.name !== this.#issuerName || cr.status?.conditions?.some((c) => c.type === 'Ready')) continue;
      const csrPem = Buffer.from(cr.spec.request, 'base64').toString('utf8');
      const denial = this.#deny(csrPem);
      const status = denial
        ? { conditions: [{ type: 'Ready', status: 'False', reason: 'Failed', message: denial }] }
        : {
            certificate: Buffer.from(this.#sign(csrPem)).toString('base64'),
            ca: Buffer.from(this.#ca.certificatePem).toString('base64'),
            conditions: [{ type: 'Ready', status: 'True', reason: 'Issued', message: 'Certificate fetched from issuer successfully' }],
          };
      await this.#api.patchNamespacedCustomObjectStatus(
        { group: 'cert-manager.io', version: 'v1', plural: 'certificaterequests', namespace: cr.metadata.namespace, name: cr.metadata.name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.signed.push(`${cr.metadata.namespace}/${cr.metadata.name}`);
    }
  }

  #sign(csrPem: string): string {
    const path = (name: string, content: string): string => {
      writeFileSync(join(this.#dir, name), content);
      return join(this.#dir, name);
    };
    return execFileSync(
      'openssl',
      ['x509', '-req', '-in', path('req.csr', csrPem), '-CA', path('ca.crt', this.#ca.certificatePem), '-CAkey', path('ca.key', this.#ca.privateKeyPem), '-days', '1', '-copy_extensions', 'copy', '-set_serial', `0x${randomBytes(16).toString('hex')}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }
}

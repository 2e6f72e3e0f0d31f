// Test-only: a small test signer standing in for cert-manager's CA issuer. It watches (polls)
// CertificateRequests for its issuer name, signs their CSRs with the real openssl and writes
// status.certificate, status.ca and the Ready condition, as cert-manager does.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { opensslSignCsr } from '@osm/testing';

interface CertificateRequest {
  metadata: { name: string; namespace: string };
  spec: { request: string; issuerRef: { name: string }; usages?: string[] };
  status?: { certificate?: string; conditions?: { type: string; status: string }[] };
}

export class TestSigner {
  readonly signed: string[] = [];
  /** Why ticks failed (each is retried); shown by tests when nothing was signed. */
  readonly errors: string[] = [];
  readonly #api: CustomObjectsApi;
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
            certificate: Buffer.from(opensslSignCsr(csrPem, this.#ca, cr.spec.usages ?? [])).toString('base64'),
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
}

// Test-only: a validating admission webhook that holds every Secret CREATE in a labelled namespace
// until `expected` of them have arrived (or HOLD_LIMIT_MS passed), then admits them all at once and
// everything after them (the gate stays open). Every ca-bootstrap process that reads the CA Secret
// while the first candidate is held finds none and creates its own: the API server then stores one and
// answers AlreadyExists to the others. It changes
// nothing in what it admits; it only widens the race window from milliseconds to the processes'
// start-up spread, so that a round in which nobody raced cannot pass for a race.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { generateRootCA, LocalCertificateAuthority, signingCAFromSecret } from '@osm/certificates';
import { systemClock } from '@osm/clock';

export const GATE_LABEL = 'osm-ts-test/race-gate';
const WEBHOOK_NAME = 'osm-ts-test-race-gate';
/** Held requests are admitted after this long even if fewer arrived (well before the API server gives up at timeoutSeconds, 30). */
const HOLD_LIMIT_MS = 20_000;

interface AdmissionReview {
  request: { uid: string; namespace?: string; operation: string; name?: string };
}

export class RaceGate {
  /** Secret CREATEs seen per namespace. */
  readonly arrivals = new Map<string, number>();
  readonly #expected = new Map<string, number>();
  readonly #held = new Map<string, (() => void)[]>();
  readonly #open = new Set<string>();
  #server: Server | undefined;
  #kubeConfig: KubeConfig | undefined;

  /** Hold CREATEs in `namespace` until `count` have arrived. Namespaces not announced are admitted at once. */
  expect(namespace: string, count: number): void {
    this.#expected.set(namespace, count);
  }

  async start(kubeConfig: KubeConfig): Promise<void> {
    this.#kubeConfig = kubeConfig;
    const root = await generateRootCA({ clock: systemClock, commonName: 'race-gate-test-root' });
    const ca = signingCAFromSecret({ namespace: 'test', name: 'race-gate', data: { 'ca.crt': Buffer.from(root.certificatePem), 'private.key': Buffer.from(root.privateKeyPem) } }, Date.now());
    if (!ca.ok) throw ca.error;
    const serving = new LocalCertificateAuthority({ ca: ca.value, trustDomain: 'cluster.local', clock: systemClock }).issueSync({
      subject: { kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
      validityMs: 24 * 3_600_000,
    });
    this.#server = createServer({ cert: serving.certificatePem, key: serving.privateKeyPem }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const review = JSON.parse(body) as AdmissionReview;
        const answer = (): void => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } }));
        };
        this.#arrive(review.request.namespace ?? '', answer);
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const port = (this.#server.address() as AddressInfo).port;
    await kubeConfig.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: WEBHOOK_NAME },
        webhooks: [
          {
            name: 'race-gate.osm-ts.test',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Fail',
            timeoutSeconds: 30,
            clientConfig: { url: `https://127.0.0.1:${port}/gate`, caBundle: Buffer.from(root.certificatePem).toString('base64') },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['secrets'], scope: 'Namespaced' }],
            namespaceSelector: { matchLabels: { [GATE_LABEL]: 'true' } },
          },
        ],
      },
    });
  }

  /** Whether the API server has sent this namespace's Secret CREATEs here (the webhook configuration is live). */
  saw(namespace: string): boolean {
    return (this.arrivals.get(namespace) ?? 0) > 0;
  }

  #arrive(namespace: string, answer: () => void): void {
    const count = (this.arrivals.get(namespace) ?? 0) + 1;
    this.arrivals.set(namespace, count);
    const expected = this.#expected.get(namespace);
    if (expected === undefined || this.#open.has(namespace)) return answer();
    const held = this.#held.get(namespace) ?? [];
    held.push(answer);
    this.#held.set(namespace, held);
    if (held.length === 1) setTimeout(() => this.#release(namespace), HOLD_LIMIT_MS).unref();
    if (held.length >= expected) this.#release(namespace);
  }

  #release(namespace: string): void {
    this.#open.add(namespace);
    for (const answer of this.#held.get(namespace) ?? []) answer();
    this.#held.set(namespace, []);
  }

  async stop(): Promise<void> {
    for (const namespace of this.#held.keys()) this.#release(namespace);
    await this.#kubeConfig?.makeApiClient(AdmissionregistrationV1Api).deleteValidatingWebhookConfiguration({ name: WEBHOOK_NAME }).catch(() => undefined);
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

// The injector as real processes against a real kube-apiserver, which calls the webhook over real TLS
// (registered with a loopback URL): meshed and untouched pods, the bootstrap Secret and its
// certificate, dry runs, retried and refused admissions, a Secret that cannot be written, bad input
// and fuzzing, two replicas behind one configuration, and a graceful SIGTERM.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createTcpServer, connect as tcpConnect, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { generateRootCA, LocalCertificateAuthority, loadSigningCA } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { startKubeApiServer, eventually, freePort, KubeRest, type KubeApiServer } from '@osm/testing';
import { InjectorProcess, postWebhook } from './process.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let api: KubeApiServer;
let rest: KubeRest;
let rootPem: string;
const running: InjectorProcess[] = [];
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

async function start(port: number, ...args: string[]): Promise<InjectorProcess> {
  const p = new InjectorProcess(api.kubeconfigPath, port, ['--orphan-grace', '3s', '--sweep-interval', '1s', ...args]);
  running.push(p);
  await p.ready();
  return p;
}

const urlArgs = (port: number): string[] => ['--webhook-url', `https://127.0.0.1:${port}/mutate-pod-creation`];

async function namespace(name: string, annotations: Record<string, string> = { 'openservicemesh.io/sidecar-injection': 'enabled' }, labels: Record<string, string> = { 'openservicemesh.io/monitored-by': 'osm' }): Promise<void> {
  await rest.create('/api/v1/namespaces', { metadata: { name, labels, annotations } });
}

const podBody = (name: string, extra: Json = {}, metadata: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: name }, ...metadata },
  spec: { serviceAccountName: 'bookstore', containers: [{ name: 'app', image: 'bookstore:v1', ports: [{ name: 'http', containerPort: 8080 }], livenessProbe: { httpGet: { path: '/healthz', port: 'http' } } }], ...extra },
});

const createPod = (ns: string, body: Json, query = ''): Promise<{ status: number; body: unknown }> => rest.call('POST', `/api/v1/namespaces/${ns}/pods${query}`, body);

async function bootstrapSecrets(ns: string): Promise<Json[]> {
  const list = await rest.ok('GET', `/api/v1/namespaces/${ns}/secrets?labelSelector=osm-proxy-uuid`);
  return list['items'] as Json[];
}

const injected = (pod: Json): boolean => (pod['spec'].containers as Json[]).some((c) => c['name'] === 'envoy');

before(async () => {
  api = await startKubeApiServer();
  rest = new KubeRest(api.kubeConfig);
  await namespace('osm-system', {}, {});
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await api?.stop();
});

describe('one injector behind the API server', () => {
  let injector: InjectorProcess;
  before(async () => {
    const port = await freePort();
    injector = await start(port, ...urlArgs(port));
    const root = await rest.ok('GET', '/api/v1/namespaces/osm-system/secrets/osm-ca-bundle');
    rootPem = Buffer.from((root['data'] as Json)['ca.crt'] as string, 'base64').toString('utf8');
    await namespace('bookstore');
  });

  it('registers its webhook configuration: URL, root as caBundle, selectors, policies', async () => {
    const config = await rest.ok('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-osm');
    const webhook = (config['webhooks'] as Json[])[0] as Json;
    assert.equal(webhook['clientConfig'].url, `https://127.0.0.1:${injector.webhookPort}/mutate-pod-creation`);
    assert.equal(Buffer.from(webhook['clientConfig'].caBundle, 'base64').toString('utf8'), rootPem);
    assert.equal(webhook['sideEffects'], 'NoneOnDryRun');
    assert.equal(webhook['failurePolicy'], 'Fail');
    assert.equal(webhook['timeoutSeconds'], 10);
    assert.equal(webhook['reinvocationPolicy'], 'IfNeeded');
    assert.deepEqual(webhook['namespaceSelector'].matchLabels, { 'openservicemesh.io/monitored-by': 'osm' });
  });

  it('meshes a pod of a meshed namespace: sidecar, init container, label, volume, and a Secret with a bootstrap certificate from the root', async () => {
    const created = await createPod('bookstore', podBody('web'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pod = created.body as Json;
    const uuid = pod['metadata'].labels['osm-proxy-uuid'] as string;
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const envoy = (pod['spec'].containers as Json[]).find((c) => c['name'] === 'envoy') as Json;
    assert.ok(envoy, 'the envoy sidecar');
    assert.equal(envoy['securityContext'].runAsUser, 1500);
    assert.deepEqual(envoy['volumeMounts'], [{ name: 'envoy-bootstrap-config-volume', readOnly: true, mountPath: '/etc/envoy' }]);
    assert.deepEqual((pod['spec'].initContainers as Json[]).map((c) => c['name']), ['osm-init']);
    assert.deepEqual((pod['spec'].volumes as Json[]).find((v) => v['name'] === 'envoy-bootstrap-config-volume')?.['secret'].secretName, `envoy-bootstrap-config-${uuid}`);
    assert.equal((pod['spec'].containers as Json[])[0]?.['livenessProbe'].httpGet.port, 15901, 'probe rewritten');

    const secret = await rest.ok('GET', `/api/v1/namespaces/bookstore/secrets/envoy-bootstrap-config-${uuid}`);
    const data = Object.fromEntries(Object.entries(secret['data'] as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    assert.deepEqual(Object.keys(data).sort(), ['bootstrap.yaml', 'cacert.pem', 'sds_cert.pem', 'sds_key.pem', 'tls_certificate_sds_secret.yaml', 'validation_context_sds_secret.yaml']);
    const cert = new X509Certificate(data['sds_cert.pem'] ?? '');
    const root = new X509Certificate(rootPem);
    assert.ok(cert.verify(root.publicKey), 'signed by the mesh root');
    assert.ok(cert.checkIssued(root));
    assert.match(cert.subject, new RegExp(`CN=${uuid}\\.sidecar\\.bookstore\\.bookstore\\.cluster\\.local`));
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH], 'client auth only');
    assert.equal(data['cacert.pem'], rootPem);
    assert.equal((parse(data['bootstrap.yaml'] ?? '') as Json)['node'].id, uuid);
  });

  it('takes the sidecar images from MeshConfig once it names them', async () => {
    await rest.create('/apis/config.openservicemesh.io/v1alpha2/namespaces/osm-system/meshconfigs', {
      apiVersion: 'config.openservicemesh.io/v1alpha2',
      kind: 'MeshConfig',
      metadata: { name: 'osm-mesh-config' },
      spec: { sidecar: { envoyImage: 'registry.example.com/envoy:v1.30', initContainerImage: 'registry.example.com/init:v2', logLevel: 'debug' } },
    });
    let n = 0;
    await eventually('new pods to use the MeshConfig images', async () => {
      const pod = (await createPod('bookstore', podBody(`images-${n++}`), '?dryRun=All')).body as Json;
      const envoy = (pod['spec'].containers as Json[]).find((c) => c['name'] === 'envoy');
      return envoy?.['image'] === 'registry.example.com/envoy:v1.30' && (pod['spec'].initContainers as Json[])[0]?.['image'] === 'registry.example.com/init:v2' && envoy['args'][1] === 'debug';
    }, 20_000);
  });

  it('reinvoked after a later webhook changed the pod, it adds nothing twice', async () => {
    // A second webhook (named to run after ours) that annotates every pod: the API server then calls ours again.
    const pem = await generateRootCA({ clock: systemClock });
    const signing = loadSigningCA(pem.certificatePem, pem.privateKeyPem, Date.now());
    assert.ok(signing.ok);
    const cert = new LocalCertificateAuthority({ ca: signing.value, trustDomain: 'cluster.local', clock: systemClock }).issueSync({ subject: { kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: 3_600_000 });
    const annotator = createHttpsServer({ cert: cert.certificatePem, key: cert.privateKeyPem }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const uid = (JSON.parse(body) as Json)['request'].uid as string;
        const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/annotations/test~1annotated', value: 'yes' }])).toString('base64');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, patchType: 'JSONPatch', patch } }));
      });
    });
    await new Promise<void>((resolve) => annotator.listen(0, '127.0.0.1', resolve));
    after(() => annotator.close());
    await namespace('reinvoked');
    await rest.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
      metadata: { name: 'zz-annotate' },
      webhooks: [
        {
          name: 'annotate.test.local',
          clientConfig: { url: `https://127.0.0.1:${(annotator.address() as { port: number }).port}/`, caBundle: Buffer.from(pem.certificatePem).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'reinvoked' } },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          reinvocationPolicy: 'Never',
        },
      ],
    });
    const calls = (): Promise<number> => injector.metric('osm_admission_webhook_response_total{kind="Pod",success="true"}');
    let pod: Json = {};
    let n = 0;
    await eventually('the annotating webhook to be called', async () => {
      pod = (await createPod('reinvoked', podBody(`reinvoked-${n++}`, {}, { annotations: { keep: 'me' } }))).body as Json;
      return pod['metadata']?.annotations?.['test/annotated'] === 'yes';
    }, 20_000);
    const before = await calls();
    pod = (await createPod('reinvoked', podBody('counted', {}, { annotations: { keep: 'me' } }))).body as Json;
    assert.equal(pod['metadata'].annotations['test/annotated'], 'yes');
    assert.equal((await calls()) - before, 2, 'called, then reinvoked');
    assert.deepEqual((pod['spec'].containers as Json[]).map((c) => c['name']), ['app', 'envoy']);
    assert.deepEqual((pod['spec'].initContainers as Json[]).map((c) => c['name']), ['osm-init']);
    assert.equal((pod['spec'].volumes as Json[]).filter((v) => v['name'] === 'envoy-bootstrap-config-volume').length, 1);
    await rest.delete('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/zz-annotate');
  });

  it('leaves pods it must not mesh untouched, and writes no Secret for them', async () => {
    await namespace('plain', {}, {});
    await namespace('kube-public-ish', {}, { 'openservicemesh.io/monitored-by': 'other-mesh' });
    await rest.patch('/api/v1/namespaces/kube-system', { metadata: { labels: { 'openservicemesh.io/monitored-by': 'osm' }, annotations: { 'openservicemesh.io/sidecar-injection': 'enabled' } } });
    const cases: [string, string, Json][] = [
      ['opted out by annotation', 'bookstore', podBody('opted-out', {}, { annotations: { 'openservicemesh.io/sidecar-injection': 'disabled' } })],
      ['host network', 'bookstore', podBody('host-net', { hostNetwork: true })],
      ['unmonitored namespace', 'plain', podBody('plain')],
      ['another mesh', 'kube-public-ish', podBody('other')],
      ['kube-system', 'kube-system', podBody('system')],
    ];
    const before = (await bootstrapSecrets('bookstore')).length;
    for (const [what, ns, body] of cases) {
      const created = await createPod(ns, body);
      assert.equal(created.status, 201, `${what}: ${JSON.stringify(created.body)}`);
      const pod = created.body as Json;
      assert.equal(injected(pod), false, `${what}: no sidecar`);
      assert.equal(pod['spec'].initContainers, undefined, `${what}: no init container`);
      assert.equal(pod['metadata'].labels['osm-proxy-uuid'], undefined, `${what}: no label`);
    }
    for (const ns of ['plain', 'kube-public-ish', 'kube-system']) assert.equal((await bootstrapSecrets(ns)).length, 0, `${ns}: no Secret`);
    assert.equal((await bootstrapSecrets('bookstore')).length, before, 'bookstore: no new Secret');
  });

  it('a dry run gets the patch but no Secret', async () => {
    const before = (await bootstrapSecrets('bookstore')).length;
    const created = await createPod('bookstore', podBody('dry'), '?dryRun=All');
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.ok(injected(created.body as Json));
    assert.equal((await bootstrapSecrets('bookstore')).length, before);
  });

  it('a pod submitted twice leaves exactly its own Secret, owned by it; a refused pod leaves none', async () => {
    await namespace('retries');
    // A later admission step refuses pods labelled reject=yes, after the injector wrote their Secret.
    await rest.create('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
      metadata: { name: 'reject-labelled-pods' },
      spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] }, validations: [{ expression: "!has(object.metadata.labels) || !('reject' in object.metadata.labels)", message: 'refused by policy' }] },
    });
    await rest.create('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
      metadata: { name: 'reject-labelled-pods' },
      spec: { policyName: 'reject-labelled-pods', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'retries' } } } },
    });
    const first = await createPod('retries', podBody('twice'));
    assert.equal(first.status, 201);
    const second = await createPod('retries', podBody('twice'));
    assert.equal(second.status, 409, 'the second create finds the pod');
    // Probed with dry runs, which write nothing.
    await eventually('the refusing policy to take effect', async () => (await createPod('retries', podBody('probe-policy', {}, { labels: { reject: 'yes' } }), '?dryRun=All')).status !== 201, 20_000);
    const refused = await createPod('retries', podBody('refused', {}, { labels: { reject: 'yes' } }));
    assert.notEqual(refused.status, 201);
    assert.match(JSON.stringify(refused.body), /refused by policy/);

    const uuid = (first.body as Json)['metadata'].labels['osm-proxy-uuid'] as string;
    const podUid = (first.body as Json)['metadata'].uid as string;
    // The second create, the policy probe and the refused pod each left a Secret: the sweep removes them.
    await eventually('only the admitted pod’s Secret to remain', async () => {
      const secrets = await bootstrapSecrets('retries');
      return secrets.length === 1 && secrets[0]?.['metadata'].name === `envoy-bootstrap-config-${uuid}`;
    }, 30_000);
    await eventually('the Secret to be owned by its pod', async () => {
      const [secret] = await bootstrapSecrets('retries');
      const owners = (secret?.['metadata'].ownerReferences ?? []) as Json[];
      return owners.length === 1 && owners[0]?.['uid'] === podUid && owners[0]?.['kind'] === 'Pod' && owners[0]?.['name'] === 'twice';
    }, 30_000);
    assert.ok((await injector.metric('osm_injector_orphan_secrets_deleted_total')) >= 2);
  });

  it('when the Secret cannot be written, the pod is refused with a clear message and nothing is left', async () => {
    await namespace('locked');
    await rest.create('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
      metadata: { name: 'no-bootstrap-secrets' },
      spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['secrets'] }] }, validations: [{ expression: "!object.metadata.name.startsWith('envoy-bootstrap-config-')", message: 'no bootstrap Secrets here' }] },
    });
    await rest.create('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
      metadata: { name: 'no-bootstrap-secrets' },
      spec: { policyName: 'no-bootstrap-secrets', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'locked' } } } },
    });
    const probe = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'envoy-bootstrap-config-probe' } };
    await eventually('the policy to take effect', async () => (await rest.call('POST', '/api/v1/namespaces/locked/secrets?dryRun=All', probe)).status !== 201, 20_000);
    const refused = await createPod('locked', podBody('locked'));
    assert.equal(refused.status, 500, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /osm-injector could not mesh the pod: creating the bootstrap Secret locked\/envoy-bootstrap-config-[0-9a-f-]+ failed: .*no bootstrap Secrets here/);
    assert.equal((await bootstrapSecrets('locked')).length, 0);
    const pods = await rest.ok('GET', '/api/v1/namespaces/locked/pods');
    assert.equal((pods['items'] as Json[]).length, 0);
  });

  it('bad input gets a 4xx or a denial saying what was wrong, and the server keeps serving', async () => {
    const port = injector.webhookPort;
    const review = (request: Json): string => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
    const cases: [string, Promise<{ status: number; body: unknown }>, number, RegExp][] = [
      ['not JSON', postWebhook(port, rootPem, '{nope'), 400, /the body is not JSON/],
      ['empty', postWebhook(port, rootPem, ''), 400, /the body is empty/],
      ['not an AdmissionReview', postWebhook(port, rootPem, '{"hello":"world"}'), 400, /kind undefined is not valid: expected AdmissionReview/],
      ['an unknown API version', postWebhook(port, rootPem, JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } })), 400, /apiVersion "admission.k8s.io\/v1beta1" is not supported/],
      ['oversized (declared)', rawPost(port, 'content-length: 5242880', ''), 413, /larger than 4194304 bytes/],
      ['oversized (streamed)', rawPost(port, 'transfer-encoding: chunked', `500001\r\n${' '.repeat(0x500001)}\r\n`), 413, /larger than 4194304 bytes/],
      ['wrong content type', postWebhook(port, rootPem, '{}', { 'content-type': 'text/plain' }), 415, /expected application\/json/],
      ['GET', postWebhook(port, rootPem, '', {}, 'GET'), 405, /expected POST/],
      ['another path', postWebhook(port, rootPem, '{}', { 'content-type': 'application/json' }, 'POST', '/validate'), 404, /the webhook is at \/mutate-pod-creation/],
    ];
    for (const [what, call, status, message] of cases) {
      const r = await call;
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      const answer = (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Json;
      assert.equal(answer['code'], status, what);
      assert.match(String(answer['message']), message, what);
    }
    const noPod = await postWebhook(port, rootPem, review({ uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'bookstore' }));
    assert.equal(noPod.status, 200);
    assert.deepEqual((noPod.body as Json)['response'], { uid: 'u-1', allowed: false, status: { code: 400, message: 'request.object: expected the Pod being created' } });
    const deniedPods = await injector.metric('osm_admission_webhook_response_total{kind="Pod",success="false"}');
    const service = await postWebhook(port, rootPem, review({ uid: 'u-2', kind: { group: '', version: 'v1', kind: 'Service' }, operation: 'CREATE', namespace: 'bookstore', object: {} }));
    assert.equal((service.body as Json)['response'].allowed, false);
    // Counted under the request's kind, as OSM does, not as a denied pod.
    assert.equal(await injector.metric('osm_admission_webhook_response_total{kind="Service",success="false"}'), 1);
    assert.equal(await injector.metric('osm_admission_webhook_response_total{kind="Pod",success="false"}'), deniedPods);

    const created = await createPod('bookstore', podBody('after-bad-input'));
    assert.equal(created.status, 201);
    assert.ok(injected(created.body as Json), 'still meshing');
  });

  it('survives a few thousand malformed bodies (fuzz)', async () => {
    const port = injector.webhookPort;
    const podish = fc.record({ metadata: fc.jsonValue(), spec: fc.oneof(fc.jsonValue(), fc.record({ containers: fc.array(fc.record({ name: fc.oneof(fc.string(), fc.jsonValue()), livenessProbe: fc.jsonValue() })) })) });
    const bodies = fc.oneof(
      fc.string().map((s) => s),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({
          apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1', ''),
          kind: fc.constantFrom('AdmissionReview', 'Pod'),
          request: fc.record({ uid: fc.oneof(fc.uuid(), fc.jsonValue()), kind: fc.constantFrom({ group: '', version: 'v1', kind: 'Pod' }, { kind: 'Pod' }), operation: fc.constantFrom('CREATE', 'UPDATE', 7), namespace: fc.constantFrom('bookstore', 'nope', '', 'Bad NS'), object: fc.oneof(podish, fc.jsonValue()), dryRun: fc.constant(true) }),
        })
        .map((v) => JSON.stringify(v)),
    );
    const samples = fc.sample(bodies, { numRuns: 3000, seed: 42 });
    let answered = 0;
    for (let i = 0; i < samples.length; i += 50) {
      const batch = await Promise.all(samples.slice(i, i + 50).map((b) => postWebhook(port, rootPem, b)));
      for (const r of batch) {
        assert.ok((r.status >= 400 && r.status < 500) || (r.status === 200 && typeof ((r.body as Json)['response'] as Json | undefined)?.['allowed'] === 'boolean'), `unexpected answer ${r.status} ${JSON.stringify(r.body)}`);
        answered++;
      }
    }
    assert.equal(answered, 3000);
    assert.equal((await injector.get('/livez')).status, 200);
    const created = await createPod('bookstore', podBody('after-fuzz'));
    assert.ok(injected(created.body as Json), 'still meshing');
  });

  it('SIGTERM: a request in flight is answered, then the process exits 0', async () => {
    const port = injector.webhookPort;
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'in-flight', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'plain', object: podBody('x') } });
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: rootPem, servername: 'localhost' });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    let response = '';
    socket.setEncoding('utf8').on('data', (c: string) => (response += c));
    const half = Math.floor(body.length / 2);
    socket.write(`POST /mutate-pod-creation HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`);
    await new Promise((r) => setTimeout(r, 200));
    injector.child.kill('SIGTERM');
    await injector.waitForLog((l) => l.msg === 'shutting down');
    await new Promise((r) => setTimeout(r, 300));
    socket.end(body.slice(half));
    assert.equal(await injector.exited, 0);
    assert.match(response, /^HTTP\/1.1 200/);
    assert.match(response, /"uid":"in-flight","allowed":true/);
  });
});

/**
 * A request written by hand over TLS (headers, then whatever body), for bodies the server refuses before
 * reading them all: the status and body of the answer, whatever happens to the rest of the upload.
 */
async function rawPost(port: number, header: string, body: string): Promise<{ status: number; body: unknown }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: rootPem, servername: 'localhost' });
  socket.on('error', () => undefined);
  let response = '';
  socket.setEncoding('utf8').on('data', (c: string) => (response += c));
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.write(`POST /mutate-pod-creation HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n${header}\r\n\r\n${body}`);
  await new Promise((resolve) => socket.once('close', resolve));
  const [head = '', text = ''] = response.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1.1 (\d+)/.exec(head)?.[1]), body: text };
}

/** A TCP proxy sending each new connection to the next backend in turn. */
function roundRobin(backends: () => number[]): Promise<{ port: number; server: Server }> {
  let next = 0;
  const server = createTcpServer((client) => {
    const ports = backends();
    const upstream = tcpConnect(ports[next++ % ports.length] ?? 0, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server })));
}

describe('two injectors behind one webhook configuration', () => {
  it('both serve valid admissions, and the configuration ends the same whichever started last', async () => {
    await Promise.all(running.map((p) => p.stop()));
    const ports = [await freePort(), await freePort()];
    const lb = await roundRobin(() => ports);
    after(() => lb.server.close());
    const args = urlArgs(lb.port);
    const webhook = async (): Promise<Json> => {
      const c = await rest.ok('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-osm');
      return { labels: (c['metadata'] as Json)['labels'], webhooks: c['webhooks'] };
    };

    const a = await start(ports[0] ?? 0, ...args);
    const b = await start(ports[1] ?? 0, ...args);
    const afterB = await webhook();
    await namespace('replicas');
    const pods = await Promise.all(Array.from({ length: 12 }, (_, i) => createPod('replicas', podBody(`r${i}`))));
    for (const p of pods) assert.ok(injected(p.body as Json), JSON.stringify(p.body));
    const served = async (p: InjectorProcess): Promise<number> => p.metric('osm_admission_webhook_response_total{kind="Pod",success="true"}');
    assert.ok((await served(a)) > 0, 'the first replica served admissions');
    assert.ok((await served(b)) > 0, 'the second replica served admissions');
    for (const p of pods) {
      const uuid = (p.body as Json)['metadata'].labels['osm-proxy-uuid'] as string;
      await rest.ok('GET', `/api/v1/namespaces/replicas/secrets/envoy-bootstrap-config-${uuid}`);
    }

    await Promise.all([a.stop(), b.stop()]);
    await start(ports[1] ?? 0, ...args);
    await start(ports[0] ?? 0, ...args);
    assert.deepEqual(await webhook(), afterB, 'the same configuration with the other replica last');
  });
});

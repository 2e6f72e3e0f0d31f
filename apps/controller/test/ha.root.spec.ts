// HA scenario "one root": ca-bootstrap creates the mesh root; two controller replicas and two injector
// replicas load that same root; a bootstrap certificate made by either injector is accepted by either
// controller, which then serves that proxy its config.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { checkEnvoyOverAds, ComponentProcess, ControllerProcess, formatEnvoyProblems, freePort, KubeRest, startKubeApiServer, type KubeApiServer } from '@osm/testing';
import { SERVER_NAME } from './ha-mesh.ts';

const NS = 'osm-system';

/** POSTs an AdmissionReview to an injector over TLS, trusting only `rootPem`; the parsed answer. */
function admit(port: number, rootPem: string, review: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate-pod-creation', method: 'POST', ca: rootPem, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HA: one root for every replica of every component', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  const processes: ComponentProcess[] = [];
  const injectors: { process: ComponentProcess; port: number }[] = [];
  const controllers: ControllerProcess[] = [];

  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
    await rest.create('/api/v1/namespaces', { metadata: { name: NS } });
    const bootstrap = new ComponentProcess('ca-bootstrap', { kubeconfigPath: api.kubeconfigPath, args: ['--osm-namespace', NS] });
    processes.push(bootstrap);
    await bootstrap.ready();
    await rest.create('/api/v1/namespaces', { metadata: { name: 'bookbuyer', labels: { 'openservicemesh.io/monitored-by': 'osm' }, annotations: { 'openservicemesh.io/sidecar-injection': 'enabled' } } });
    await rest.create('/api/v1/namespaces/bookbuyer/serviceaccounts', { metadata: { name: 'bookbuyer' } });
    for (const name of ['a', 'b']) {
      const port = await freePort();
      // Each registers its own webhook configuration: the two do not take turns rewriting one URL.
      const args = ['--osm-namespace', NS, '--webhook-address', '127.0.0.1', '--webhook-port', String(port), '--webhook-url', `https://127.0.0.1:${port}/mutate-pod-creation`, '--webhook-config-name', `osm-webhook-${name}`, '--drain-delay', '0s'];
      const process = new ComponentProcess('injector', { kubeconfigPath: api.kubeconfigPath, args });
      processes.push(process);
      injectors.push({ process, port });
      const controller = new ControllerProcess(api.kubeconfigPath, ['--osm-namespace', NS, '--replica-id', `osm-controller-${name}`]);
      processes.push(controller);
      controllers.push(controller);
    }
    await Promise.all([...injectors.map((i) => i.process), ...controllers].map((p) => p.ready(240_000)));
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await api?.stop();
  });

  it("every replica uses ca-bootstrap's root, and each injector's bootstrap certificate is accepted by each controller", async () => {
    const secret = await rest.ok('GET', `/api/v1/namespaces/${NS}/secrets/osm-ca-bundle`);
    const rootPem = Buffer.from((secret['data'] as Record<string, string>)['ca.crt'] ?? '', 'base64').toString('utf8');
    const root = new X509Certificate(rootPem);

    // The controllers' readiness names the root they loaded: one and the same.
    const fingerprints = await Promise.all(controllers.map(async (c) => JSON.parse((await c.get('/readyz')).body).checks.find((check: { name: string }) => check.name === 'root-ca').message as string));
    assert.equal(new Set(fingerprints).size, 1, fingerprints.join(' / '));
    // The injectors register that root as their webhooks' caBundle.
    for (const name of ['a', 'b']) {
      const config = await rest.ok('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-${name}`);
      const webhooks = config['webhooks'] as { clientConfig: { caBundle: string } }[];
      for (const w of webhooks) assert.equal(Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8'), rootPem, `osm-webhook-${name} trusts the root`);
    }

    for (const [i, injector] of injectors.entries()) {
      const podName = `bookbuyer-${i}`;
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: 'bookbuyer', labels: { app: 'bookbuyer' } }, spec: { serviceAccountName: 'bookbuyer', containers: [{ name: 'app', image: 'example.invalid/app:1' }] } };
      // The injector's serving certificate is checked against the root alone (TLS would fail otherwise).
      const answer = await admit(injector.port, rootPem, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `uid-${i}`, kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'bookbuyer', object: pod } });
      assert.equal(answer.status, 200);
      const response = answer.body['response'] as { allowed: boolean; patch: string };
      assert.equal(response.allowed, true);
      const patch = Buffer.from(response.patch, 'base64').toString('utf8');
      const uuid = /"osm-proxy-uuid":"([0-9a-f-]{36})"/.exec(patch)?.[1] ?? /osm-proxy-uuid","value":"([0-9a-f-]{36})"/.exec(patch)?.[1];
      assert.ok(uuid, `the patch labels the pod with its proxy uuid: ${patch.slice(0, 300)}`);
      const bootstrap = await rest.ok('GET', `/api/v1/namespaces/bookbuyer/secrets/envoy-bootstrap-config-${uuid}`);
      const data = bootstrap['data'] as Record<string, string>;
      const pem = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
      const cert = new X509Certificate(pem('sds_cert.pem'));
      assert.ok(cert.checkIssued(root) && cert.verify(root.publicKey), `injector ${i}'s bootstrap certificate is signed by the root`);
      assert.equal(pem('cacert.pem').trim(), rootPem.trim(), `injector ${i} gives the proxy the root to check the controller against`);

      // The pod as admitted (the sidecar is there, so neither webhook injects it again).
      await rest.create('/api/v1/namespaces/bookbuyer/pods', { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, 'osm-proxy-uuid': uuid } }, spec: { ...pod.spec, containers: [...pod.spec.containers, { name: 'envoy', image: 'example.invalid/envoy:1' }] } });
      for (const [j, controller] of controllers.entries()) {
        const replica = `osm-controller-${['a', 'b'][j]}`;
        const report = await checkEnvoyOverAds({ server: await controller.adsAddress(), caPem: rootPem, certPem: pem('sds_cert.pem'), keyPem: pem('sds_key.pem'), serverName: SERVER_NAME, nodeId: uuid });
        assert.ok(report.ok, `injector ${i}'s proxy on ${replica}:\n${formatEnvoyProblems(report.problems)}`);
        assert.ok(report.resources.length > 0, 'served its config');
        assert.equal(report.controlPlane, replica);
      }
    }
  });
});

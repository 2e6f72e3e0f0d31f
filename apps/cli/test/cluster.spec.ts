// The chart and the osm command against a real kube-apiserver (no kubelet or controller-manager, so
// pods never run): every HPA/PDB combination accepted by server-side dry-run, --dry-run output applied,
// install/uninstall, namespace membership, proxy config dumps, and each component's RBAC.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { bootstrapSecretLabels } from '@osm/injector-core';
import { kindPaths, namespacedKinds } from '@osm/k8s-informers';
import { serverSideApply } from '@osm/k8s-writes';
import { meshConfigName, monitoredByLabel, proxyUuidLabel } from '@osm/mesh-model';
import { ComponentProcess, eventually, freePort, KubeRest, startKubeApiServer, type AppName, type KubeApiServer } from '@osm/testing';
import { renderChart } from '../src/helm.ts';
import { parseManifests } from '../src/manifests.ts';
import { find, osm, render, testHelm } from './cli.ts';

let api: KubeApiServer;
let rest: KubeRest;
const env = (): Record<string, string> => ({ KUBECONFIG: api.kubeconfigPath });

async function exists(path: string): Promise<boolean> {
  const { status } = await rest.call('GET', path);
  if (status !== 200 && status !== 404) throw new Error(`GET ${path}: HTTP ${status}`);
  return status === 200;
}

before(async () => {
  await testHelm();
  api = await startKubeApiServer();
  rest = new KubeRest(api.kubeConfig);
});
after(() => api?.stop());

describe('every combination of autoScale and PodDisruptionBudget', () => {
  before(() => rest.create('/api/v1/namespaces', { metadata: { name: 'combos' } }));
  for (const controllerScale of [false, true])
    for (const controllerPdb of [false, true])
      for (const injectorScale of [false, true])
        for (const injectorPdb of [false, true]) {
          const set = [
            `osm.osmController.autoScale.enable=${controllerScale}`,
            `osm.osmController.enablePodDisruptionBudget=${controllerPdb}`,
            `osm.injector.autoScale.enable=${injectorScale}`,
            `osm.injector.enablePodDisruptionBudget=${injectorPdb}`,
          ];
          it(`is accepted by the API server (server-side dry run): ${set.join(' ')}`, async () => {
            const objects = parseManifests(await renderChart(await testHelm(), { meshName: 'combo', namespace: 'combos', set, kubeVersion: 'v1.37.0' }));
            const kinds = objects.map((o) => `${o.apiVersion}/${o.kind}`);
            assert.equal(kinds.filter((k) => k === 'autoscaling/v2/HorizontalPodAutoscaler').length, Number(controllerScale) + Number(injectorScale));
            assert.equal(kinds.filter((k) => k === 'policy/v1/PodDisruptionBudget').length, Number(controllerPdb) + Number(injectorPdb));
            const stored = await serverSideApply(api.kubeConfig, objects, { fieldManager: 'combo-test', dryRun: true });
            assert.equal(stored.length, objects.length);
            assert.ok(!(await exists('/apis/apps/v1/namespaces/combos/deployments/osm-controller')), 'a dry run stores nothing');
          });
        }
});

describe('osm install --dry-run', () => {
  it('prints manifests that apply as they are', async () => {
    const { code, stdout, stderr } = await osm(['install', '--dry-run', '--mesh-name', 'printed', '--osm-namespace', 'printed-system', '--set', 'osm.injector.autoScale.enable=true'], env());
    assert.equal(code, 0, stderr);
    const objects = parseManifests(stdout);
    assert.equal(objects[0]?.kind, 'Namespace', 'the namespace comes first');
    await serverSideApply(api.kubeConfig, objects, { fieldManager: 'kubectl-like' });
    assert.ok(await exists('/apis/apps/v1/namespaces/printed-system/deployments/osm-injector'));
    assert.ok(await exists('/apis/autoscaling/v2/namespaces/printed-system/horizontalpodautoscalers/osm-injector-hpa'));
    assert.ok(await exists('/apis/config.openservicemesh.io/v1alpha2/namespaces/printed-system/meshconfigs/osm-mesh-config'));
  });
});

describe('osm install, osm namespace, osm version, osm uninstall mesh', () => {
  const owned = [
    '/apis/apps/v1/namespaces/osm-system/deployments/osm-controller',
    '/apis/apps/v1/namespaces/osm-system/deployments/osm-injector',
    '/apis/apps/v1/namespaces/osm-system/deployments/osm-bootstrap',
    '/api/v1/namespaces/osm-system/services/osm-controller',
    '/api/v1/namespaces/osm-system/serviceaccounts/osm-injector',
    '/apis/policy/v1/namespaces/osm-system/poddisruptionbudgets/osm-controller-pdb',
    '/apis/autoscaling/v2/namespaces/osm-system/horizontalpodautoscalers/osm-controller-hpa',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/osm-controller-osm',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/osm-injector-osm',
    '/apis/rbac.authorization.k8s.io/v1/namespaces/osm-system/roles/osm-bootstrap',
    '/apis/config.openservicemesh.io/v1alpha2/namespaces/osm-system/meshconfigs/osm-mesh-config',
  ];

  it('install with a value out of range applies nothing', async () => {
    const { code, stderr } = await osm(['install', '--osm-namespace', 'refused-system', '--set', 'osm.injector.autoScale.maxReplicas=11'], env());
    assert.equal(code, 2);
    assert.equal(stderr, 'Error: invalid values: osm.injector.autoScale.maxReplicas: 11 is above the maximum 10 (allowed range: 1-10)\n');
    assert.ok(!(await exists('/api/v1/namespaces/refused-system')), 'not even the namespace');
  });

  it('install without a kubelet times out with a clear message, after applying everything', async () => {
    const { code, stdout, stderr } = await osm(['install', '--timeout', '3s', '--set', 'osm.osmController.autoScale.enable=true', '--set', 'osm.osmController.enablePodDisruptionBudget=true'], env());
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '');
    const last = stderr.trim().split('\n').at(-1) ?? '';
    assert.match(last, /^Error: timed out after 3s waiting for the control plane in osm-system: osm-bootstrap 0\/1 ready, osm-controller 0\/1 ready, osm-injector 0\/1 ready \(no pod was created: is the cluster's controller-manager running\?\)/);
    assert.match(stderr, /applied Deployment osm-system\/osm-controller/);
    for (const path of owned) assert.ok(await exists(path), path);
    assert.ok(await exists('/api/v1/namespaces/osm-system'));
  });

  it('install --wait=false applies again (idempotent) and returns at once', async () => {
    const { code, stdout, stderr } = await osm(['install', '--wait=false', '--set', 'osm.osmController.autoScale.enable=true', '--set', 'osm.osmController.enablePodDisruptionBudget=true'], env());
    assert.equal(code, 0, stderr);
    assert.match(stdout, /OSM installed successfully in namespace \[osm-system\] with mesh name \[osm\] \(not waiting/);
  });

  it('install waits until each Deployment reports its replicas available', async () => {
    const ready = async (): Promise<void> => {
      for (const name of ['osm-controller', 'osm-injector', 'osm-bootstrap']) {
        const d = await rest.ok('GET', `/apis/apps/v1/namespaces/osm-system/deployments/${name}`);
        const generation = (d['metadata'] as { generation: number }).generation;
        await rest.call('PATCH', `/apis/apps/v1/namespaces/osm-system/deployments/${name}/status`, { status: { observedGeneration: generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 } }, 'application/merge-patch+json');
      }
    };
    // Once the command waits, report what a controller-manager and kubelets would: each Deployment's status.
    let reported: Promise<void> | undefined;
    const { code, stdout, stderr } = await osm(['install', '--timeout', '60s', '--set', 'osm.osmController.autoScale.enable=true', '--set', 'osm.osmController.enablePodDisruptionBudget=true'], env(), (text) => {
      if (!reported && text.includes('waiting: osm-bootstrap 0/1 ready, osm-controller 0/1 ready, osm-injector 0/1 ready')) reported = ready();
    });
    await reported;
    assert.equal(code, 0, stderr);
    assert.ok(reported, `the command waited: ${stderr}`);
    assert.match(stderr, /ready: osm-bootstrap 1\/1 ready, osm-controller 1\/1 ready, osm-injector 1\/1 ready/);
    assert.match(stdout, /OSM installed successfully in namespace \[osm-system\] with mesh name \[osm\]/);
  });

  it('namespace add, list and remove', async () => {
    await rest.create('/api/v1/namespaces', { metadata: { name: 'bookstore' } });
    await rest.create('/api/v1/namespaces', { metadata: { name: 'ignored', labels: { 'openservicemesh.io/ignore': 'true' } } });
    let r = await osm(['namespace', 'add', 'bookstore'], env());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Namespace [bookstore] successfully added to mesh [osm]\n');
    const ns = await rest.ok('GET', '/api/v1/namespaces/bookstore');
    assert.equal((ns['metadata'] as { labels: Record<string, string> }).labels['openservicemesh.io/monitored-by'], 'osm');
    assert.equal((ns['metadata'] as { annotations: Record<string, string> }).annotations['openservicemesh.io/sidecar-injection'], 'enabled');
    r = await osm(['namespace', 'add', 'bookstore'], env());
    assert.equal(r.stdout, 'Namespace [bookstore] has already been added to mesh [osm]\n');
    r = await osm(['namespace', 'add', 'ignored'], env());
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: Cannot add ignored namespace [ignored]: it has the label openservicemesh.io/ignore=true\n');
    r = await osm(['namespace', 'add', 'bookstore', '--mesh-name', 'other'], env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: mesh \[other\] does not exist/);
    r = await osm(['namespace', 'list'], env());
    assert.match(r.stdout, /^NAMESPACE\s+MESH\s+SIDECAR-INJECTION\nbookstore\s+osm\s+enabled\n$/);
    r = await osm(['namespace', 'remove', 'bookstore', '--mesh-name', 'other'], env());
    assert.equal(r.stderr, 'Error: Namespace belongs to mesh [osm], not mesh [other]. Please specify the correct mesh\n');
    r = await osm(['namespace', 'remove', 'bookstore'], env());
    assert.equal(r.stdout, 'Namespace [bookstore] successfully removed from mesh [osm]\n');
    r = await osm(['namespace', 'list', '--mesh-name', 'osm'], env());
    assert.equal(r.stdout, 'No namespaces in mesh [osm]\n');
    r = await osm(['namespace', 'add', 'bookstore', '--disable-sidecar-injection'], env());
    assert.equal(r.code, 0, r.stderr);
  });

  it('version lists the CLI and the mesh', async () => {
    const { code, stdout, stderr } = await osm(['version'], env());
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^CLI Version: 0\.1\.0\nMESH NAME\s+MESH NAMESPACE\s+VERSION\n/);
    assert.match(stdout, /^osm\s+osm-system\s+0\.1\.0$/m);
    assert.match(stdout, /^printed\s+printed-system\s+0\.1\.0$/m, 'the mesh applied from --dry-run output');
  });

  it('uninstall mesh refuses without confirmation when not on a terminal', async () => {
    const { code, stderr } = await osm(['uninstall', 'mesh'], env());
    assert.equal(code, 1);
    assert.equal(stderr, 'Error: refusing to uninstall without confirmation: stdin is not a terminal, pass --force\n');
    assert.ok(await exists(owned[0] ?? ''));
  });

  it('uninstall mesh removes what install created and takes namespaces out of the mesh; the CRDs and namespace stay', async () => {
    const { code, stdout, stderr } = await osm(['uninstall', 'mesh', '-f'], env());
    assert.equal(code, 0, stderr);
    assert.match(stdout, /OSM \[mesh name: osm\] in namespace \[osm-system\] uninstalled/);
    assert.match(stdout, /Namespace \[bookstore\] successfully removed from mesh \[osm\]/);
    for (const path of owned) assert.ok(!(await exists(path)), `${path} deleted`);
    const ns = await rest.ok('GET', '/api/v1/namespaces/bookstore');
    assert.equal((ns['metadata'] as { labels: Record<string, string> }).labels['openservicemesh.io/monitored-by'], undefined);
    assert.ok(await exists('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshconfigs.config.openservicemesh.io'));
    assert.ok(await exists('/api/v1/namespaces/osm-system'));
    const again = await osm(['uninstall', 'mesh', '-f'], env());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Did not find mesh \[osm\] in namespace \[osm-system\]/);
  });
});

describe('osm proxy get config_dump', () => {
  const dump = { replica: 'osm-controller-0', connected: true, resources: [{ typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'outbound-listener' }] };
  const asked: string[] = [];
  const controller = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(dump));
  });
  before(async () => {
    await new Promise<void>((r) => controller.listen(0, '127.0.0.1', r));
    await rest.create('/api/v1/namespaces', { metadata: { name: 'shop' } });
    const pod = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'app' }] } });
    await rest.create('/api/v1/namespaces/shop/pods', pod('meshed', { 'osm-proxy-uuid': 'a0b1c2d3-0000-4000-8000-000000000001' }));
    await rest.create('/api/v1/namespaces/shop/pods', pod('plain', {}));
  });
  after(() => controller.close());

  it('asks the controller for the pod and prints its answer', async () => {
    const url = `http://127.0.0.1:${(controller.address() as AddressInfo).port}`;
    const { code, stdout, stderr } = await osm(['proxy', 'get', 'config_dump', 'meshed', '-n', 'shop', '--controller-url', url], env());
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), dump);
    assert.deepEqual(asked, ['/debug/config_dump?pod=shop%2Fmeshed']);
  });

  // The API server's pod proxy refuses loopback pod IPs ("address not allowed"), so the replicas are
  // servers on this machine's first non-loopback IPv4 address, which the pods report as their podIP.
  const hostAddress = Object.values(networkInterfaces())
    .flat()
    .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
  it('without --controller-url asks each osm-controller replica through the API server and prints the one the proxy is connected to', { skip: hostAddress ? false : 'this machine has no non-loopback IPv4 address for a pod IP' }, async () => {
    const replicaAsked: Record<string, string[]> = { 'osm-controller-a': [], 'osm-controller-b': [] };
    const replica = (name: string, connected: boolean) =>
      createServer((req, res) => {
        replicaAsked[name]?.push(req.url ?? '');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ...dump, replica: name, connected }));
      });
    const servers = [replica('osm-controller-a', false), replica('osm-controller-b', true)];
    try {
      await rest.create('/api/v1/namespaces', { metadata: { name: 'replicas-system' } });
      for (const [i, server] of servers.entries()) {
        await new Promise<void>((r) => server.listen(0, hostAddress, r));
        const name = i === 0 ? 'osm-controller-a' : 'osm-controller-b';
        const port = (server.address() as AddressInfo).port;
        await rest.create('/api/v1/namespaces/replicas-system/pods', { metadata: { name, labels: { app: 'osm-controller' } }, spec: { containers: [{ name: 'osm-controller', image: 'c', ports: [{ name: 'admin', containerPort: port }] }] } });
        await rest.call('PATCH', `/api/v1/namespaces/replicas-system/pods/${name}/status`, { status: { podIP: hostAddress, podIPs: [{ ip: hostAddress }] } }, 'application/merge-patch+json');
      }
      const { code, stdout, stderr } = await osm(['proxy', 'get', 'config_dump', 'meshed', '-n', 'shop', '--osm-namespace', 'replicas-system'], env());
      assert.equal(code, 0, stderr);
      assert.deepEqual(JSON.parse(stdout), { ...dump, replica: 'osm-controller-b', connected: true });
      assert.deepEqual(replicaAsked, { 'osm-controller-a': ['/debug/config_dump?pod=shop%2Fmeshed'], 'osm-controller-b': ['/debug/config_dump?pod=shop%2Fmeshed'] });
      // Without the replica the proxy is connected to: one line naming what was asked.
      await rest.call('DELETE', '/api/v1/namespaces/replicas-system/pods/osm-controller-b?gracePeriodSeconds=0');
      const alone = await osm(['proxy', 'get', 'config_dump', 'meshed', '-n', 'shop', '--osm-namespace', 'replicas-system'], env());
      assert.equal(alone.code, 1);
      assert.equal(alone.stderr, 'Error: proxy of pod shop/meshed is not connected to any of the 1 osm-controller replicas in replicas-system\n');
    } finally {
      for (const server of servers) server.close();
    }
  });

  const refused: [string[], RegExp][] = [
    [['proxy', 'get', 'config_dump', 'plain', '-n', 'shop'], /^Error: Pod shop\/plain is not a part of the mesh: it has no osm-proxy-uuid label\n$/],
    [['proxy', 'get', 'config_dump', 'gone', '-n', 'shop'], /^Error: Could not get pod shop\/gone: HTTP 404: pods "gone" not found\n$/],
    [['proxy', 'get', 'config_dump', 'meshed', '-n', 'shop'], /^Error: no osm-controller pods in namespace osm-system: is the mesh installed there \(--osm-namespace\)\?\n$/],
    [['proxy', 'get', 'clusters', 'meshed', '-n', 'shop'], /^Error: query "clusters" is not supported: allowed queries are config_dump\n$/],
  ];
  for (const [args, message] of refused) {
    it(`${args.join(' ')}: one line and an exit code`, async () => {
      const { code, stderr } = await osm(args, env());
      assert.notEqual(code, 0);
      assert.match(stderr, message);
    });
  }
});

describe('RBAC of each component', () => {
  const ns = 'rbac-system';
  before(async () => {
    const r = await osm(['install', '--wait=false', '--mesh-name', 'rbac', '--osm-namespace', ns], env());
    assert.equal(r.code, 0, r.stderr);
    await rest.create('/api/v1/namespaces', { metadata: { name: 'app', labels: { [monitoredByLabel]: 'rbac' }, annotations: { 'openservicemesh.io/sidecar-injection': 'enabled' } } });
  });

  /**
   * The HTTP status of a request made as system:serviceaccount:rbac-system:<sa>. Settled on the
   * response headers: authorization is decided before anything else, and a watch need not run.
   */
  async function as(sa: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<number> {
    const opts: { headers?: Record<string, string> } = {};
    await api.kubeConfig.applyToHTTPSOptions(opts as never);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(api.url + path),
        {
          ...opts,
          method,
          headers: {
            ...(opts.headers ?? {}),
            'Impersonate-User': `system:serviceaccount:${ns}:${sa}`,
            'Impersonate-Group': ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] as unknown as string,
            ...(payload ? { 'Content-Type': contentType } : {}),
          },
        },
        (res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', (err) => {
        if (!req.destroyed) reject(err);
      });
      req.end(payload);
    });
  }
  const allowed = (status: number): boolean => status !== 401 && status !== 403;
  const secret = (namespace: string, name = 'probe') => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } });
  const webhook = (name: string) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name } });
  const event = { metadata: { name: 'e1', namespace: 'app' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'app' }, reason: 'R', message: 'm', type: 'Warning' };
  const crd = async (name: string): Promise<unknown> => {
    const objects = await render([], { meshName: 'rbac', namespace: ns });
    const found = objects.find((o) => o.kind === 'CustomResourceDefinition' && o.metadata?.name === name);
    return found ?? { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name }, spec: { group: 'example.com', names: { plural: 'foos', kind: 'Foo' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] } };
  };
  type Check = [string, string, string, unknown?, string?];
  const query = (path: string, q: string) => `${path}${path.includes('?') ? '&' : '?'}${q}`;
  const dry = (path: string) => query(path, 'dryRun=All');
  const ssa = (path: string) => dry(`${path}?fieldManager=rbac-test&force=true`);
  const APPLY = 'application/apply-patch+yaml';
  const MERGE = 'application/merge-patch+json';
  // An informer's requests: a list, then a watch from its resourceVersion.
  const listAndWatch = (what: string, path: string): Check[] => [
    [`list ${what}`, 'GET', query(path, 'limit=1')],
    [`watch ${what}`, 'GET', query(path, 'watch=true')],
  ];
  // A namespace that joins the mesh is listed on its own by each namespaced informer (Informer.resync).
  const inNamespace = (path: string, namespace: string) => path.replace(/\/([^/]+)$/, `/namespaces/${namespace}/$1`);
  const meshConfigs = query(kindPaths.meshConfigs(ns), `fieldSelector=metadata.name%3D${meshConfigName}`);
  const rootSecret = `/api/v1/namespaces/${ns}/secrets/osm-ca-bundle`;
  const ownWebhook = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-rbac';

  // What each app does, from the code that does it: the controller's informers are @osm/k8s-informers'
  // kindPaths (every watched kind), the injector's are namespaces and the MeshConfig (apps/injector/src/kube.ts)
  // plus its sweep (apps/injector/src/sweep.ts), ca-bootstrap's are in apps/ca-bootstrap/src/bootstrap.ts.
  const cases: Record<string, { allow: Check[]; refuse: Check[] }> = {
    'osm-controller': {
      allow: [
        ...Object.entries(kindPaths).flatMap(([kind, path]) => (typeof path === 'string' ? listAndWatch(`${kind} cluster-wide`, path) : [])),
        ...namespacedKinds.map((kind): Check => [`list ${kind} in a namespace that joins the mesh`, 'GET', inNamespace(kindPaths[kind], 'app')]),
        ...listAndWatch('the MeshConfig', meshConfigs),
        ['read the root CA Secret', 'GET', rootSecret],
        ['create the root CA Secret', 'POST', dry(`/api/v1/namespaces/${ns}/secrets`), secret(ns)],
        ['record an Event in a meshed namespace', 'POST', dry('/api/v1/namespaces/app/events'), event],
        ['aggregate into an Event (patch its count)', 'PATCH', dry('/api/v1/namespaces/app/events/e1'), { count: 2 }, MERGE],
      ],
      refuse: [
        ['list Secrets cluster-wide', 'GET', '/api/v1/secrets'],
        ['list Secrets in its namespace', 'GET', `/api/v1/namespaces/${ns}/secrets`],
        ['read another Secret in its namespace', 'GET', `/api/v1/namespaces/${ns}/secrets/other`],
        ['read a Secret in a meshed namespace', 'GET', '/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x'],
        ['create a Secret in a meshed namespace', 'POST', dry('/api/v1/namespaces/app/secrets'), secret('app')],
        ['write the webhook configuration', 'PATCH', ssa(ownWebhook), webhook('osm-webhook-rbac'), APPLY],
        ['change the MeshConfig', 'PATCH', `/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs/osm-mesh-config`, {}, MERGE],
        ['list MeshConfigs of another namespace', 'GET', kindPaths.meshConfigs('app')],
        ['delete a pod', 'DELETE', dry('/api/v1/namespaces/app/pods/p')],
      ],
    },
    'osm-injector': {
      allow: [
        ...listAndWatch('namespaces', kindPaths.namespaces),
        ['list one namespace by name (one not yet in its cache)', 'GET', query(kindPaths.namespaces, 'fieldSelector=metadata.name%3Dapp')],
        ...listAndWatch('the MeshConfig', meshConfigs),
        ['create a bootstrap Secret in a meshed namespace', 'POST', dry('/api/v1/namespaces/app/secrets'), secret('app', 'envoy-bootstrap-config-x')],
        // The sweep: the bootstrap Secrets not yet owned by their pod, the pods of a proxy uuid, adoption, orphans.
        ['list bootstrap Secrets cluster-wide (by label)', 'GET', `/api/v1/secrets?labelSelector=${proxyUuidLabel}`],
        ['list the pods of a proxy uuid', 'GET', `/api/v1/namespaces/app/pods?labelSelector=${proxyUuidLabel}%3Dx`],
        ['make the pod the owner of a bootstrap Secret (server-side apply)', 'PATCH', ssa('/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x'), secret('app', 'envoy-bootstrap-config-x'), APPLY],
        ['delete a bootstrap Secret', 'DELETE', dry('/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x')],
        ['read the root CA Secret', 'GET', rootSecret],
        ['create the root CA Secret', 'POST', dry(`/api/v1/namespaces/${ns}/secrets`), secret(ns)],
        ['apply its webhook configuration (a create by name the first time)', 'PATCH', ssa(ownWebhook), webhook('osm-webhook-rbac'), APPLY],
      ],
      refuse: [
        ['watch Secrets', 'GET', '/api/v1/secrets?watch=true'],
        ['read a Secret by name (the sweep lists, nothing reads one back)', 'GET', '/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x'],
        ['read another Secret in its namespace', 'GET', `/api/v1/namespaces/${ns}/secrets/other`],
        ['replace a Secret (update)', 'PUT', dry('/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x'), secret('app', 'envoy-bootstrap-config-x')],
        ['watch pods', 'GET', '/api/v1/pods?watch=true'],
        ['read a pod', 'GET', '/api/v1/namespaces/app/pods/p'],
        ["apply another mesh's webhook configuration", 'PATCH', ssa('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-other'), webhook('osm-webhook-other'), APPLY],
        ['create a webhook configuration of any name', 'POST', dry('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'), webhook('osm-webhook-other')],
        ['read its webhook configuration (it only applies it)', 'GET', ownWebhook],
        ['delete its webhook configuration', 'DELETE', dry(ownWebhook)],
        ['touch a validating webhook configuration of its name', 'PATCH', ssa('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/osm-webhook-rbac'), { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'osm-webhook-rbac' } }, APPLY],
        ['record an Event (it records none)', 'POST', dry('/api/v1/namespaces/app/events'), event],
        ['change the MeshConfig', 'PATCH', `/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs/osm-mesh-config`, {}, MERGE],
      ],
    },
    'osm-bootstrap': {
      allow: [
        ['read the root CA Secret', 'GET', rootSecret],
        ['create the root CA Secret', 'POST', dry(`/api/v1/namespaces/${ns}/secrets`), secret(ns)],
        ['create the MeshConfig', 'POST', dry(`/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs`), { apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { name: 'osm-mesh-config-2' } }],
        ['read the MeshConfig', 'GET', `/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs/osm-mesh-config`],
      ],
      refuse: [
        ['list Secrets cluster-wide', 'GET', '/api/v1/secrets'],
        ['read another Secret', 'GET', `/api/v1/namespaces/${ns}/secrets/other`],
        ['list pods', 'GET', '/api/v1/pods'],
        ['create a CRD of any name', 'POST', dry('/apis/apiextensions.k8s.io/v1/customresourcedefinitions'), { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'foos.example.com' } }],
        ['change the MeshConfig', 'PATCH', `/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs/osm-mesh-config`, {}, MERGE],
      ],
    },
  };

  it('osm-bootstrap may apply the CRDs of the chart by name, and no other CRD', async () => {
    const objects = await render([], { meshName: 'rbac', namespace: ns });
    const ours = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.equal(ours.length, 5);
    for (const o of ours) {
      const status = await as('osm-bootstrap', 'PATCH', ssa(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${o.metadata?.name ?? ''}`), o, APPLY);
      assert.ok(allowed(status), `${o.metadata?.name}: HTTP ${status}`);
    }
    const other = await crd('foos.example.com');
    assert.equal(await as('osm-bootstrap', 'PATCH', ssa('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/foos.example.com'), other, APPLY), 403);
    assert.equal(await as('osm-controller', 'PATCH', ssa('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshconfigs.config.openservicemesh.io'), await crd('meshconfigs.config.openservicemesh.io'), APPLY), 403);
  });

  for (const [sa, { allow, refuse }] of Object.entries(cases)) {
    for (const [what, method, path, body, contentType] of allow) {
      it(`${sa} may ${what}`, async () => {
        const status = await as(sa, method, path, body, contentType);
        assert.ok(allowed(status), `${method} ${path}: HTTP ${status}`);
      });
    }
    for (const [what, method, path, body, contentType] of refuse) {
      it(`${sa} may not ${what}`, async () => assert.equal(await as(sa, method, path, body, contentType), 403, `${method} ${path}`));
    }
  }

  // The table above is what we think each app does; running the apps with nothing but their
  // ServiceAccount's token shows that it is all they do: a request the RBAC refuses leaves them not ready
  // (informers, root CA, webhook configuration) or shows as a failed admission or sweep.
  describe('each app runs with only its ServiceAccount token', () => {
    const running: ComponentProcess[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'osm-rbac-'));
    after(async () => {
      await Promise.all(running.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
    });

    /** A kubeconfig file holding a token of the ServiceAccount (TokenRequest), as a pod would have. */
    async function kubeconfigOf(sa: string): Promise<string> {
      const review = await rest.ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { spec: { expirationSeconds: 3600 } });
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'test', server: api.url, caData: Buffer.from(api.caPem).toString('base64'), skipTLSVerify: false }],
        users: [{ name: sa, token: (review['status'] as { token: string }).token }],
        contexts: [{ name: sa, cluster: 'test', user: sa }],
        currentContext: sa,
      });
      const path = join(dir, `${sa}.kubeconfig`);
      writeFileSync(path, kc.exportConfig());
      return path;
    }
    async function start(app: AppName, sa: string, args: string[]): Promise<ComponentProcess> {
      const p = new ComponentProcess(app, { kubeconfigPath: await kubeconfigOf(sa), args: ['--osm-namespace', ns, ...args], name: `${app} as ${sa}` });
      running.push(p);
      await p.ready();
      return p;
    }
    const forbidden = (p: ComponentProcess): string[] => p.logs.filter((l) => /forbidden|"code":403\b/i.test(JSON.stringify(l))).map((l) => JSON.stringify(l));

    it("ca-bootstrap as osm-bootstrap applies the CRDs, creates the root CA, and creates the MeshConfig the chart renders with its default values", async () => {
      // The chart's copy goes; ca-bootstrap must create its own default, which must be the chart's preset.
      await rest.call('DELETE', `/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs/${meshConfigName}`);
      const p = await start('ca-bootstrap', 'osm-bootstrap', []);
      assert.equal((await p.waitForLog((l) => l.msg === 'root CA ready'))['created'], true);
      assert.ok(p.logs.some((l) => l.msg === 'default MeshConfig created'), p.tail());
      const created = await rest.ok('GET', `/apis/config.openservicemesh.io/v1alpha2/namespaces/${ns}/meshconfigs/${meshConfigName}`);
      const preset = find(await render([], { meshName: 'rbac', namespace: ns }), 'MeshConfig', meshConfigName);
      assert.deepEqual(created['spec'], preset.spec, "ca-bootstrap's default MeshConfig is the chart's preset with default values");
      assert.deepEqual(forbidden(p), []);
      await p.stop();
    });

    it('the controller as osm-controller syncs every informer and loads the root CA', async () => {
      const p = await start('controller', 'osm-controller', ['--mesh-name', 'rbac']);
      assert.deepEqual(forbidden(p), []);
      await p.stop();
    });

    it('the injector as osm-injector applies its webhook configuration, writes the bootstrap Secret of an admitted pod, and sweeps: adopts it, deletes an orphan', async () => {
      const port = await freePort();
      const p = await start('injector', 'osm-injector', ['--mesh-name', 'rbac', '--webhook-port', String(port), '--webhook-url', `https://127.0.0.1:${port}/mutate-pod-creation`, '--sweep-interval', '1s', '--orphan-grace', '1s', '--drain-delay', '0s']);
      const created = await rest.call('POST', '/api/v1/namespaces/app/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'app' }] } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const uuid = (created.body as { metadata: { labels: Record<string, string> } }).metadata.labels[proxyUuidLabel] ?? '';
      assert.ok(uuid, 'the pod was injected');
      const orphanUuid = '00000000-0000-4000-8000-00000000dead';
      await rest.create('/api/v1/namespaces/app/secrets', { metadata: { name: `envoy-bootstrap-config-${orphanUuid}`, labels: bootstrapSecretLabels('rbac', orphanUuid) } });
      await eventually('the sweep made the pod own its bootstrap Secret', async () => {
        const s = await rest.ok('GET', `/api/v1/namespaces/app/secrets/envoy-bootstrap-config-${uuid}`);
        return ((s['metadata'] as { ownerReferences?: { name: string }[] }).ownerReferences ?? []).some((o) => o.name === 'web');
      });
      await eventually('the sweep deleted the orphan', async () => (await rest.call('GET', `/api/v1/namespaces/app/secrets/envoy-bootstrap-config-${orphanUuid}`)).status === 404);
      assert.deepEqual(forbidden(p), []);
      assert.ok(!p.logs.some((l) => String(l.msg).includes('failed; trying again')), p.tail());
      await p.stop();
      // Its webhook configuration (failure policy Fail) outlives it: nothing else here may create pods in app.
      await rest.call('DELETE', ownWebhook);
      await rest.call('DELETE', '/api/v1/namespaces/app/pods/web');
    });
  });
});

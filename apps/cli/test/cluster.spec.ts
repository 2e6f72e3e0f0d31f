// The chart and the osm command against a real kube-apiserver (no kubelet or controller-manager, so
// pods never run): every HPA/PDB combination accepted by server-side dry-run, --dry-run output applied,
// install/uninstall, namespace membership, proxy config dumps, and each component's RBAC.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serverSideApply } from '@osm/k8s-writes';
import { KubeRest, startKubeApiServer, type KubeApiServer } from '@osm/testing';
import { renderChart } from '../src/helm.ts';
import { parseManifests } from '../src/manifests.ts';
import { osm, render, testHelm } from './cli.ts';

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

describe('RBAC of each component, impersonating its ServiceAccount', () => {
  before(async () => {
    const r = await osm(['install', '--wait=false', '--mesh-name', 'rbac', '--osm-namespace', 'rbac-system'], env());
    assert.equal(r.code, 0, r.stderr);
    await rest.create('/api/v1/namespaces', { metadata: { name: 'app', labels: { 'openservicemesh.io/monitored-by': 'rbac' } } });
  });

  /** The HTTP status of a request made as system:serviceaccount:rbac-system:<sa>. */
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
            'Impersonate-User': `system:serviceaccount:rbac-system:${sa}`,
            'Impersonate-Group': ['system:serviceaccounts', 'system:serviceaccounts:rbac-system', 'system:authenticated'] as unknown as string,
            ...(payload ? { 'Content-Type': contentType } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
  const allowed = (status: number): boolean => status !== 401 && status !== 403;
  const secret = (namespace: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'probe', namespace } });
  const webhook = (name: string) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name } });
  const crd = async (name: string): Promise<unknown> => {
    const objects = await render([], { meshName: 'rbac', namespace: 'rbac-system' });
    const found = objects.find((o) => o.kind === 'CustomResourceDefinition' && o.metadata?.name === name);
    return found ?? { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name }, spec: { group: 'example.com', names: { plural: 'foos', kind: 'Foo' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] } };
  };
  type Check = [string, string, string, unknown?, string?];
  const dry = (path: string) => `${path}${path.includes('?') ? '&' : '?'}dryRun=All`;
  const ssa = (path: string) => dry(`${path}?fieldManager=rbac-test&force=true`);

  const cases: Record<string, { allow: Check[]; refuse: Check[] }> = {
    'osm-controller': {
      allow: [
        ['list pods everywhere', 'GET', '/api/v1/pods'],
        ['watch endpointslices', 'GET', '/apis/discovery.k8s.io/v1/endpointslices?watch=true&timeoutSeconds=1'],
        ['list services, serviceaccounts, namespaces', 'GET', '/api/v1/services'],
        ['list traffictargets', 'GET', '/apis/access.smi-spec.io/v1alpha3/traffictargets'],
        ['list trafficsplits', 'GET', '/apis/split.smi-spec.io/v1alpha2/trafficsplits'],
        ['read the MeshConfig', 'GET', '/apis/config.openservicemesh.io/v1alpha2/namespaces/rbac-system/meshconfigs/osm-mesh-config'],
        ['read the root CA Secret', 'GET', '/api/v1/namespaces/rbac-system/secrets/osm-ca-bundle'],
        ['create the root CA Secret', 'POST', dry('/api/v1/namespaces/rbac-system/secrets'), secret('rbac-system')],
        ['record an Event in a meshed namespace', 'POST', dry('/api/v1/namespaces/app/events'), { metadata: { name: 'e1', namespace: 'app' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'app' }, reason: 'R', message: 'm', type: 'Warning' }],
      ],
      refuse: [
        ['list Secrets cluster-wide', 'GET', '/api/v1/secrets'],
        ['list Secrets in its namespace', 'GET', '/api/v1/namespaces/rbac-system/secrets'],
        ['read another Secret in its namespace', 'GET', '/api/v1/namespaces/rbac-system/secrets/other'],
        ['create a Secret in a meshed namespace', 'POST', dry('/api/v1/namespaces/app/secrets'), secret('app')],
        ['write the webhook configuration', 'PATCH', ssa('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-rbac'), webhook('osm-webhook-rbac'), 'application/apply-patch+yaml'],
        ['change the MeshConfig', 'PATCH', '/apis/config.openservicemesh.io/v1alpha2/namespaces/rbac-system/meshconfigs/osm-mesh-config', {}, 'application/merge-patch+json'],
      ],
    },
    'osm-injector': {
      allow: [
        ['read namespaces', 'GET', '/api/v1/namespaces/app'],
        ['create a bootstrap Secret in a meshed namespace', 'POST', dry('/api/v1/namespaces/app/secrets'), secret('app')],
        ['read a bootstrap Secret back by name', 'GET', '/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x'],
        ['apply its webhook configuration', 'PATCH', ssa('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-rbac'), webhook('osm-webhook-rbac'), 'application/apply-patch+yaml'],
        ['read the MeshConfig', 'GET', '/apis/config.openservicemesh.io/v1alpha2/namespaces/rbac-system/meshconfigs/osm-mesh-config'],
        // The sweep of bootstrap Secrets (docs/injection.md): the Secrets not yet owned by their pod, the pods of a proxy uuid.
        ['list Secrets cluster-wide', 'GET', '/api/v1/secrets?labelSelector=osm-proxy-uuid'],
        ['list the pods of a proxy uuid', 'GET', '/api/v1/namespaces/app/pods?labelSelector=osm-proxy-uuid%3Dx'],
        ['delete a bootstrap Secret', 'DELETE', dry('/api/v1/namespaces/app/secrets/envoy-bootstrap-config-x')],
      ],
      refuse: [
        ['watch Secrets', 'GET', '/api/v1/secrets?watch=true&timeoutSeconds=1'],
        ['watch pods', 'GET', '/api/v1/pods?watch=true&timeoutSeconds=1'],
        ["apply another mesh's webhook configuration", 'PATCH', ssa('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/osm-webhook-other'), webhook('osm-webhook-other'), 'application/apply-patch+yaml'],
      ],
    },
    'osm-bootstrap': {
      allow: [
        ['read the root CA Secret', 'GET', '/api/v1/namespaces/rbac-system/secrets/osm-ca-bundle'],
        ['create the root CA Secret', 'POST', dry('/api/v1/namespaces/rbac-system/secrets'), secret('rbac-system')],
        ['create the MeshConfig', 'POST', dry('/apis/config.openservicemesh.io/v1alpha2/namespaces/rbac-system/meshconfigs'), { apiVersion: 'config.openservicemesh.io/v1alpha2', kind: 'MeshConfig', metadata: { name: 'osm-mesh-config-2' } }],
        ['read the MeshConfig', 'GET', '/apis/config.openservicemesh.io/v1alpha2/namespaces/rbac-system/meshconfigs/osm-mesh-config'],
      ],
      refuse: [
        ['list Secrets cluster-wide', 'GET', '/api/v1/secrets'],
        ['read another Secret', 'GET', '/api/v1/namespaces/rbac-system/secrets/other'],
        ['list pods', 'GET', '/api/v1/pods'],
      ],
    },
  };

  it('osm-bootstrap may apply the CRDs of the chart by name, and no other CRD', async () => {
    const ours = await crd('meshconfigs.config.openservicemesh.io');
    assert.ok(allowed(await as('osm-bootstrap', 'PATCH', ssa('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshconfigs.config.openservicemesh.io'), ours, 'application/apply-patch+yaml')));
    const other = await crd('foos.example.com');
    assert.equal(await as('osm-bootstrap', 'PATCH', ssa('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/foos.example.com'), other, 'application/apply-patch+yaml'), 403);
    assert.equal(await as('osm-controller', 'PATCH', ssa('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshconfigs.config.openservicemesh.io'), ours, 'application/apply-patch+yaml'), 403);
  });

  for (const [sa, { allow, refuse }] of Object.entries(cases)) {
    for (const [what, method, path, body, contentType] of allow) {
      it(`${sa} may ${what}`, async () => {
        const status = await as(sa, method, path, body, contentType);
        assert.ok(allowed(status), `${method} ${path}: HTTP ${status}`);
      });
    }
    for (const [what, method, path, body, contentType] of refuse) {
      it(`${sa} may not ${what}`, async () => assert.equal(await as(sa, method, path, body, contentType), 403));
    }
  }
});

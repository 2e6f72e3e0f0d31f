// The chart as Helm renders it (no cluster): lint, the defaults a broken template would lose, HPA and
// PDB from their values, warnings, the optional monitoring objects, and values refused by the schema.
import assert from 'node:assert/strict';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadYaml, type KubernetesObject } from '@kubernetes/client-node';
import { chartDir, runHelm } from '../src/helm.ts';
import { warnings } from '../src/manifests.ts';
import { find, osm, render, testHelm } from './cli.ts';

interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; podAffinityTerm: { topologyKey: string; labelSelector: { matchExpressions: { key: string; values: string[] }[] } } }[] } };
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
  containers: {
    args: string[];
    readinessProbe: { httpGet: { path: string; port: string } };
    livenessProbe: { httpGet: { path: string; port: string } };
    ports: { name: string; containerPort: number }[];
    securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
    lifecycle?: { preStop?: { sleep?: { seconds: number } } };
    resources?: unknown;
  }[];
}
interface Template {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: PodSpec;
}

const components = [
  { key: 'osmController', name: 'osm-controller' },
  { key: 'injector', name: 'osm-injector' },
] as const;

describe('chart deploy/chart/osm', () => {
  before(async () => {
    await testHelm();
  });

  it('passes helm lint (strict)', async () => {
    const { code, stdout, stderr } = await runHelm(await testHelm(), ['lint', '--strict', chartDir]);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders each component with probes, labels, scrape annotations, non-root read-only pods and preferred anti-affinity by default', async () => {
    const objects = await render();
    for (const name of ['osm-controller', 'osm-injector', 'osm-bootstrap']) {
      const deployment = find(objects, 'Deployment', name);
      const template = deployment.spec?.['template'] as Template;
      const [container] = template.spec.containers;
      assert.ok(container);
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/livez', port: 'admin' });
      assert.ok(container.ports.some((p) => p.name === 'admin' && p.containerPort === 9091));
      assert.deepEqual(
        { scrape: template.metadata.annotations['prometheus.io/scrape'], port: template.metadata.annotations['prometheus.io/port'], path: template.metadata.annotations['prometheus.io/path'] },
        { scrape: 'true', port: '9091', path: '/metrics' },
      );
      for (const label of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by']) {
        assert.ok(template.metadata.labels[label], `${name} pod label ${label}`);
        assert.ok(deployment.metadata?.labels?.[label], `${name} label ${label}`);
      }
      assert.equal(template.metadata.labels['app'], name);
      assert.equal(template.spec.serviceAccountName, name);
      assert.equal(template.spec.securityContext?.['runAsNonRoot'], true);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      const [term] = template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      assert.equal(term?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname', `${name}: preferred anti-affinity on the host name`);
      assert.deepEqual(term.podAffinityTerm.labelSelector.matchExpressions[0]?.values, [name]);
      assert.equal(template.spec.topologySpreadConstraints, undefined, 'spread constraints only on request');
      assert.equal(deployment.spec?.['replicas'], 1);
      find(objects, 'Service', name);
      find(objects, 'ServiceAccount', name);
    }
    const controller = (find(objects, 'Deployment', 'osm-controller').spec?.['template'] as Template).spec.containers[0];
    assert.ok(controller?.args.includes('--ads-port=15128'));
    assert.deepEqual(controller?.lifecycle?.preStop?.sleep, { seconds: 5 });
    const injector = (find(objects, 'Deployment', 'osm-injector').spec?.['template'] as Template).spec.containers[0];
    assert.ok(injector?.args.includes('--webhook-config-name=osm-webhook-osm'));
    assert.ok(injector?.args.includes('--webhook-port=9090'));
    assert.ok(!objects.some((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'PodDisruptionBudget'), 'no HPA or PDB by default');
  });

  it("renders OSM's MeshConfig preset (permissive mode and egress on) and the CRDs", async () => {
    const objects = await render();
    const meshConfig = find(objects, 'MeshConfig', 'osm-mesh-config');
    assert.equal(meshConfig.metadata?.namespace, 'osm-system');
    const traffic = meshConfig.spec?.['traffic'] as Record<string, unknown>;
    assert.equal(traffic['enablePermissiveTrafficPolicyMode'], true);
    assert.equal(traffic['enableEgress'], true);
    // OSM's feature flags, as its preset writes them: OSM's values files and --set lines keep working.
    assert.deepEqual(meshConfig.spec?.['featureFlags'], {
      enableWASMStats: true,
      enableSnapshotCacheMode: false,
      enableAsyncProxyServiceMapping: false,
      enableIngressBackendPolicy: true,
      enableEnvoyActiveHealthChecks: false,
      enableRetryPolicy: false,
      enableMeshRootCertificate: false,
    });
    const flagged = find(await render(['osm.featureFlags.enableRetryPolicy=true', 'osm.featureFlags.enableSPIFFE=true']), 'MeshConfig', 'osm-mesh-config');
    assert.equal((flagged.spec?.['featureFlags'] as Record<string, unknown>)['enableRetryPolicy'], true);
    assert.deepEqual(
      objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name).sort(),
      ['httproutegroups.specs.smi-spec.io', 'meshconfigs.config.openservicemesh.io', 'tcproutes.specs.smi-spec.io', 'trafficsplits.split.smi-spec.io', 'traffictargets.access.smi-spec.io'],
    );
  });

  for (const { key, name } of components) {
    it(`${key}: autoScale renders an autoscaling/v2 HPA with its bounds and targets, and leaves replicas to it`, async () => {
      const objects = await render([`osm.${key}.autoScale.enable=true`, `osm.${key}.autoScale.minReplicas=2`, `osm.${key}.autoScale.maxReplicas=7`, `osm.${key}.autoScale.cpu.targetAverageUtilization=65`, `osm.${key}.autoScale.memory.targetAverageUtilization=75`]);
      const hpa = find(objects, 'HorizontalPodAutoscaler', `${name}-hpa`);
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.deepEqual(hpa.spec?.['scaleTargetRef'], { apiVersion: 'apps/v1', kind: 'Deployment', name });
      assert.equal(hpa.spec?.['minReplicas'], 2);
      assert.equal(hpa.spec?.['maxReplicas'], 7);
      const targets = (hpa.spec?.['metrics'] as { resource: { name: string; target: { type: string; averageUtilization: number } } }[]).map((m) => [m.resource.name, m.resource.target.type, m.resource.target.averageUtilization]);
      assert.deepEqual(targets, [['cpu', 'Utilization', 65], ['memory', 'Utilization', 75]]);
      assert.equal(find(objects, 'Deployment', name).spec?.['replicas'], undefined, 'the HPA owns the replica count');
      assert.equal(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 1, 'only this component scales');
    });

    it(`${key}: enablePodDisruptionBudget renders a policy/v1 PDB keeping one pod, selecting exactly the component's pods`, async () => {
      const objects = await render([`osm.${key}.enablePodDisruptionBudget=true`, `osm.${key}.replicaCount=3`]);
      const pdb = find(objects, 'PodDisruptionBudget', `${name}-pdb`);
      assert.equal(pdb.apiVersion, 'policy/v1');
      assert.equal(pdb.spec?.['minAvailable'], 1);
      const deployment = find(objects, 'Deployment', name);
      const selector = (pdb.spec?.['selector'] as { matchLabels: Record<string, string> }).matchLabels;
      assert.deepEqual(selector, (deployment.spec?.['selector'] as { matchLabels: Record<string, string> }).matchLabels);
      const podLabels = (deployment.spec?.['template'] as Template).metadata.labels;
      for (const other of objects.filter((o) => o.kind === 'Deployment' && o.metadata?.name !== name)) {
        const otherLabels = (find(objects, 'Deployment', other.metadata?.name ?? '').spec?.['template'] as Template).metadata.labels;
        assert.ok(!Object.entries(selector).every(([k, v]) => otherLabels[k] === v), `the PDB must not select ${other.metadata?.name}`);
      }
      assert.ok(Object.entries(selector).every(([k, v]) => podLabels[k] === v));
      assert.deepEqual(warnings(objects), [], 'three replicas: drains can proceed');
    });

    it(`${key}: a PDB with one replica and no autoscaling warns that drains will block`, async () => {
      const objects = await render([`osm.${key}.enablePodDisruptionBudget=true`]);
      const [warning, ...more] = warnings(objects);
      assert.equal(more.length, 0);
      assert.match(warning ?? '', new RegExp(`PodDisruptionBudget ${name}-pdb keeps 1 pod of ${name} available and ${name} runs 1 replica: node drains will block`));
      const cli = await osm(['install', '--dry-run', `--set=osm.${key}.enablePodDisruptionBudget=true`]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stderr, new RegExp(`warning: PodDisruptionBudget ${name}-pdb .* node drains will block`));
    });
  }

  it('each container takes its resources from osm.<component>.resource: the defaults of values.yaml, and what --set changes', async () => {
    type Resources = { limits: Record<string, string>; requests: Record<string, string> };
    const values = loadYaml<{ osm: Record<string, { resource: Resources }> }>(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
    const resourcesOf = (objects: KubernetesObject[], name: string): unknown => (find(objects, 'Deployment', name).spec?.['template'] as Template).spec.containers[0]?.resources;
    const all = [...components, { key: 'osmBootstrap', name: 'osm-bootstrap' }] as const;
    const defaults = await render();
    for (const { key, name } of all) assert.deepEqual(resourcesOf(defaults, name), values.osm[key]?.resource, `${name}: the defaults of osm.${key}.resource`);
    // A different change per component, so a template that reads another component's values fails.
    const changes: Record<string, Resources> = {
      osmController: { limits: { cpu: '2500m', memory: '2Gi' }, requests: { cpu: '750m', memory: '1Gi' } },
      injector: { limits: { cpu: '800m', memory: '512Mi' }, requests: { cpu: '200m', memory: '64Mi' } },
      osmBootstrap: { limits: { cpu: '250m', memory: '96Mi' }, requests: { cpu: '50m', memory: '32Mi' } },
    };
    const set = Object.entries(changes).flatMap(([key, r]) => Object.entries(r).flatMap(([kind, q]) => Object.entries(q).map(([resource, v]) => `osm.${key}.resource.${kind}.${resource}=${v}`)));
    const changed = await render(set);
    for (const { key, name } of all) assert.deepEqual(resourcesOf(changed, name), changes[key], name);
  });

  it('topology spread constraints on request, with the component selector filled in', async () => {
    const objects = await render(['osm.osmController.topologySpreadConstraints[0].maxSkew=1', 'osm.osmController.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone', 'osm.osmController.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway']);
    const spread = (find(objects, 'Deployment', 'osm-controller').spec?.['template'] as Template).spec.topologySpreadConstraints;
    assert.equal(spread?.length, 1);
    assert.equal(spread?.[0]?.topologyKey, 'topology.kubernetes.io/zone');
    assert.deepEqual(spread?.[0]?.labelSelector, { matchLabels: { app: 'osm-controller' } });
  });

  it('a ServiceMonitor on request, scraping the admin port of this mesh', async () => {
    assert.ok(!(await render()).some((o) => o.kind === 'ServiceMonitor'));
    const monitor = find(await render(['osm.serviceMonitor.enable=true']), 'ServiceMonitor', 'osm-control-plane');
    assert.deepEqual((monitor.spec?.['endpoints'] as unknown[])[0], { port: 'admin', path: '/metrics', interval: '30s' });
    assert.deepEqual((monitor.spec?.['selector'] as { matchLabels: unknown }).matchLabels, { 'app.kubernetes.io/name': 'openservicemesh.io', 'app.kubernetes.io/instance': 'osm' });
  });

  describe('PrometheusRule from deploy/prometheus/rules.yaml', () => {
    // A copy of the chart whose files/prometheus is a folder of its own (not the link into deploy/), so
    // the test controls the rules file and never touches the repository's.
    const copy = mkdtempSync(join(tmpdir(), 'osm-chart-'));
    after(() => rmSync(copy, { recursive: true, force: true }));
    const renderCopy = async (rules: string | undefined): Promise<string> => {
      rmSync(join(copy, 'osm'), { recursive: true, force: true });
      cpSync(chartDir, join(copy, 'osm'), { recursive: true, filter: (src) => src !== join(chartDir, 'files/prometheus') });
      mkdirSync(join(copy, 'osm/files/prometheus'));
      assert.ok(!lstatSync(join(copy, 'osm/files/prometheus')).isSymbolicLink());
      if (rules !== undefined) writeFileSync(join(copy, 'osm/files/prometheus/rules.yaml'), rules);
      const { code, stdout, stderr } = await runHelm(await testHelm(), ['template', 'osm', join(copy, 'osm'), '--set', 'osm.prometheusRule.enable=true', '--show-only', 'templates/prometheusrule.yaml']);
      return code === 0 ? stdout : stderr;
    };

    it('renders nothing when the file is missing or empty', async () => {
      assert.match(await renderCopy(undefined), /could not find template templates\/prometheusrule.yaml/);
      assert.match(await renderCopy(''), /could not find template templates\/prometheusrule.yaml/);
    });

    it("renders the repository's rules.yaml unchanged, and nothing without the value", async () => {
      assert.ok(!(await render()).some((o) => o.kind === 'PrometheusRule'));
      const rule = find(await render(['osm.prometheusRule.enable=true']), 'PrometheusRule', 'osm-control-plane');
      const rules = loadYaml<{ groups: unknown[] }>(readFileSync(join(chartDir, 'files/prometheus/rules.yaml'), 'utf8'));
      assert.ok(rules.groups.length > 0);
      assert.deepEqual(rule.spec?.['groups'], rules.groups);
    });

    it('renders the groups of the file', async () => {
      const out = await renderCopy('groups:\n  - name: osm\n    rules:\n      - alert: OsmControllerDown\n        expr: up{app="osm-controller"} == 0\n');
      assert.match(out, /kind: PrometheusRule/);
      assert.match(out, /alert: OsmControllerDown/);
    });
  });

  it('with cert-manager, every component may manage CertificateRequests in its namespace and gets the issuer flags', async () => {
    const objects = await render(['osm.certificateProvider.kind=cert-manager', 'osm.certmanager.issuerName=mesh-ca', 'osm.certmanager.issuerKind=ClusterIssuer']);
    for (const name of ['osm-controller', 'osm-injector', 'osm-bootstrap']) {
      const role = find(objects, 'Role', name) as KubernetesObject & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
      assert.ok(role.rules.some((r) => r.apiGroups.includes('cert-manager.io') && r.resources.includes('certificaterequests') && r.verbs.includes('create')), name);
      const args = (find(objects, 'Deployment', name).spec?.['template'] as Template).spec.containers[0]?.args ?? [];
      assert.ok(args.includes('--certificate-manager=cert-manager') && args.includes('--cert-manager-issuer-name=mesh-ca') && args.includes('--cert-manager-issuer-kind=ClusterIssuer'), `${name}: ${args.join(' ')}`);
    }
    const tresor = await render();
    assert.ok(!JSON.stringify(tresor.filter((o) => o.kind === 'Role')).includes('cert-manager.io'), 'no CertificateRequest rights with Tresor');
  });

  it('control-plane tracing: the OTLP endpoint and sample ratio go to every component, the per-batch bound to the controller; none without an endpoint', async () => {
    const argsOf = (objects: KubernetesObject[], name: string): string[] => (find(objects, 'Deployment', name).spec?.['template'] as Template).spec.containers[0]?.args ?? [];
    const traced = await render(['osm.otlpEndpoint=http://otel-collector.monitoring:4318', 'osm.traceSampleRatio=0.25', 'osm.osmController.traceMaxProxiesPerBatch=500']);
    for (const name of ['osm-controller', 'osm-injector', 'osm-bootstrap']) {
      const args = argsOf(traced, name);
      assert.ok(args.includes('--otlp-endpoint=http://otel-collector.monitoring:4318') && args.includes('--trace-sample-ratio=0.25'), `${name}: ${args.join(' ')}`);
    }
    assert.ok(argsOf(traced, 'osm-controller').includes('--trace-max-proxies-per-batch=500'));
    assert.ok(!argsOf(traced, 'osm-injector').some((a) => a.startsWith('--trace-max-proxies-per-batch')));
    const plain = await render();
    for (const name of ['osm-controller', 'osm-injector', 'osm-bootstrap']) {
      assert.ok(!argsOf(plain, name).some((a) => a.startsWith('--otlp-endpoint') || a.startsWith('--trace-')), name);
    }
  });

  for (const command of [['--help'], ['install', '--help'], ['uninstall', 'mesh', '--help'], ['namespace', '--help'], ['namespace', 'add', '--help'], ['proxy', 'get', '--help'], ['version', '--help']]) {
    it(`osm ${command.join(' ')} prints its usage`, async () => {
      const { code, stdout, stderr } = await osm(command, { KUBECONFIG: '/nonexistent' });
      assert.equal(code, 0, stderr);
      assert.match(stdout, /Usage:\n {2}osm /);
      assert.match(stdout, /-h, --help|osm COMMAND --help/);
    });
  }

  const refused: [string, RegExp][] = [
    ['osm.osmController.autoScale.maxReplicas=11', /osm\.osmController\.autoScale\.maxReplicas: 11 is above the maximum 10 \(allowed range: 1-10\)/],
    ['osm.injector.autoScale.maxReplicas=0', /osm\.injector\.autoScale\.maxReplicas: 0 is below the minimum 1 \(allowed range: 1-10\)/],
    ['osm.osmController.autoScale.minReplicas=0', /osm\.osmController\.autoScale\.minReplicas: 0 is below the minimum 1 \(allowed range: 1-10\)/],
    ['osm.injector.autoScale.minReplicas=11', /osm\.injector\.autoScale\.minReplicas: 11 is above the maximum 10 \(allowed range: 1-10\)/],
    ['osm.osmController.autoScale.cpu.targetAverageUtilization=101', /osm\.osmController\.autoScale\.cpu\.targetAverageUtilization: 101 is above the maximum 100 \(allowed range: 0-100\)/],
    ['osm.injector.autoScale.memory.targetAverageUtilization=-1', /osm\.injector\.autoScale\.memory\.targetAverageUtilization: -1 is below the minimum 0 \(allowed range: 0-100\)/],
    ['osm.osmController.replicaCount=11', /osm\.osmController\.replicaCount: 11 is above the maximum 10 \(allowed range: 1-10\)/],
    ['osm.osmController.autoScale.minReplicas=6', /osm\.osmController\.autoScale\.minReplicas: 6 is above maxReplicas 5: minReplicas must be <= maxReplicas/],
    ['osm.injector.autoscale.enable=true', /osm\.injector: unknown key 'autoscale'/],
    ['osm.injector.failurePolicy=Sometimes', /osm\.injector\.failurePolicy: .*\(allowed values: Fail, Ignore\)/],
    ['osm.traceSampleRatio=2', /osm\.traceSampleRatio: 2 is above the maximum 1/],
    ['osm.traceSampleRatio=1.5', /osm\.traceSampleRatio: '1\.5' does not match .*\(allowed range: 0-1\)/],
  ];
  for (const [set, message] of refused) {
    it(`refuses --set ${set} with one line naming the key and the allowed values`, async () => {
      const { code, stdout, stderr } = await osm(['install', '--dry-run', '--set', set]);
      assert.equal(code, 2);
      assert.equal(stdout, '', 'nothing printed as manifests');
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /^Error: invalid values: /);
      assert.match(stderr, message);
    });
  }
});

// osm install: render the chart with Helm (values checked against its schema first), apply every
// object with server-side apply (CRDs first), then wait, with progress, until each component is ready.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { serverSideApply } from '@osm/k8s-writes';
import { dnsLabelFlag, durationFlag, parse, stringFlag } from './args.ts';
import { CliError } from './errors.ts';
import { helmBinary, renderChart } from './helm.ts';
import { FIELD_MANAGER, type Io } from './io.ts';
import { deploymentReadiness, kubeError, loadKubeConfig, serverVersion, waitForCrds, type Readiness } from './kube.ts';
import { describe, installOrder, parseManifests, toYaml, warnings } from './manifests.ts';

export const installUsage = `Install the osm-ts control plane: the controller, the injector and osm-bootstrap, their RBAC, the
CRDs and the MeshConfig osm-mesh-config, into the control-plane namespace (created if missing).
Every object is applied with server-side apply, so running it again updates the installation.

Usage:
  osm install [flags]

Flags:
      --set key=value          a chart value in Helm's --set syntax (repeatable; key1=v1,key2=v2 allowed)
      --mesh-name NAME         name of the mesh (default osm)
      --osm-namespace NAME     control-plane namespace (default osm-system)
      --dry-run                print the manifests instead of applying them
      --wait                   wait until every component is ready (default true; --wait=false to skip)
      --timeout DURATION       how long to wait, a Go duration (default 5m)
  -h, --help                   this help

Values are checked against the chart's schema before anything is applied.

Examples:
  osm install --set=osm.osmController.autoScale.enable=true --set=osm.osmController.enablePodDisruptionBudget=true
  osm install --mesh-name mesh1 --osm-namespace mesh1-system --dry-run > osm.yaml
`;

export function namespaceObject(name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export async function install(argv: readonly string[], io: Io): Promise<void> {
  const p = parse(
    argv,
    {
      set: { type: 'string', multiple: true },
      'mesh-name': { type: 'string', default: 'osm' },
      'osm-namespace': { type: 'string', default: 'osm-system' },
      'dry-run': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: true },
      timeout: { type: 'string', default: '5m' },
    },
    'osm install',
  );
  if (p.help) return io.out(installUsage);
  if (p.positionals.length > 0) throw new CliError('usage', `osm install takes no arguments (got ${p.positionals.join(' ')}). Run 'osm install --help' for usage`);
  const meshName = dnsLabelFlag('mesh-name', stringFlag(p.values, 'mesh-name'));
  const namespace = dnsLabelFlag('osm-namespace', stringFlag(p.values, 'osm-namespace'));
  const timeoutMs = durationFlag('timeout', stringFlag(p.values, 'timeout'));
  const dryRun = p.values['dry-run'] === true;

  const kc = dryRun ? undefined : loadKubeConfig();
  const kubeVersion = kc ? await serverVersion(kc) : undefined;
  const helm = await helmBinary(io.progress);
  const rendered = await renderChart(helm, { meshName, namespace, set: (p.values['set'] as string[] | undefined) ?? [], ...(kubeVersion ? { kubeVersion } : {}) });
  const objects = installOrder([namespaceObject(namespace), ...parseManifests(rendered)]);
  for (const warning of warnings(objects)) io.progress(`warning: ${warning}`);
  if (dryRun || !kc) return io.out(toYaml(objects));

  const deadline = Date.now() + timeoutMs;
  const isCrd = (o: KubernetesObject): boolean => o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace';
  await apply(kc, objects.filter(isCrd), io);
  await waitForCrds(kc, objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? ''), Date.now() + Math.max(timeoutMs, 60_000));
  await apply(kc, objects.filter((o) => !isCrd(o)), io);
  io.progress(`applied ${objects.length} objects to ${kc.getCurrentCluster()?.server}`);

  const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata?.name ?? '');
  if (p.values['wait'] === true) await waitReady(kc, namespace, deployments, deadline, stringFlag(p.values, 'timeout'), io);
  io.out(`OSM installed successfully in namespace [${namespace}] with mesh name [${meshName}]${p.values['wait'] === true ? '' : ' (not waiting for the components to be ready)'}`);
}

async function apply(kc: KubeConfig, objects: readonly KubernetesObject[], io: Io): Promise<void> {
  for (const object of objects) {
    try {
      await serverSideApply(kc, [object], { fieldManager: FIELD_MANAGER });
    } catch (err) {
      throw kubeError(`applying ${describe(object)}`, err);
    }
    io.progress(`applied ${describe(object)}`);
  }
}

function summary(states: readonly Readiness[]): string {
  return states.map((s) => `${s.name} ${s.ready}/${s.wanted} ready`).join(', ');
}

function hint(states: readonly Readiness[], namespace: string): string {
  if (states.every((s) => s.pods === 0)) return 'no pod was created: is the cluster\'s controller-manager running?';
  const stuck = states.filter((s) => s.ready < s.wanted).map((s) => s.name);
  return `see kubectl get pods -n ${namespace} -l 'app in (${stuck.join(',')})'`;
}

async function waitReady(kc: KubeConfig, namespace: string, names: readonly string[], deadline: number, timeout: string, io: Io): Promise<void> {
  let last = '';
  let lastPrinted = 0;
  for (;;) {
    let states: Readiness[];
    try {
      states = await deploymentReadiness(kc, namespace, names);
    } catch (err) {
      throw kubeError(`reading the Deployments in ${namespace}`, err);
    }
    const line = summary(states);
    if (states.every((s) => s.ready >= s.wanted)) return io.progress(`ready: ${line}`);
    if (Date.now() >= deadline) {
      throw new CliError('timeout', `timed out after ${timeout} waiting for the control plane in ${namespace}: ${line} (${hint(states, namespace)}); the objects stay applied, run osm install again to wait again or osm uninstall mesh to remove them`);
    }
    if (line !== last || Date.now() - lastPrinted > 15_000) {
      io.progress(`waiting: ${line}`);
      last = line;
      lastPrinted = Date.now();
    }
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
  }
}

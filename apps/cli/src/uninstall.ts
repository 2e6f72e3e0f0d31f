// osm uninstall mesh: deletes what osm install can create for a mesh (the chart rendered with every
// optional part on), takes the mesh's namespaces out of it, and on request the cluster-wide
// resources (CRDs, the injector's webhook configuration, the root CA Secret) and the namespace.
import { createInterface } from 'node:readline/promises';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { monitoredByLabel } from '@osm/mesh-model';
import { deleteObjects } from '@osm/k8s-writes';
import { dnsLabelFlag, parse, stringFlag } from './args.ts';
import { CliError } from './errors.ts';
import { helmBinary, renderChart } from './helm.ts';
import type { Io } from './io.ts';
import { kubeError, loadKubeConfig, serverVersion } from './kube.ts';
import { describe, installOrder, parseManifests } from './manifests.ts';
import { namespaceObject } from './install.ts';
import { removeFromMesh } from './namespace.ts';

export const uninstallUsage = `Uninstall a mesh's control plane: its Deployments, Services, autoscalers, disruption budgets,
ServiceAccounts, RBAC and MeshConfig. Namespaces in the mesh are taken out of it (their labels and
annotations removed). Sidecars already injected keep running on their last configuration.

The namespace, the CRDs, the injector's webhook configuration and the root CA Secret stay unless asked:

Usage:
  osm uninstall mesh [flags]

Flags:
      --mesh-name NAME                    name of the mesh (default osm)
      --osm-namespace NAME                control-plane namespace (default osm-system)
  -a, --delete-cluster-wide-resources     also delete the CRDs (every mesh's policies with them), the
                                          webhook configuration and the root CA Secret
      --delete-namespace                  also delete the control-plane namespace
      --ca-bundle-secret-name NAME        the root CA Secret (default osm-ca-bundle)
  -f, --force                             do not ask for confirmation
  -h, --help                              this help
`;

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliError('refused', 'refusing to uninstall without confirmation: stdin is not a terminal, pass --force');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/n]: `)).trim());
  } finally {
    rl.close();
  }
}

export async function uninstall(argv: readonly string[], io: Io): Promise<void> {
  const p = parse(
    argv,
    {
      'mesh-name': { type: 'string', default: 'osm' },
      'osm-namespace': { type: 'string', default: 'osm-system' },
      'delete-cluster-wide-resources': { type: 'boolean', short: 'a', default: false },
      'delete-namespace': { type: 'boolean', default: false },
      'ca-bundle-secret-name': { type: 'string', default: 'osm-ca-bundle' },
      force: { type: 'boolean', short: 'f', default: false },
    },
    'osm uninstall mesh',
  );
  if (p.help) return io.out(uninstallUsage);
  if (p.positionals.length !== 1 || p.positionals[0] !== 'mesh') {
    throw new CliError('usage', `expected 'osm uninstall mesh' (got 'osm uninstall ${p.positionals.join(' ')}'). Run 'osm uninstall mesh --help' for usage`);
  }
  const meshName = dnsLabelFlag('mesh-name', stringFlag(p.values, 'mesh-name'));
  const namespace = dnsLabelFlag('osm-namespace', stringFlag(p.values, 'osm-namespace'));
  const clusterWide = p.values['delete-cluster-wide-resources'] === true;
  const kc = loadKubeConfig();
  const kubeVersion = await serverVersion(kc);
  if (p.values['force'] !== true && !(await confirm(`Uninstall OSM [mesh name: ${meshName}] in namespace [${namespace}]${clusterWide ? ' and the cluster-wide resources' : ''}?`))) {
    return io.out('Uninstall cancelled');
  }

  // Everything any values could have rendered for this mesh name and namespace.
  const everything = ['osmController', 'injector'].flatMap((c) => [`osm.${c}.autoScale.enable=true`, `osm.${c}.enablePodDisruptionBudget=true`]);
  const helm = await helmBinary(io.progress);
  const rendered = parseManifests(await renderChart(helm, { meshName, namespace, ...(kubeVersion ? { kubeVersion } : {}), set: [...everything, 'osm.serviceMonitor.enable=true', 'osm.prometheusRule.enable=true'] }));
  const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition');
  const owned = installOrder(rendered.filter((o) => o.kind !== 'CustomResourceDefinition')).reverse();
  const outcomes = await remove(kc, owned, io);
  if (!outcomes.includes('deleted')) io.out(`Did not find mesh [${meshName}] in namespace [${namespace}]`);
  else io.out(`OSM [mesh name: ${meshName}] in namespace [${namespace}] uninstalled`);

  const core = kc.makeApiClient(CoreV1Api);
  let members;
  try {
    members = await core.listNamespace({ labelSelector: `${monitoredByLabel}=${meshName}` });
  } catch (err) {
    throw kubeError(`listing the namespaces of mesh ${meshName}`, err);
  }
  for (const ns of members.items) io.out(await removeFromMesh(kc, ns.metadata?.name ?? '', meshName));

  if (clusterWide) {
    const webhook = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: `osm-webhook-${meshName}` } };
    const caSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: stringFlag(p.values, 'ca-bundle-secret-name'), namespace } };
    await remove(kc, [webhook, caSecret, ...crds], io, true);
  }
  if (p.values['delete-namespace'] === true) {
    const [outcome] = await remove(kc, [namespaceObject(namespace)], io);
    io.out(outcome === 'deleted' ? `OSM namespace [${namespace}] deleted successfully` : `OSM namespace [${namespace}] not found`);
  }
}

async function remove(kc: KubeConfig, objects: readonly KubernetesObject[], io: Io, report = false): Promise<('deleted' | 'absent')[]> {
  const outcomes: ('deleted' | 'absent')[] = [];
  for (const object of objects) {
    let outcome: 'deleted' | 'absent';
    try {
      [outcome = 'absent'] = await deleteObjects(kc, [object]);
    } catch (err) {
      // A kind the cluster does not serve (ServiceMonitor without the Prometheus Operator) holds nothing to delete.
      if (/Unrecognized API version and kind/i.test((err as Error).message)) outcome = 'absent';
      else throw kubeError(`deleting ${describe(object)}`, err);
    }
    outcomes.push(outcome);
    if (outcome === 'deleted') io.progress(`deleted ${describe(object)}`);
    else if (report) io.progress(`not found: ${describe(object)}`);
  }
  return outcomes;
}

// osm namespace add|remove|list: a namespace joins a mesh by the label openservicemesh.io/monitored-by
// and the sidecar-injection annotation (OSM's cmd/cli/namespace_*.go, same messages).
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { ignoreLabel, metricsAnnotation, monitoredByLabel, sidecarInjectionAnnotation } from '@osm/mesh-model';
import { mergePatch } from '@osm/k8s-writes';
import { dnsLabelFlag, parse, stringFlag } from './args.ts';
import { CliError } from './errors.ts';
import { table, type Io } from './io.ts';
import { kubeError, loadKubeConfig } from './kube.ts';

export const namespaceUsage = `Manage the namespaces of a mesh.

Usage:
  osm namespace add NAMESPACE... [--mesh-name NAME] [--disable-sidecar-injection]
  osm namespace remove NAMESPACE [--mesh-name NAME]
  osm namespace list [--mesh-name NAME]

Flags:
      --mesh-name NAME               name of the mesh (default osm; list: every mesh)
      --disable-sidecar-injection    add: join the mesh without automatic sidecar injection
  -h, --help                         this help
`;

function ns(name: string, labels: Record<string, string | null>, annotations: Record<string, string | null>): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: labels as Record<string, string>, annotations: annotations as Record<string, string> } };
}

async function readNamespace(kc: KubeConfig, name: string, what: string): Promise<V1Namespace> {
  try {
    return await kc.makeApiClient(CoreV1Api).readNamespace({ name });
  } catch (err) {
    throw kubeError(what, err);
  }
}

/** Removes a namespace from a mesh; returns the line to print. Shared with osm uninstall mesh. */
export async function removeFromMesh(kc: KubeConfig, name: string, meshName: string): Promise<string> {
  const current = await readNamespace(kc, name, `Could not get namespace [${name}]`);
  const member = current.metadata?.labels?.[monitoredByLabel];
  if (member === undefined) return `Namespace [${name}] already does not belong to any mesh`;
  if (member !== meshName) throw new CliError('refused', `Namespace belongs to mesh [${member}], not mesh [${meshName}]. Please specify the correct mesh`);
  try {
    await mergePatch(kc, ns(name, { [monitoredByLabel]: null, [ignoreLabel]: null }, { [sidecarInjectionAnnotation]: null, [metricsAnnotation]: null }));
  } catch (err) {
    throw kubeError(`Could not remove namespace [${name}] from mesh [${meshName}]`, err);
  }
  return `Namespace [${name}] successfully removed from mesh [${meshName}]`;
}

async function meshExists(kc: KubeConfig, meshName: string): Promise<boolean> {
  try {
    const list = await kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces({ labelSelector: `app=osm-controller,app.kubernetes.io/instance=${meshName}` });
    return list.items.length > 0;
  } catch (err) {
    throw kubeError(`Cannot obtain information about the mesh [${meshName}]`, err);
  }
}

async function add(kc: KubeConfig, names: readonly string[], meshName: string, disableInjection: boolean, io: Io): Promise<void> {
  if (!(await meshExists(kc, meshName))) throw new CliError('not-found', `mesh [${meshName}] does not exist, please specify another mesh using --mesh-name or create a new mesh`);
  for (const name of names) {
    const current = await readNamespace(kc, name, `Could not add namespace [${name}] to mesh [${meshName}]`);
    const controllers = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: name, labelSelector: 'app=osm-controller' });
    if (controllers.items.length > 0) {
      io.out(`Namespace [${name}] already has [osm-controller] installed and cannot be added to mesh [${meshName}]`);
      continue;
    }
    if (current.metadata?.labels?.[monitoredByLabel] === meshName) {
      io.out(`Namespace [${name}] has already been added to mesh [${meshName}]`);
      continue;
    }
    if (current.metadata?.labels?.[ignoreLabel] === 'true') throw new CliError('refused', `Cannot add ignored namespace [${name}]: it has the label ${ignoreLabel}=true`);
    try {
      await mergePatch(kc, ns(name, { [monitoredByLabel]: meshName }, { [sidecarInjectionAnnotation]: disableInjection ? 'disabled' : 'enabled' }));
    } catch (err) {
      throw kubeError(`Could not add namespace [${name}] to mesh [${meshName}]`, err);
    }
    io.out(`Namespace [${name}] successfully added to mesh [${meshName}]`);
  }
}

async function list(kc: KubeConfig, meshName: string, io: Io): Promise<void> {
  let namespaces;
  try {
    namespaces = await kc.makeApiClient(CoreV1Api).listNamespace({ labelSelector: meshName ? `${monitoredByLabel}=${meshName}` : monitoredByLabel });
  } catch (err) {
    throw kubeError(`Could not list namespaces related to osm [${meshName}]`, err);
  }
  if (namespaces.items.length === 0) return io.out(meshName ? `No namespaces in mesh [${meshName}]` : 'No namespaces in any mesh');
  const rows = [['NAMESPACE', 'MESH', 'SIDECAR-INJECTION']];
  for (const n of namespaces.items) {
    const labels = n.metadata?.labels ?? {};
    const injection = ignoreLabel in labels ? 'disabled (ignored)' : (n.metadata?.annotations?.[sidecarInjectionAnnotation] ?? '-');
    rows.push([n.metadata?.name ?? '', labels[monitoredByLabel] ?? '', injection]);
  }
  io.out(table(rows));
}

export async function namespace(argv: readonly string[], io: Io): Promise<void> {
  const p = parse(argv, { 'mesh-name': { type: 'string' }, 'disable-sidecar-injection': { type: 'boolean', default: false } }, 'osm namespace');
  const [action, ...names] = p.positionals;
  if (p.help || action === undefined) {
    if (p.help) return io.out(namespaceUsage);
    throw new CliError('usage', "osm namespace needs a subcommand: add, remove or list. Run 'osm namespace --help' for usage");
  }
  const given = stringFlag(p.values, 'mesh-name');
  const meshName = given ? dnsLabelFlag('mesh-name', given) : action === 'list' ? '' : 'osm';
  const wantNames = (n: string): void => {
    if (names.length === 0) throw new CliError('usage', `osm namespace ${action} needs ${n}. Run 'osm namespace --help' for usage`);
  };
  switch (action) {
    case 'add':
      wantNames('at least one namespace');
      return add(loadKubeConfig(), names, meshName, p.values['disable-sidecar-injection'] === true, io);
    case 'remove':
      wantNames('a namespace');
      if (names.length > 1) throw new CliError('usage', "osm namespace remove takes one namespace. Run 'osm namespace --help' for usage");
      return io.out(await removeFromMesh(loadKubeConfig(), names[0] ?? '', meshName));
    case 'list':
      if (names.length > 0) throw new CliError('usage', "osm namespace list takes no arguments. Run 'osm namespace --help' for usage");
      return list(loadKubeConfig(), meshName, io);
    default:
      throw new CliError('usage', `unknown subcommand 'osm namespace ${action}': allowed are add, remove, list. Run 'osm namespace --help' for usage`);
  }
}

// osm version: the CLI's version and, when a cluster is reachable, each mesh's (from the label
// app.kubernetes.io/version of its osm-controller Deployment).
import { AppsV1Api } from '@kubernetes/client-node';
import pkg from '../package.json' with { type: 'json' };
import { parse } from './args.ts';
import { table, type Io } from './io.ts';
import { kubeError, loadKubeConfig } from './kube.ts';

export const versionUsage = `Print the osm CLI's version and the version of every mesh in the cluster.

Usage:
  osm version [--client-only]

Flags:
      --client-only   only the CLI's version (no cluster needed)
  -h, --help          this help
`;

export async function version(argv: readonly string[], io: Io): Promise<void> {
  const p = parse(argv, { 'client-only': { type: 'boolean', default: false } }, 'osm version');
  if (p.help) return io.out(versionUsage);
  io.out(`CLI Version: ${pkg.version}`);
  if (p.values['client-only'] === true) return;
  const kc = loadKubeConfig();
  let deployments;
  try {
    deployments = (await kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces({ labelSelector: 'app=osm-controller' })).items;
  } catch (err) {
    throw kubeError('unable to list meshes within the cluster', err);
  }
  if (deployments.length === 0) return io.out('No OSM control planes found');
  const rows = [['MESH NAME', 'MESH NAMESPACE', 'VERSION'], ...deployments.map((d) => [d.metadata?.labels?.['app.kubernetes.io/instance'] ?? '', d.metadata?.namespace ?? '', d.metadata?.labels?.['app.kubernetes.io/version'] ?? ''])];
  io.out(table(rows));
}

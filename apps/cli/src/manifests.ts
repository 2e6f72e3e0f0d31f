// The rendered chart as objects: parsed, put in an order the API server accepts, and checked for
// settings that will hurt (a PodDisruptionBudget that no drain can ever satisfy).
import { dumpYaml, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';

/** Parses a YAML stream into the client's typed objects (which keep fields such as x-kubernetes-preserve-unknown-fields). */
export function parseManifests(yaml: string): KubernetesObject[] {
  return (loadAllYaml(yaml) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => o !== null && typeof o === 'object' && typeof o.kind === 'string');
}

export function toYaml(objects: readonly KubernetesObject[]): string {
  return objects.map((o) => `---\n${dumpYaml(o)}`).join('');
}

// Helm's install order (pkg/releaseutil/kind_sorter.go), reduced to the kinds the chart renders.
const kindOrder = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'Deployment',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
];

export function installOrder(objects: readonly KubernetesObject[]): KubernetesObject[] {
  const rank = (o: KubernetesObject): number => {
    const i = kindOrder.indexOf(o.kind ?? '');
    return i === -1 ? kindOrder.length : i;
  };
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i)
    .map(({ o }) => o);
}

export function describe(o: KubernetesObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind} ${ns}${o.metadata?.name ?? ''}`;
}

interface Selector {
  readonly matchLabels?: Record<string, string>;
}

/**
 * Warnings about the rendered objects: a PodDisruptionBudget whose minAvailable is at least the
 * replicas its Deployment may run with (its fixed replicas, or its HPA's minReplicas, which is where an
 * idle cluster sits) blocks node drains.
 */
export function warnings(objects: readonly KubernetesObject[]): string[] {
  const out: string[] = [];
  const all = objects as readonly (KubernetesObject & { spec?: Record<string, unknown> })[];
  for (const pdb of all.filter((o) => o.kind === 'PodDisruptionBudget')) {
    const selector = (pdb.spec?.['selector'] as Selector | undefined)?.matchLabels ?? {};
    const minAvailable = pdb.spec?.['minAvailable'];
    if (typeof minAvailable !== 'number') continue;
    for (const deployment of all.filter((o) => o.kind === 'Deployment' && o.metadata?.namespace === pdb.metadata?.namespace)) {
      const podLabels = ((deployment.spec?.['template'] as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels ?? {});
      if (!Object.entries(selector).every(([k, v]) => podLabels[k] === v)) continue;
      const hpa = all.find(
        (o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata?.namespace === deployment.metadata?.namespace && (o.spec?.['scaleTargetRef'] as { kind?: string; name?: string } | undefined)?.name === deployment.metadata?.name,
      );
      const fewest = hpa ? Number(hpa.spec?.['minReplicas'] ?? 1) : Number(deployment.spec?.['replicas'] ?? 1);
      if (fewest > minAvailable) continue;
      const name = deployment.metadata?.name ?? '';
      const key = hpa ? 'autoScale.minReplicas' : 'replicaCount';
      out.push(
        `PodDisruptionBudget ${pdb.metadata?.name} keeps ${minAvailable} pod of ${name} available and ${name} ${hpa ? 'may scale down to' : 'runs'} ${fewest} replica${fewest === 1 ? '' : 's'}: node drains will block until it has more; set ${key} >= ${minAvailable + 1}`,
      );
    }
  }
  return out;
}

// Helm renders the chart (deploy/chart/osm): `helm` from OSM_HELM or PATH, else the version pinned in
// tools/helm/go.mod, built once with Go and cached (@osm/go-tools). Schema violations come back as one
// line naming the key and the allowed values.
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goToolBinaries } from '@osm/go-tools';
import { CliError } from './errors.ts';

export const chartDir = fileURLToPath(new URL('../../../deploy/chart/osm/', import.meta.url));
const helmModule = fileURLToPath(new URL('../../../tools/helm/', import.meta.url));

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The helm binary: $OSM_HELM, `helm` on PATH, or the pinned build (first use prints progress lines). */
export async function helmBinary(progress: (line: string) => void): Promise<string> {
  const explicit = process.env['OSM_HELM'];
  if (explicit) return explicit;
  const found = onPath('helm');
  if (found) return found;
  const goMod = readFileSync(join(helmModule, 'go.mod'), 'utf8');
  const version = /^\s*helm\.sh\/helm\/v3 (v\S+)/m.exec(goMod)?.[1] ?? 'unknown';
  // As helm's Makefile does: the default Kubernetes version of `helm template` and `helm lint` is the
  // one of the client-go it was built with (v0.37 -> 1.37), not its source's fallback 1.20.
  const clientGo = /^\s*k8s\.io\/client-go v0\.(\d+)\./m.exec(goMod)?.[1] ?? '20';
  const ldflags = [
    `-X helm.sh/helm/v3/internal/version.version=${version}`,
    ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((pkg) => [`-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1`, `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${clientGo}`]),
  ];
  const built = await goToolBinaries(
    { moduleDir: helmModule, label: `helm ${version}`, binaries: { helm: 'helm.sh/helm/v3/cmd/helm' }, buildFlags: [`-ldflags=${ldflags.join(' ')}`] },
    progress,
  );
  return built['helm'] ?? '';
}

export function runHelm(helm: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(helm, [...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new CliError('helm', `cannot run ${helm}: ${err.message}`, { cause: err }));
      else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

export interface RenderOptions {
  readonly meshName: string;
  readonly namespace: string;
  /** Helm --set expressions, in order (later ones win). */
  readonly set: readonly string[];
  /** The cluster's Kubernetes version (Capabilities.KubeVersion), when known. */
  readonly kubeVersion?: string;
}

/** `helm template` of the chart: every manifest (CRDs first) as one YAML stream. */
export async function renderChart(helm: string, options: RenderOptions): Promise<string> {
  const args = ['template', options.meshName, chartDir, '--namespace', options.namespace, '--include-crds'];
  for (const s of options.set) args.push('--set', s);
  // The flags win over --set, as in OSM's osm install.
  args.push('--set', `osm.meshName=${options.meshName}`, '--set', `osm.osmNamespace=${options.namespace}`);
  if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
  const { code, stdout, stderr } = await runHelm(helm, args);
  if (code !== 0) throw helmError(stderr);
  return stdout;
}

const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as SchemaNode;

interface SchemaNode {
  readonly properties?: Record<string, SchemaNode>;
  readonly $ref?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly unknown[];
  readonly type?: string;
  readonly definitions?: Record<string, SchemaNode>;
}

/** The schema of a value at a JSON pointer such as /osm/osmController/autoScale/maxReplicas. */
function schemaAt(pointer: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema;
  for (const key of pointer.split('/').filter(Boolean)) {
    if (node?.$ref) node = schema.definitions?.[node.$ref.replace('#/definitions/', '')];
    node = node?.properties?.[key];
  }
  if (node?.$ref) node = schema.definitions?.[node.$ref.replace('#/definitions/', '')];
  return node;
}

function allowed(node: SchemaNode | undefined): string {
  if (!node) return '';
  if (node.enum) return `allowed values: ${node.enum.join(', ')}`;
  if (node.minimum !== undefined && node.maximum !== undefined) return `allowed range: ${node.minimum}-${node.maximum}`;
  if (node.minimum !== undefined) return `allowed: >= ${node.minimum}`;
  return node.type ? `expected a ${node.type}` : '';
}

/**
 * Helm's schema errors (`- at '/osm/injector/autoScale/maxReplicas': maximum: got 11, want 10`) as one
 * line per violation: the dotted key, what was wrong, and the allowed values from values.schema.json.
 */
export function helmError(stderr: string): CliError {
  const violations = [...stderr.matchAll(/^\s*- at '([^']*)': (.*)$/gm)]
    // An allOf/anyOf line only announces the nested violations that follow it.
    .filter(([, , problem = '']) => !/^'(allOf|anyOf|oneOf|if|then)' failed$/.test(problem))
    .map(([, pointer = '', problem = '']) => {
    const key = pointer.split('/').filter(Boolean).join('.') || '(values)';
    const node = schemaAt(pointer);
    const unknown = /additional properties? (.*) not allowed/i.exec(problem);
    if (unknown) return `${key}: unknown key ${unknown[1]}`;
    // A minReplicas above maxReplicas fails the if/then clause that bounds minReplicas by maxReplicas.
    if (key.endsWith('.minReplicas') && /maximum: got/.test(problem) && !/want 10$/.test(problem)) {
      return `${key}: ${/got ([^,\s]+)/.exec(problem)?.[1]} is above maxReplicas ${/want (\S+)/.exec(problem)?.[1]}: minReplicas must be <= maxReplicas`;
    }
    const bound = /^(maximum|minimum): got (\S+), want (\S+)$/.exec(problem);
    const what = bound ? `${bound[2]} is ${bound[1] === 'maximum' ? 'above the maximum' : 'below the minimum'} ${bound[3]}` : problem;
    return `${key}: ${what}${allowed(node) ? ` (${allowed(node)})` : ''}`;
  });
  if (violations.length > 0) return new CliError('invalid-values', `invalid values: ${[...new Set(violations)].join('; ')}`);
  const line = stderr
    .split('\n')
    .map((l) => l.replace(/^Error: /, '').trim())
    // helm notes that crds/ and files/prometheus are links into deploy/ on every run.
    .filter((l) => l && !/found symbolic link in path/.test(l))
    .join(' ');
  return new CliError('helm', `helm could not render the chart: ${line}`);
}

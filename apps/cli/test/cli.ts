// Test helpers: run the real osm command as a process, and render the chart with the pinned helm.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import { helmBinary, renderChart } from '../src/helm.ts';
import { parseManifests } from '../src/manifests.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `osm args...`; `onStderr` sees stderr as it comes (to act on a progress line). */
export function osm(args: readonly string[], env: Record<string, string> = {}, onStderr?: (text: string) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [main, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    let seen = '';
    if (onStderr) child.stderr?.on('data', (chunk: Buffer | string) => onStderr((seen += String(chunk))));
  });
}

let helm: Promise<string> | undefined;
/** The helm the CLI uses (built on first use, with progress on stderr). */
export function testHelm(): Promise<string> {
  helm ??= helmBinary((line) => process.stderr.write(`[helm] ${line}\n`));
  return helm;
}

export async function render(set: readonly string[] = [], options: { meshName?: string; namespace?: string } = {}): Promise<KubernetesObject[]> {
  const objects = parseManifests(await renderChart(await testHelm(), { meshName: options.meshName ?? 'osm', namespace: options.namespace ?? 'osm-system', set, kubeVersion: 'v1.37.0' }));
  // Plain objects (the client's typed models compare unequal to literals in deepEqual).
  return JSON.parse(JSON.stringify(objects)) as KubernetesObject[];
}

type Obj = KubernetesObject & { spec?: Record<string, unknown> };

export function find(objects: readonly KubernetesObject[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`${kind} ${name} not rendered; got ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found as Obj;
}

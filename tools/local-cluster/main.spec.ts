// The README's main command, run as a user would: the whole local mesh comes up (API server,
// ca-bootstrap, two controller replicas, the injector, the bookstore pods admitted by it, a simulated
// sidecar per pod), its status shows every proxy ACKed over both replicas; a controller killed by its
// printed pid sends its proxies to the survivor, where they converge; SIGINT stops everything, exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '@osm/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
// About 45 s on an idle 2-core machine; the limit is only there so a hang cannot block the suite, and
// leaves room for a machine busy with other runs (start-up is mostly CPU).

interface Replica {
  readonly name: string;
  readonly pid: number;
  readonly state: string;
  readonly proxies: number;
}

/** The replica lines and the summary line of one printed status. */
function parseStatus(block: string): { replicas: Replica[]; summary: string; identities: string[] } {
  const replicas = [...block.matchAll(/^replica (\S+)\s+pid (\d+)\s+(up|down \(\S+\))\s+proxies (\d+)/gm)].map((m) => ({ name: m[1] as string, pid: Number(m[2]), state: m[3] as string, proxies: Number(m[4]) }));
  const identities = block.split('\n').filter((l) => /^book\S+\//.test(l));
  return { replicas, summary: /^proxies .*$/m.exec(block)?.[0] ?? '', identities };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('npm start runs a local mesh, survives losing a controller, and stops everything on SIGINT', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'osm-local-mesh-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  const ports = ['--admin-port', '--ads-port', '--controller-admin-port', '--injector-port', '--injector-admin-port'].flatMap((flag) => [flag, '0']);
  const child = spawn(process.execPath, [main, '--kubeconfig', kubeconfig, '--proxies', '2', ...ports], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // A failed assertion still stops the mesh (SIGINT: it stops what it started).
  after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
  });
  let output = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    for (const w of waiters) w();
  });
  const lastStatus = (): string => output.split('--- status at ').at(-1) ?? '';
  /** The first printed status (from now on, or the last one so far) that `check` accepts. */
  const waitForStatus = (what: string, check: (s: ReturnType<typeof parseStatus>) => boolean): Promise<ReturnType<typeof parseStatus>> =>
    new Promise((resolve, reject) => {
      const test = (): void => {
        const s = parseStatus(lastStatus());
        if (s.replicas.length > 0 && check(s)) {
          waiters.delete(test);
          resolve(s);
        }
      };
      waiters.add(test);
      void exited.then((code) => reject(new Error(`exited with ${code} before ${what}:\n${output}`)));
      test();
    });

  // Up: 6 apps x 2 pods, all ACKed and converged, spread over both replicas.
  const up = await waitForStatus('all proxies ACKed on 2 replicas', (s) => s.summary.startsWith('proxies 12: 12 connected, 12 ACKed, 0 NACKs; config converged') && s.replicas.every((r) => r.state === 'up' && r.proxies > 0));
  assert.equal(up.replicas.length, 2);
  assert.equal(up.identities.length, 6, 'one line per identity of the bookstore demo');
  // Every proxy holds its identity's service certificate, except bookthief's: nothing may reach it and it may reach nothing.
  for (const line of up.identities) assert.match(line, line.startsWith('bookthief/') ? /^\S+\s+2\s+2\/2\s+0\s+[0-9a-f]{7}\s+-\s/ : /^\S+\s+2\s+2\/2\s+0\s+[0-9a-f]{7}\s+in \d+h\s/, `identity line: ${line}`);
  const processes = (/processes: ([\d ]+)/.exec(output)?.[1] ?? '').trim().split(' ').map(Number);
  assert.ok(processes.length >= 7, `every process started is printed: ${processes.join(' ')}`);

  // The sidecars' certificates came from the bootstrap Secrets the injector wrote for pods it admitted.
  const kc = new KubeConfig();
  kc.loadFromString(readFileSync(kubeconfig, 'utf8'));
  const rest = new KubeRest(kc);
  const pods = (await rest.ok('GET', '/api/v1/namespaces/bookbuyer/pods'))['items'] as { spec: { containers: { name: string }[] } }[];
  assert.equal(pods.length, 2);
  for (const pod of pods) assert.deepEqual(pod.spec.containers.map((c) => c.name), ['app', 'envoy']);
  const secrets = (await rest.ok('GET', '/api/v1/namespaces/bookbuyer/secrets?labelSelector=osm-proxy-uuid'))['items'] as unknown[];
  assert.equal(secrets.length, 2, 'a bootstrap Secret per pod');

  // Kill the replica serving more proxies by the pid the status shows.
  const victim = [...up.replicas].sort((a, b) => b.proxies - a.proxies)[0] as Replica;
  const survivor = up.replicas.find((r) => r !== victim) as Replica;
  process.kill(victim.pid, 'SIGKILL');
  const failedOver = await waitForStatus('every proxy on the survivor', (s) =>
    s.replicas.some((r) => r.name === victim.name && r.state === 'down (SIGKILL)' && r.proxies === 0) &&
    s.replicas.some((r) => r.name === survivor.name && r.state === 'up' && r.proxies === 12) &&
    s.summary.startsWith('proxies 12: 12 connected, 12 ACKed, 0 NACKs; config converged'),
  );
  // Same identity, same config, whichever replica serves it: the hashes did not change with the move.
  const configOf = (lines: string[]): string[] => lines.map((l) => l.split(/\s+/).slice(0, 5).join(' '));
  assert.deepEqual(configOf(failedOver.identities), configOf(up.identities));

  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(output, /SIGINT: stopping the local mesh/);
  assert.equal(existsSync(kubeconfig), false, 'kubeconfig removed on stop');
  const left = processes.filter(alive);
  assert.deepEqual(left, [], 'nothing it started is left running');
});

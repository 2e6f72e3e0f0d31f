// The reaper with real processes and real signals: an owner process is SIGKILLed, what it started keeps
// running until the next sweep, which kills exactly that and removes its folder.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { HARNESS_DIR_PREFIX, processStartTime, reapOrphans, writeOwnerRecord } from './reaper.ts';

const root = mkdtempSync(join(tmpdir(), 'osm-ts-reaper-spec-'));
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const alive = (pid: number | undefined): boolean => pid !== undefined && processStartTime(pid) !== undefined;
const exited = (child: ChildProcess): Promise<void> => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** Starts the sleeper owner (a stand-in test process) and reads what it made. */
async function startOwner(): Promise<{ owner: ChildProcess; dir: string; child: number }> {
  const owner = spawn(process.execPath, [fileURLToPath(new URL('../test/owners/sleeper-owner.ts', import.meta.url)), root], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(owner);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    owner.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    owner.once('exit', (code) => reject(new Error(`owner exited (${code}) before reporting`)));
  });
  const { dir, child } = JSON.parse(line) as { dir: string; child: number };
  return { owner, dir, child };
}

describe('reapOrphans', () => {
  it('a SIGKILLed owner leaves its process running; the next sweep kills it and removes the folder', async () => {
    const { owner, dir, child } = await startOwner();
    assert.ok(alive(child));
    // The owner is alive: nothing is touched.
    assert.deepEqual(await reapOrphans(root), []);
    assert.ok(alive(child) && existsSync(dir));

    owner.kill('SIGKILL');
    await exited(owner);
    assert.ok(alive(child), 'the owner died without cleaning up: its sleep still runs (what happened to etcd and kube-apiserver)');

    const reaped = await reapOrphans(root);
    assert.deepEqual(reaped, [{ dir, ownerPid: owner.pid, killed: [`sleep ${child}`] }]);
    assert.equal(alive(child), false);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(await reapOrphans(root), [], 'nothing is left for the next sweep');
  });

  it('never kills a process that merely reuses a recorded pid, and leaves folders it cannot attribute', async () => {
    // A folder owned by a dead process, recording a live unrelated process under a different start time
    // (as if its pid had been reused).
    const bystander = spawn('sleep', ['1000'], { stdio: 'ignore' });
    started.push(bystander);
    const deadOwner = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const deadOwnerStart = processStartTime(deadOwner.pid ?? -1);
    deadOwner.kill('SIGKILL');
    await exited(deadOwner);
    const reused = mkdtempSync(join(root, HARNESS_DIR_PREFIX));
    writeFileSync(
      join(reused, 'owner.json'),
      JSON.stringify({ owner: { pid: deadOwner.pid, startTime: deadOwnerStart }, processes: [{ name: 'etcd', pid: bystander.pid, startTime: '1' }] }),
    );
    // A folder being set up right now (no owner record yet), and one owned by this very process.
    const settingUp = mkdtempSync(join(root, HARNESS_DIR_PREFIX));
    const mine = mkdtempSync(join(root, HARNESS_DIR_PREFIX));
    writeOwnerRecord(mine, [{ name: 'sleep', pid: bystander.pid }]);
    // Not a harness folder at all.
    mkdirSync(join(root, 'something-else'));

    const reaped = await reapOrphans(root);
    assert.deepEqual(reaped, [{ dir: reused, ownerPid: deadOwner.pid, killed: [] }]);
    assert.ok(alive(bystander.pid), 'the bystander was not killed');
    assert.ok(existsSync(settingUp) && existsSync(mine) && existsSync(join(root, 'something-else')));
  });
});

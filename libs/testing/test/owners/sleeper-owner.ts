// Test-only: a stand-in for a test process. It makes a harness folder under the root given as argv[2],
// starts `sleep`, records both in the folder's owner record, prints {dir, pid, child} and waits to be killed.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { HARNESS_DIR_PREFIX, writeOwnerRecord } from '../../src/reaper.ts';

const root = process.argv[2] ?? '';
const dir = mkdtempSync(join(root, HARNESS_DIR_PREFIX));
const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
writeOwnerRecord(dir, [{ name: 'sleep', pid: child.pid }]);
process.stdout.write(`${JSON.stringify({ dir, pid: process.pid, child: child.pid })}\n`);
setInterval(() => undefined, 60_000);

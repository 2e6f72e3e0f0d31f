// Test-only: a test process that starts a real Prometheus, prints {pid, pids} and waits to be killed.
import { startPrometheus } from '../../src/prometheus.ts';

const prometheus = await startPrometheus({ targets: [], progress: () => undefined });
process.stdout.write(`${JSON.stringify({ pid: process.pid, pids: prometheus.pids() })}\n`);
setInterval(() => undefined, 60_000);

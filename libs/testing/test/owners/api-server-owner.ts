// Test-only: a test process that starts a real kube-apiserver and etcd, prints {pid, pids, dir} and
// waits to be killed.
import { startKubeApiServer } from '../../src/kube-api-server.ts';

const api = await startKubeApiServer({ installCrds: false, progress: () => undefined });
process.stdout.write(`${JSON.stringify({ pid: process.pid, pids: api.pids(), dir: api.kubeconfigPath.replace(/\/kubeconfig$/, '') })}\n`);
setInterval(() => undefined, 60_000);

// The main command (`npm start`): a local control plane on loopback, no cluster needed.
// Starts a real kube-apiserver with etcd, installs the CRDs, creates the control-plane namespace,
// and runs until SIGINT/SIGTERM. Later issues add the mesh components on top of it.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { startKubeApiServer } from '@osm/testing';

const defaultKubeconfig = fileURLToPath(new URL('../../.local/kubeconfig', import.meta.url));

const help = `usage: npm start [-- --namespace <name>] [-- --kubeconfig <path>]

Starts a local Kubernetes API server (kube-apiserver + etcd on 127.0.0.1) with the osm-ts CRDs
installed and the control-plane namespace created, writes its kubeconfig (an admin client),
and runs until Ctrl-C (SIGINT) or SIGTERM, then stops everything it started.

options:
  --namespace <name>   control-plane namespace to create (default: osm-system)
  --kubeconfig <path>  where to write the kubeconfig (default: .local/kubeconfig)
  -h, --help           show this help`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { namespace: { type: 'string', default: 'osm-system' }, kubeconfig: { type: 'string', default: defaultKubeconfig }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(help);
    return;
  }
  const api = await startKubeApiServer({ progress: (line) => console.log(line) });
  const kubeconfig = resolve(values.kubeconfig);
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the local control plane`);
    await api.stop();
    rmSync(kubeconfig, { force: true });
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await api.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: values.namespace } } });
  mkdirSync(dirname(kubeconfig), { recursive: true });
  copyFileSync(api.kubeconfigPath, kubeconfig);
  console.log(
    [
      '',
      `Local control plane ready: ${api.url}`,
      `  namespace ${values.namespace} created; CRDs installed (MeshConfig, SMI)`,
      '  point kubectl (or any client) at it:',
      `    export KUBECONFIG=${kubeconfig}`,
      '    kubectl get namespaces',
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

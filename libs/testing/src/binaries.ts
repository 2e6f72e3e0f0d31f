// Finds or builds the kube-apiserver and etcd that integration tests run.
// Versions are pinned by tools/envtest/go.mod; binaries are built once with the machine's Go and
// cached outside the repo (@osm/go-tools). KUBEBUILDER_ASSETS (envtest's convention) overrides the build.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goToolBinaries } from '@osm/go-tools';

export interface ControlPlaneBinaries {
  readonly kubeApiServer: string;
  readonly etcd: string;
}

const envtestModule = fileURLToPath(new URL('../../../tools/envtest/', import.meta.url));

/** The pinned versions, read from the tools/envtest module that builds them. */
export function pinnedVersions(): { kubernetes: string; etcd: string } {
  const goMod = readFileSync(join(envtestModule, 'go.mod'), 'utf8');
  const version = (module: string): string => {
    const match = new RegExp(`^\\s*${module.replaceAll('.', '\\.')} (v\\S+)`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`tools/envtest/go.mod does not require ${module}`);
    return match[1];
  };
  return { kubernetes: version('k8s.io/kubernetes'), etcd: version('go.etcd.io/etcd/server/v3') };
}

/** Returns the binaries, building them into the cache first if needed. */
export async function controlPlaneBinaries(progress: (line: string) => void): Promise<ControlPlaneBinaries> {
  const assets = process.env['KUBEBUILDER_ASSETS'];
  if (assets) {
    const binaries = { kubeApiServer: join(assets, 'kube-apiserver'), etcd: join(assets, 'etcd') };
    if (!existsSync(binaries.kubeApiServer) || !existsSync(binaries.etcd)) throw new Error(`KUBEBUILDER_ASSETS=${assets} has no kube-apiserver and etcd`);
    return binaries;
  }
  const { kubernetes, etcd } = pinnedVersions();
  const built = await goToolBinaries(
    {
      moduleDir: envtestModule,
      label: `kube-apiserver ${kubernetes} and etcd ${etcd}`,
      binaries: { 'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver', etcd: 'go.etcd.io/etcd/server/v3' },
    },
    progress,
  );
  return { kubeApiServer: built['kube-apiserver'] ?? '', etcd: built['etcd'] ?? '' };
}

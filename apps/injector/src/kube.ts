// What the injector reads from Kubernetes, all through @osm/k8s-informers: the namespaces (labels and
// annotations decide injection) and the MeshConfig (sidecar settings), each a watched cache; a
// namespace missing from the cache (created a moment ago) is read once directly.
import { Informer, type KubeObject, type ListWatchClient } from '@osm/k8s-informers';
import { sidecarSettings, type Namespace, type SidecarSettings } from '@osm/injector-core';
import { meshConfigApiVersion, meshConfigName } from '@osm/mesh-model';
import type { Logger } from '@osm/observability';

type NamespaceObject = KubeObject & Namespace;
interface MeshConfigObject extends KubeObject {
  readonly spec?: unknown;
}

export interface ClusterReads {
  readonly namespaces: Informer<NamespaceObject>;
  readonly meshConfigs: Informer<MeshConfigObject>;
  /** The namespace, from the cache or else read once; undefined when it does not exist. */
  namespace(name: string): Promise<Namespace | undefined>;
  /** The sidecar settings of the current MeshConfig (OSM's defaults while there is none). */
  settings(): SidecarSettings;
}

export function clusterReads(client: ListWatchClient, osmNamespace: string, logger: Logger): ClusterReads {
  const informerLog = logger.child({ subsystem: 'informers' });
  const namespaces = new Informer<NamespaceObject>({ name: 'namespaces', path: '/api/v1/namespaces', client, logger: informerLog });
  const meshConfigs = new Informer<MeshConfigObject>({
    name: 'meshconfigs',
    path: `/apis/${meshConfigApiVersion}/namespaces/${osmNamespace}/meshconfigs`,
    fieldSelector: `metadata.name=${meshConfigName}`,
    client,
    logger: informerLog,
  });

  let current = sidecarSettings(undefined).settings;
  const refresh = (): void => {
    const object = meshConfigs.getByName(osmNamespace, meshConfigName);
    const { settings, problems } = sidecarSettings(object?.spec);
    current = settings;
    const where = `MeshConfig ${osmNamespace}/${meshConfigName}`;
    for (const problem of problems) logger.error({ meshConfig: `${osmNamespace}/${meshConfigName}` }, `${where}: ${problem}; using the default`);
    logger.info({ meshConfig: object ? `${osmNamespace}/${meshConfigName}` : 'none (defaults)', envoyImage: settings.envoyImage, initContainerImage: settings.initContainerImage }, 'sidecar settings');
  };
  meshConfigs.addHandler({ onAdd: refresh, onUpdate: refresh, onDelete: refresh });

  return {
    namespaces,
    meshConfigs,
    async namespace(name) {
      const cached = namespaces.getByName(undefined, name);
      if (cached) return cached;
      const page = await client.list('/api/v1/namespaces', { fieldSelector: `metadata.name=${name}` }, AbortSignal.timeout(5000));
      return page.items[0] as Namespace | undefined;
    },
    settings: () => current,
  };
}

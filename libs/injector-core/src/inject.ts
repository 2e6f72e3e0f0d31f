// The injector as one pure function: (pod, namespace, MeshConfig settings, proxy uuid, options) ->
// skip, deny or inject with a JSON patch and the bootstrap files (OSM: pkg/injector/patch.go
// createPatch). The patch is written as explicit operations against the pod as it arrived rather than
// as a diff (OSM's jsonpatch.CreatePatch), so that a golden patch reads as what was added.
import {
  ENVOY_PROMETHEUS_PATH,
  ENVOY_PROMETHEUS_PORT,
  metricsAnnotation,
  prometheusPathAnnotation,
  prometheusPortAnnotation,
  prometheusScrapeAnnotation,
  proxyUuidLabel,
} from '@osm/mesh-model';
import { bootstrapConfigFiles, type ControllerAddress } from './bootstrap.ts';
import { bootstrapVolume, envoyContainer, healthcheckContainer, initContainer } from './containers.ts';
import { exclusionsOf } from './exclusions.ts';
import { iptablesScript } from './iptables.ts';
import { rewriteProbes } from './probes.ts';
import { injectionDecision, type RuleOptions } from './rules.ts';
import type { SidecarSettings } from './settings.ts';
import { serviceAccountOf, type Namespace, type Pod, type StringMap } from './types.ts';

/** One RFC 6902 operation; the injector only adds and replaces. */
export interface PatchOperation {
  readonly op: 'add' | 'replace';
  readonly path: string;
  readonly value: unknown;
}

export interface InjectorOptions extends RuleOptions {
  readonly controller: ControllerAddress;
  /** Images used when MeshConfig does not name one (sidecar.envoyImage, sidecar.initContainerImage). */
  readonly envoyImage: string;
  readonly initImage: string;
  readonly healthcheckImage: string;
}

export interface InjectInput {
  readonly pod: Pod;
  /** The admission request's namespace. */
  readonly namespace: string;
  /** The namespace object, undefined when it could not be found. */
  readonly namespaceObject: Namespace | undefined;
  readonly settings: SidecarSettings;
  readonly proxyUuid: string;
  readonly options: InjectorOptions;
}

export type InjectResult =
  | { readonly outcome: 'skip'; readonly reason: string }
  | { readonly outcome: 'deny'; readonly reason: string }
  | {
      readonly outcome: 'inject';
      readonly reason: string;
      readonly proxyUuid: string;
      readonly serviceAccount: string;
      readonly patch: readonly PatchOperation[];
      /** The bootstrap Secret's configuration files by key; the certificate files are the caller's. */
      readonly bootstrapFiles: Readonly<Record<string, string>>;
      /** Probes left as they were, and why. */
      readonly warnings: readonly string[];
    };

/** A JSON pointer segment (RFC 6901): `~` and `/` escaped. */
const segment = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Adds `entries` to the map at `path` of `current`: the whole map when there is none, else key by key. */
function addToMap(path: string, current: StringMap | undefined | null, entries: StringMap): PatchOperation[] {
  if (!current) return [{ op: 'add', path, value: entries }];
  return Object.entries(entries).map(([k, v]) => ({ op: 'add', path: `${path}/${segment(k)}`, value: v }));
}

/** Appends to the list at `path`: the whole list when there is none. */
function appendToList(path: string, current: readonly unknown[] | undefined | null, items: readonly unknown[]): PatchOperation[] {
  if (!current) return [{ op: 'add', path, value: items }];
  return items.map((value) => ({ op: 'add', path: `${path}/-`, value }));
}

export function injectPod(input: InjectInput): InjectResult {
  const { pod, namespace, options } = input;
  const decision = injectionDecision(pod, namespace, input.namespaceObject, options);
  if ('error' in decision) return { outcome: 'deny', reason: decision.error };
  if (!decision.inject) return { outcome: 'skip', reason: decision.reason };

  const exclusions = exclusionsOf(pod, input.settings);
  if (!exclusions.ok) return { outcome: 'deny', reason: exclusions.message };

  const serviceAccount = serviceAccountOf(pod);
  const probes = rewriteProbes(pod.spec.containers);
  const patch: PatchOperation[] = probes.rewritten.map((r) => ({ op: 'replace', path: `/spec/containers/${r.containerIndex}/${r.field}`, value: r.probe }));

  const labels = { [proxyUuidLabel]: input.proxyUuid };
  // Scraped on the sidecar's Prometheus listener, when the namespace has metrics on (the same test as the catalog's).
  const metrics = input.namespaceObject?.metadata.annotations?.[metricsAnnotation] === 'enabled';
  const annotations = {
    [prometheusScrapeAnnotation]: 'true',
    [prometheusPortAnnotation]: String(ENVOY_PROMETHEUS_PORT),
    [prometheusPathAnnotation]: ENVOY_PROMETHEUS_PATH,
  };
  if (!pod.metadata) {
    patch.push({ op: 'add', path: '/metadata', value: { labels, ...(metrics ? { annotations } : {}) } });
  } else {
    patch.push(...addToMap('/metadata/labels', pod.metadata.labels, labels));
    if (metrics) patch.push(...addToMap('/metadata/annotations', pod.metadata.annotations, annotations));
  }

  patch.push(...appendToList('/spec/volumes', pod.spec.volumes, [bootstrapVolume(input.proxyUuid)]));
  const script = iptablesScript(exclusions.exclusions, input.settings.localProxyMode);
  patch.push(...appendToList('/spec/initContainers', pod.spec.initContainers, [initContainer(input.settings.initContainerImage ?? options.initImage, input.settings, script)]));
  const sidecar = envoyContainer({ image: input.settings.envoyImage ?? options.envoyImage, settings: input.settings, serviceAccount, namespace, probes: probes.originals });
  const usesHealthcheck = probes.originals.some((p) => p.scheme === 'TCP');
  patch.push(...appendToList('/spec/containers', pod.spec.containers, usesHealthcheck ? [healthcheckContainer(options.healthcheckImage), sidecar] : [sidecar]));

  return {
    outcome: 'inject',
    reason: decision.reason,
    proxyUuid: input.proxyUuid,
    serviceAccount,
    patch,
    bootstrapFiles: bootstrapConfigFiles({ proxyUuid: input.proxyUuid, controller: options.controller, settings: input.settings, probes: probes.originals }),
    warnings: probes.warnings,
  };
}

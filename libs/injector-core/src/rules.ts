// Whether a pod gets a sidecar (OSM: pkg/injector/webhook.go mustInject and isNamespaceInjectable).
// The webhook configuration's selectors already keep most of these pods away; the same rules are
// checked here because the API server is not the only caller (a URL registration, a stale
// configuration, a replayed request) and because the rules must hold whoever calls.
import { ignoreLabel, monitoredByLabel, sidecarInjectionAnnotation } from '@osm/mesh-model';
import { APP_NAME_LABEL, APP_NAME_VALUE, BOOTSTRAP_VOLUME_NAME, ENVOY_CONTAINER_NAME, INIT_CONTAINER_NAME, SYSTEM_NAMESPACES } from './names.ts';
import type { Namespace, Pod, StringMap } from './types.ts';

export type Decision = { readonly inject: boolean; readonly reason: string } | { readonly error: string };

export interface RuleOptions {
  readonly meshName: string;
  /** The control-plane namespace, never meshed. */
  readonly osmNamespace: string;
}

const ENABLED = ['enabled', 'yes', 'true'];
const DISABLED = ['disabled', 'no', 'false'];

/** OSM's reading of the sidecar-injection annotation: undefined when absent, an error string when not one of its values. */
function injectionSwitch(annotations: StringMap | undefined, owner: string): boolean | undefined | { error: string } {
  const value = annotations?.[sidecarInjectionAnnotation];
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (ENABLED.includes(v)) return true;
  if (DISABLED.includes(v)) return false;
  return { error: `${owner} annotation ${sidecarInjectionAnnotation}: ${JSON.stringify(value)} is not valid: allowed values are enabled, disabled (or yes/no, true/false)` };
}

/** The pod already has what the injector adds: a reinvocation, or a copy of a meshed pod. */
export function alreadyInjected(pod: Pod): boolean {
  return (
    (pod.spec.volumes ?? []).some((v) => v.name === BOOTSTRAP_VOLUME_NAME) ||
    pod.spec.containers.some((c) => c.name === ENVOY_CONTAINER_NAME) ||
    (pod.spec.initContainers ?? []).some((c) => c.name === INIT_CONTAINER_NAME)
  );
}

/**
 * Inject or not, and why. `namespace` is the pod's namespace object (undefined when it could not be
 * found); `namespaceName` the admission request's namespace (a pod being created may not carry one).
 */
export function injectionDecision(pod: Pod, namespaceName: string, namespace: Namespace | undefined, options: RuleOptions): Decision {
  if (pod.spec.hostNetwork === true) return { inject: false, reason: 'the pod uses the host network: its traffic cannot be redirected without redirecting the node' };
  if (namespaceName === options.osmNamespace || SYSTEM_NAMESPACES.includes(namespaceName)) {
    return { inject: false, reason: `namespace ${namespaceName} is never meshed (${[...SYSTEM_NAMESPACES, options.osmNamespace].join(', ')})` };
  }
  if (!namespace) return { error: `namespace ${JSON.stringify(namespaceName)} was not found` };
  const labels = namespace.metadata.labels;
  if (labels?.[monitoredByLabel] !== options.meshName) return { inject: false, reason: `namespace ${namespaceName} is not labelled ${monitoredByLabel}=${options.meshName}` };
  if (labels?.[ignoreLabel] !== undefined) return { inject: false, reason: `namespace ${namespaceName} has the label ${ignoreLabel}` };
  if (pod.metadata?.labels?.[APP_NAME_LABEL] === APP_NAME_VALUE) return { inject: false, reason: `the pod is part of the control plane (${APP_NAME_LABEL}=${APP_NAME_VALUE})` };
  if (alreadyInjected(pod)) return { inject: false, reason: 'the pod already has the sidecar (a reinvocation or a copy of a meshed pod)' };

  const onPod = injectionSwitch(pod.metadata?.annotations ?? undefined, 'pod');
  if (typeof onPod === 'object') return onPod;
  const onNamespace = injectionSwitch(namespace.metadata.annotations, `namespace ${namespaceName}`);
  if (typeof onNamespace === 'object') return onNamespace;
  // The pod's annotation wins over the namespace's.
  if (onPod === true) return { inject: true, reason: `the pod has ${sidecarInjectionAnnotation}: enabled` };
  if (onPod === false) return { inject: false, reason: `the pod has ${sidecarInjectionAnnotation}: disabled` };
  if (onNamespace === true) return { inject: true, reason: `namespace ${namespaceName} has ${sidecarInjectionAnnotation}: enabled` };
  return {
    inject: false,
    reason: `neither the pod nor namespace ${namespaceName} enables ${sidecarInjectionAnnotation}${onNamespace === false ? ' (the namespace disables it)' : ''}`,
  };
}

// What the injector takes from MeshConfig `osm-mesh-config` (spec.sidecar and spec.traffic, OSM's field
// names): read leniently, each unusable field falling back to OSM's default and reported as a problem,
// so that one bad field never stops injection.
import { parseCidr, parsePort } from './exclusions.ts';
import { isObject } from './types.ts';

export type LocalProxyMode = 'Localhost' | 'PodIP';

export interface SidecarSettings {
  /** `sidecar.envoyImage`; undefined: the injector's --envoy-image. */
  readonly envoyImage: string | undefined;
  /** `sidecar.initContainerImage`; undefined: the injector's --init-image. */
  readonly initContainerImage: string | undefined;
  /** `sidecar.logLevel` (OSM's default `error`). */
  readonly logLevel: string;
  /** `sidecar.resources`: the sidecar's ResourceRequirements, as given. */
  readonly resources: Readonly<Record<string, unknown>> | undefined;
  readonly enablePrivilegedInitContainer: boolean;
  readonly localProxyMode: LocalProxyMode;
  /** `sidecar.tlsMinProtocolVersion` / `tlsMaxProtocolVersion` (OSM's chart: TLSv1_2 / TLSv1_3), for the xDS connection. */
  readonly tlsMinProtocolVersion: string;
  readonly tlsMaxProtocolVersion: string;
  readonly cipherSuites: readonly string[];
  readonly ecdhCurves: readonly string[];
  readonly outboundPortExclusionList: readonly number[];
  readonly inboundPortExclusionList: readonly number[];
  readonly outboundIPRangeExclusionList: readonly string[];
  readonly outboundIPRangeInclusionList: readonly string[];
  readonly networkInterfaceExclusionList: readonly string[];
}

export const defaultSidecarSettings: SidecarSettings = {
  envoyImage: undefined,
  initContainerImage: undefined,
  logLevel: 'error',
  resources: undefined,
  enablePrivilegedInitContainer: false,
  localProxyMode: 'Localhost',
  tlsMinProtocolVersion: 'TLSv1_2',
  tlsMaxProtocolVersion: 'TLSv1_3',
  cipherSuites: [],
  ecdhCurves: [],
  outboundPortExclusionList: [],
  inboundPortExclusionList: [],
  outboundIPRangeExclusionList: [],
  outboundIPRangeInclusionList: [],
  networkInterfaceExclusionList: [],
};

const ENVOY_LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'];
const TLS_VERSIONS = ['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'];
// Interface names as Linux accepts them: no whitespace, no '/', at most 15 bytes.
const INTERFACE = /^[A-Za-z0-9_.:@+-]{1,15}$/;

export interface SettingsResult {
  readonly settings: SidecarSettings;
  /** One line per unusable field, naming it and what is allowed; the default was used instead. */
  readonly problems: readonly string[];
}

/** The injector's settings from a MeshConfig's `spec` (undefined when there is no MeshConfig: OSM's defaults). */
export function sidecarSettings(spec: unknown): SettingsResult {
  const problems: string[] = [];
  const sidecar = isObject(spec) && isObject(spec['sidecar']) ? spec['sidecar'] : {};
  const traffic = isObject(spec) && isObject(spec['traffic']) ? spec['traffic'] : {};
  const d = defaultSidecarSettings;

  const str = (section: Record<string, unknown>, path: string, key: string, allowed?: readonly string[]): string | undefined => {
    const v = section[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string' && (!allowed || allowed.includes(v))) return v;
    problems.push(`${path}.${key} ${JSON.stringify(v)} is not valid: expected ${allowed ? `one of ${allowed.join(', ')}` : 'a string'}`);
    return undefined;
  };
  const list = <T>(section: Record<string, unknown>, path: string, key: string, parse: (s: unknown) => T | undefined, allowed: string): T[] => {
    const v = section[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      problems.push(`${path}.${key} is not valid: expected a list of ${allowed}`);
      return [];
    }
    const out: T[] = [];
    for (const [i, item] of v.entries()) {
      const parsed = parse(item);
      if (parsed === undefined) problems.push(`${path}.${key}[${i}] ${JSON.stringify(item)} is not valid: expected ${allowed}; ignored`);
      else if (!out.includes(parsed)) out.push(parsed);
    }
    return out;
  };
  const text = (s: unknown): string | undefined => (typeof s === 'string' && s !== '' ? s : undefined);

  const privileged = sidecar['enablePrivilegedInitContainer'];
  if (privileged !== undefined && typeof privileged !== 'boolean') problems.push(`spec.sidecar.enablePrivilegedInitContainer ${JSON.stringify(privileged)} is not valid: expected true or false`);
  const resources = sidecar['resources'];
  if (resources !== undefined && resources !== null && !isObject(resources)) problems.push('spec.sidecar.resources is not valid: expected a ResourceRequirements object');

  const settings: SidecarSettings = {
    envoyImage: str(sidecar, 'spec.sidecar', 'envoyImage'),
    initContainerImage: str(sidecar, 'spec.sidecar', 'initContainerImage'),
    logLevel: str(sidecar, 'spec.sidecar', 'logLevel', ENVOY_LOG_LEVELS) ?? d.logLevel,
    resources: isObject(resources) && Object.keys(resources).length > 0 ? resources : undefined,
    enablePrivilegedInitContainer: typeof privileged === 'boolean' ? privileged : d.enablePrivilegedInitContainer,
    localProxyMode: (str(sidecar, 'spec.sidecar', 'localProxyMode', ['Localhost', 'PodIP']) as LocalProxyMode | undefined) ?? d.localProxyMode,
    tlsMinProtocolVersion: str(sidecar, 'spec.sidecar', 'tlsMinProtocolVersion', TLS_VERSIONS) ?? d.tlsMinProtocolVersion,
    tlsMaxProtocolVersion: str(sidecar, 'spec.sidecar', 'tlsMaxProtocolVersion', TLS_VERSIONS) ?? d.tlsMaxProtocolVersion,
    cipherSuites: list(sidecar, 'spec.sidecar', 'cipherSuites', text, 'cipher suite names'),
    ecdhCurves: list(sidecar, 'spec.sidecar', 'ecdhCurves', text, 'curve names'),
    outboundPortExclusionList: list(traffic, 'spec.traffic', 'outboundPortExclusionList', parsePort, 'ports 1-65535'),
    inboundPortExclusionList: list(traffic, 'spec.traffic', 'inboundPortExclusionList', parsePort, 'ports 1-65535'),
    outboundIPRangeExclusionList: list(traffic, 'spec.traffic', 'outboundIPRangeExclusionList', parseCidr, 'IPv4 ranges in CIDR notation'),
    outboundIPRangeInclusionList: list(traffic, 'spec.traffic', 'outboundIPRangeInclusionList', parseCidr, 'IPv4 ranges in CIDR notation'),
    networkInterfaceExclusionList: list(traffic, 'spec.traffic', 'networkInterfaceExclusionList', (s) => (typeof s === 'string' && INTERFACE.test(s) ? s : undefined), 'network interface names'),
  };
  return { settings, problems };
}

// Traffic the init container leaves alone: ports and IP ranges from the pod's annotations merged with
// MeshConfig's lists (OSM: pkg/injector/exclusions.go). Every value is checked strictly here because
// it ends up in a shell script run as root in the pod; a bad value denies the pod with a message
// naming the annotation, as OSM did.
import {
  inboundPortExclusionAnnotation,
  outboundIpRangeExclusionAnnotation,
  outboundIpRangeInclusionAnnotation,
  outboundPortExclusionAnnotation,
} from '@osm/mesh-model';
import type { SidecarSettings } from './settings.ts';
import type { Pod } from './types.ts';

/** A port 1-65535 given as a number or a decimal string; undefined otherwise. */
export function parsePort(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * An IPv4 range in CIDR notation (`10.0.0.0/8`), trimmed; undefined otherwise. IPv6 ranges are refused:
 * the init container programs iptables (IPv4) only, and one IPv6 address would make iptables-restore
 * fail and the pod never start.
 */
export function parseCidr(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cidr = value.trim();
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  return match && IPV4.test(match[1] ?? '') && Number(match[2]) <= 32 ? cidr : undefined;
}

export interface Exclusions {
  readonly outboundPorts: readonly number[];
  readonly inboundPorts: readonly number[];
  readonly outboundIPRangeExclusions: readonly string[];
  readonly outboundIPRangeInclusions: readonly string[];
  readonly networkInterfaces: readonly string[];
}

export type ExclusionsResult = { readonly ok: true; readonly exclusions: Exclusions } | { readonly ok: false; readonly message: string };

/** The annotation's comma-separated values, or the message naming the first bad one. */
function annotationList<T>(pod: Pod, annotation: string, parse: (s: string) => T | undefined, allowed: string): T[] | string {
  const raw = pod.metadata?.annotations?.[annotation];
  if (raw === undefined) return [];
  const out: T[] = [];
  for (const item of raw.split(',')) {
    const value = parse(item);
    if (value === undefined) return `pod annotation ${annotation}: ${JSON.stringify(item.trim())} is not valid: expected a comma-separated list of ${allowed}`;
    out.push(value);
  }
  return out;
}

/** Pod values first, then MeshConfig's, each once. */
const merge = <T>(pod: readonly T[], mesh: readonly T[]): T[] => [...new Set([...pod, ...mesh])];

/** The pod's exclusion annotations merged with MeshConfig's traffic lists; a bad annotation value is an error naming it. */
export function exclusionsOf(pod: Pod, settings: SidecarSettings): ExclusionsResult {
  const outboundPorts = annotationList(pod, outboundPortExclusionAnnotation, parsePort, 'ports 1-65535');
  const inboundPorts = annotationList(pod, inboundPortExclusionAnnotation, parsePort, 'ports 1-65535');
  const cidrs = 'IPv4 ranges in CIDR notation such as 10.0.0.0/8';
  const exclusions = annotationList(pod, outboundIpRangeExclusionAnnotation, parseCidr, cidrs);
  const inclusions = annotationList(pod, outboundIpRangeInclusionAnnotation, parseCidr, cidrs);
  for (const list of [outboundPorts, inboundPorts, exclusions, inclusions]) if (typeof list === 'string') return { ok: false, message: list };
  return {
    ok: true,
    exclusions: {
      outboundPorts: merge(outboundPorts as number[], settings.outboundPortExclusionList),
      inboundPorts: merge(inboundPorts as number[], settings.inboundPortExclusionList),
      outboundIPRangeExclusions: merge(exclusions as string[], settings.outboundIPRangeExclusionList),
      outboundIPRangeInclusions: merge(inclusions as string[], settings.outboundIPRangeInclusionList),
      networkInterfaces: settings.networkInterfaceExclusionList,
    },
  };
}

// Health probes through the sidecar (OSM: pkg/injector/health_probes.go). With every inbound port
// redirected to the sidecar's mTLS listener, the kubelet's plain HTTP probes would fail; so an HTTP
// probe is pointed at a per-kind port the sidecar serves in plain HTTP (15901 liveness, 15902
// readiness, 15903 startup) under the path `/osm-<kind>-probe/<container>`, which the bootstrap routes
// to the original port and path on 127.0.0.1. An HTTPS probe keeps its path and is passed through as
// TLS. A TCP probe becomes an HTTP probe of the osm-healthcheck container on 15904, which dials the
// original port (header Original-Tcp-Port). exec and gRPC probes are left alone, as OSM did.
// Beyond OSM: a probe naming another host, or a port name the container does not declare, is left
// unchanged with a warning (OSM rewrote it to port 0).
import { ENVOY_PROBE_PORTS } from '@osm/mesh-model';
import type { Container, Probe } from './types.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export const PROBE_KINDS: readonly ProbeKind[] = ['liveness', 'readiness', 'startup'];
export const PROBE_PATHS: Readonly<Record<ProbeKind, string>> = { liveness: '/osm-liveness-probe', readiness: '/osm-readiness-probe', startup: '/osm-startup-probe' };
/** OSM's osm-healthcheck container: answers HTTP probes by dialing the original TCP port. */
export const HEALTHCHECK_PORT = 15904;
export const HEALTHCHECK_PATH = '/osm-healthcheck';
export const HEALTHCHECK_CONTAINER_NAME = 'osm-healthcheck';
export const ORIGINAL_TCP_PORT_HEADER = 'Original-Tcp-Port';

const probeField = (kind: ProbeKind): 'livenessProbe' | 'readinessProbe' | 'startupProbe' => `${kind}Probe`;

/** A probe as the pod defined it, for the sidecar's probe listeners. */
export interface OriginalProbe {
  readonly container: string;
  readonly kind: ProbeKind;
  readonly scheme: 'HTTP' | 'HTTPS' | 'TCP';
  /** The resolved container port. */
  readonly port: number;
  /** HTTP: the original path ('/' when empty). */
  readonly path: string;
  readonly timeoutSeconds: number;
}

export interface RewrittenProbe {
  readonly containerIndex: number;
  /** `livenessProbe`, `readinessProbe` or `startupProbe`. */
  readonly field: string;
  readonly probe: Probe;
}

export interface ProbeRewrites {
  readonly rewritten: readonly RewrittenProbe[];
  readonly originals: readonly OriginalProbe[];
  readonly warnings: readonly string[];
}

function resolvePort(port: number | string | undefined, container: Container): number | undefined {
  if (typeof port === 'number') return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
  const named = (container.ports ?? []).find((p) => p.name !== undefined && p.name === port);
  return named?.containerPort;
}

function rewriteOne(container: Container, kind: ProbeKind, probe: Probe): { probe: Probe; original: OriginalProbe } | { warning: string } | undefined {
  const where = `container ${container.name} ${kind} probe`;
  const timeoutSeconds = typeof probe.timeoutSeconds === 'number' && probe.timeoutSeconds > 0 ? probe.timeoutSeconds : 1;
  const { httpGet, tcpSocket } = probe;
  if (httpGet) {
    if (httpGet.host) return { warning: `${where} targets host ${httpGet.host}; left unchanged` };
    const port = resolvePort(httpGet.port, container);
    if (port === undefined) return { warning: `${where} port ${JSON.stringify(httpGet.port)} is not a port of the container; left unchanged` };
    if (httpGet.scheme === 'HTTPS') {
      return { probe: { ...probe, httpGet: { ...httpGet, port: ENVOY_PROBE_PORTS[kind] } }, original: { container: container.name, kind, scheme: 'HTTPS', port, path: httpGet.path || '/', timeoutSeconds } };
    }
    return {
      probe: { ...probe, httpGet: { ...httpGet, path: `${PROBE_PATHS[kind]}/${container.name}`, port: ENVOY_PROBE_PORTS[kind] } },
      original: { container: container.name, kind, scheme: 'HTTP', port, path: httpGet.path || '/', timeoutSeconds },
    };
  }
  if (tcpSocket) {
    if (tcpSocket.host) return { warning: `${where} targets host ${tcpSocket.host}; left unchanged` };
    const port = resolvePort(tcpSocket.port, container);
    if (port === undefined) return { warning: `${where} port ${JSON.stringify(tcpSocket.port)} is not a port of the container; left unchanged` };
    const { tcpSocket: _tcp, ...rest } = probe;
    return {
      probe: { ...rest, httpGet: { path: HEALTHCHECK_PATH, port: HEALTHCHECK_PORT, httpHeaders: [{ name: ORIGINAL_TCP_PORT_HEADER, value: String(port) }] } },
      original: { container: container.name, kind, scheme: 'TCP', port, path: '', timeoutSeconds },
    };
  }
  return undefined;
}

/** The probes to rewrite in the pod's containers, and what they were. */
export function rewriteProbes(containers: readonly Container[]): ProbeRewrites {
  const rewritten: RewrittenProbe[] = [];
  const originals: OriginalProbe[] = [];
  const warnings: string[] = [];
  containers.forEach((container, containerIndex) => {
    for (const kind of PROBE_KINDS) {
      const probe = container[probeField(kind)];
      if (!probe) continue;
      const result = rewriteOne(container, kind, probe);
      if (!result) continue;
      if ('warning' in result) {
        warnings.push(result.warning);
        continue;
      }
      rewritten.push({ containerIndex, field: probeField(kind), probe: result.probe });
      originals.push(result.original);
    }
  });
  return { rewritten, originals, warnings };
}

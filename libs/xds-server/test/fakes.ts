// Test-only: a fake ADS stream, a proxy directory over a map, hand-made snapshots, and a service wired
// to them with every event recorded.
import { hash } from 'node:crypto';
import { envoy } from '@osm/envoy-api';
import { proxySpiffeId, type Proxy } from '@osm/mesh-model';
import { createLogger, type Logger } from '@osm/observability';
import { snapshotOf, TYPE_URLS, type EncodedResource, type ResourceType, type Snapshot } from '@osm/xds-snapshot';
import { AdsService, type AdsServiceOptions } from '../src/service.ts';
import { CertificateProxyVerifier, type ProxyDirectory } from '../src/identity.ts';
import type { XdsError } from '../src/errors.ts';
import type { AdsSessionHandle, AdsStream, PeerIdentity } from '../src/stream.ts';
import type { AdsLimits } from '../src/session.ts';

const { DiscoveryResponse, DeltaDiscoveryResponse, DiscoveryRequest, DeltaDiscoveryRequest } = envoy.service.discovery.v3;
const { Node } = envoy.config.core.v3;
export type Response = envoy.service.discovery.v3.DiscoveryResponse;
export type DeltaResponse = envoy.service.discovery.v3.DeltaDiscoveryResponse;
export type Request = envoy.service.discovery.v3.DiscoveryRequest;
export type DeltaRequest = envoy.service.discovery.v3.DeltaDiscoveryRequest;

export const TRUST_DOMAIN = 'cluster.local';
export const proxyA: Proxy = { uuid: '11111111-1111-4111-8111-111111111111', identity: { namespace: 'shop', name: 'web' }, namespace: 'shop', podName: 'web-1', services: [], prometheusScrape: false };
export const proxyB: Proxy = { uuid: '22222222-2222-4222-8222-222222222222', identity: { namespace: 'shop', name: 'db' }, namespace: 'shop', podName: 'db-1', services: [], prometheusScrape: false };
export const cnOf = (p: Proxy): string => `${p.uuid}.sidecar.${p.identity.name}.${p.identity.namespace}.${TRUST_DOMAIN}`;
export const peerOf = (p: Proxy): PeerIdentity => ({ commonName: cnOf(p), uris: [proxySpiffeId(p, TRUST_DOMAIN)], address: '127.0.0.1:1234' });

/** A resource whose bytes are its `content` (never decoded here: the server treats them as opaque). */
export function res(type: ResourceType, name: string, content = name): EncodedResource {
  const bytes = Buffer.from(`${name}=${content}`);
  return { type, typeUrl: TYPE_URLS[type], name, bytes, version: hash('sha256', bytes, 'hex').slice(0, 32), refs: { routes: [], clusters: [], endpoints: [], secrets: [] } };
}

/** A snapshot from `type: name[=content]` entries. */
export function snap(proxy: Proxy, spec: Partial<Record<ResourceType, readonly string[]>>): Snapshot {
  const resources: EncodedResource[] = [];
  for (const [type, names] of Object.entries(spec) as [ResourceType, readonly string[]][]) {
    for (const entry of names) {
      const [name, content] = entry.split('=') as [string, string | undefined];
      resources.push(res(type, name, content));
    }
  }
  return snapshotOf(proxy.uuid, resources);
}

export const bookSnapshot = (proxy: Proxy, overrides: Partial<Record<ResourceType, readonly string[]>> = {}): Snapshot =>
  snap(proxy, {
    clusters: ['shop/db|5432', 'shop/cache|6379'],
    endpoints: ['shop/db|5432', 'shop/cache|6379'],
    listeners: ['outbound-listener', 'inbound-listener'],
    routes: ['rds-inbound.8080'],
    secrets: [`service-cert:${proxy.identity.namespace}/${proxy.identity.name}`, 'root-cert-for-mtls-inbound'],
    ...overrides,
  });

/** An AdsStream that records what is sent; `writable = false` makes send report a full buffer. */
export class FakeStream implements AdsStream {
  readonly sent: Uint8Array[] = [];
  closedWith: XdsError | 'ok' | undefined;
  writable = true;
  send(message: Uint8Array): boolean {
    if (this.closedWith) throw new Error('send after close');
    this.sent.push(message);
    return this.writable;
  }
  close(error?: XdsError): void {
    this.closedWith = error ?? 'ok';
  }
  responses(): Response[] {
    return this.sent.map((m) => DiscoveryResponse.decode(m));
  }
  deltas(): DeltaResponse[] {
    return this.sent.map((m) => DeltaDiscoveryResponse.decode(m));
  }
  /** Responses sent since the last call. */
  take(): Response[] {
    const out = this.responses();
    this.sent.length = 0;
    return out;
  }
  takeDeltas(): DeltaResponse[] {
    const out = this.deltas();
    this.sent.length = 0;
    return out;
  }
}

export class MapDirectory implements ProxyDirectory {
  readonly proxies = new Map<string, Proxy>();
  constructor(...proxies: Proxy[]) {
    for (const p of proxies) this.proxies.set(p.uuid, p);
  }
  find(uuid: string): Promise<Proxy | undefined> {
    return Promise.resolve(this.proxies.get(uuid));
  }
}

export interface Recorded {
  readonly events: string[];
  readonly logs: Record<string, unknown>[];
}

export function captureLogger(): { logger: Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ component: 'xds-test', level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
  return { logger, logs };
}

export function testService(options: { limits?: Partial<AdsLimits>; directory?: ProxyDirectory; secretOwner?: AdsServiceOptions['secretOwner'] } = {}): { service: AdsService } & Recorded {
  const { logger, logs } = captureLogger();
  const events: string[] = [];
  const service = new AdsService({
    replicaId: 'replica-1',
    logger,
    verifier: new CertificateProxyVerifier({ trustDomain: TRUST_DOMAIN, directory: options.directory ?? new MapDirectory(proxyA, proxyB) }),
    limits: options.limits ?? {},
    ...(options.secretOwner ? { secretOwner: options.secretOwner } : {}),
    events: {
      proxyConnected: (p) => events.push(`connected ${p.podName}`),
      proxyDisconnected: (p) => events.push(`disconnected ${p.podName}`),
      refused: (_peer, e) => events.push(`refused ${e.code}`),
      response: (p, t, ok, _snapshot, v) => events.push(`response ${p.podName} ${t} ${v} ${ok ? 'ok' : 'failed'}`),
      ack: (p, t, v) => events.push(`ack ${p.podName} ${t} ${v}`),
      nack: (p, t, v, m) => events.push(`nack ${p.podName} ${t} ${v} ${m}`),
    },
  });
  return { service, events, logs };
}

/** Lets the session's asynchronous verification finish. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Request fields a test sets; node.id defaults to the proxy's uuid. */
export type Fields<R> = Omit<Partial<R>, 'node'> & { readonly node?: { readonly id: string } };

export function request(type: ResourceType, fields: Fields<Request> = {}, proxy: Proxy = proxyA): Request {
  return { ...DiscoveryRequest.fromPartial({}), typeUrl: TYPE_URLS[type], ...fields, node: Node.fromPartial({ id: fields.node?.id ?? proxy.uuid }) };
}

export function deltaRequest(type: ResourceType, fields: Fields<DeltaRequest> = {}, proxy: Proxy = proxyA): DeltaRequest {
  return { ...DeltaDiscoveryRequest.fromPartial({}), typeUrl: TYPE_URLS[type], ...fields, node: Node.fromPartial({ id: fields.node?.id ?? proxy.uuid }) };
}

export type SotwHandle = AdsSessionHandle<Request>;
export type DeltaHandle = AdsSessionHandle<DeltaRequest>;

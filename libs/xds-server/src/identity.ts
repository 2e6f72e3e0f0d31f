// Who is on the other end of a stream. The transport has verified that the client certificate chains
// to the mesh root; here its CN `<uuid>.sidecar.<sa>.<ns>.<trustDomain>` names the proxy, its only URI
// SAN must be the bootstrap URI `spiffe://<trustDomain>/<uuid>/sidecar/<sa>/<ns>` of the same proxy
// (the CN alone is not enough: a service account named `<uuid>.sidecar.<sa>` in `<ns>` gets a service
// certificate with exactly that CN, and client auth), node.id must be that uuid, and a pod with that
// uuid label, service account and namespace must exist. No Kubernetes
// here: the pods come through a one-method ProxyDirectory, and a refusal is a value (XdsError), which
// the transport turns into a gRPC status.
import { keyOf, parseProxyCertCommonName, proxySpiffeId, sameName, type Proxy } from '@osm/mesh-model';
import { XdsError } from './errors.ts';
import type { PeerIdentity } from './stream.ts';

/** The proxies the mesh knows (pods labelled `osm-proxy-uuid`). */
export interface ProxyDirectory {
  /**
   * The proxy with this uuid. When it is not known yet (the pod was created a moment ago), waits a
   * bounded time for it; resolves undefined if it does not appear, or once `signal` aborts.
   */
  find(uuid: string, signal: AbortSignal): Promise<Proxy | undefined>;
}

export type Verification = { readonly ok: true; readonly proxy: Proxy } | { readonly ok: false; readonly error: XdsError };

/** Decides which proxy a stream belongs to. */
export interface ProxyVerifier {
  verify(peer: PeerIdentity, nodeId: string, signal: AbortSignal): Promise<Verification>;
}

export interface CertificateVerifierOptions {
  /** The mesh's trust domain, the last labels of every proxy certificate CN. */
  readonly trustDomain: string;
  readonly directory: ProxyDirectory;
  /** For the NotFound message: how long the directory waits. */
  readonly waitDescription?: string;
}

const refuse = (code: XdsError['code'], message: string): Verification => ({ ok: false, error: new XdsError(code, message) });

/** The verifier of osm-ts: bootstrap certificate CN and URI SAN, node.id and the pod must all agree. */
export class CertificateProxyVerifier implements ProxyVerifier {
  readonly #options: CertificateVerifierOptions;

  constructor(options: CertificateVerifierOptions) {
    this.#options = options;
  }

  async verify(peer: PeerIdentity, nodeId: string, signal: AbortSignal): Promise<Verification> {
    const td = this.#options.trustDomain;
    if (peer.commonName === undefined) {
      return refuse('Unauthenticated', `no client certificate issued by the mesh root: the proxy must present its bootstrap certificate (CN <uuid>.sidecar.<serviceaccount>.<namespace>.${td})`);
    }
    const id = parseProxyCertCommonName(peer.commonName, td);
    if (!id) {
      return refuse('Unauthenticated', `client certificate CN ${JSON.stringify(peer.commonName)} is not a proxy bootstrap certificate: expected <uuid>.sidecar.<serviceaccount>.<namespace>.${td}`);
    }
    const bootstrapUri = proxySpiffeId(id, td);
    if (peer.uris.length !== 1 || peer.uris[0] !== bootstrapUri) {
      const found = peer.uris.length === 0 ? 'none' : peer.uris.map((u) => JSON.stringify(u)).join(', ');
      return refuse(
        'Unauthenticated',
        `client certificate CN ${JSON.stringify(peer.commonName)} has the bootstrap form, but its URI SANs (${found}) are not the bootstrap URI ${bootstrapUri}: only a proxy's bootstrap certificate opens an ADS stream, not a service certificate`,
      );
    }
    if (nodeId !== id.uuid) {
      return refuse('PermissionDenied', `node.id ${JSON.stringify(nodeId)} does not match the proxy uuid ${id.uuid} of the client certificate`);
    }
    const proxy = await this.#options.directory.find(id.uuid, signal);
    if (!proxy) {
      const waited = this.#options.waitDescription ? ` (waited ${this.#options.waitDescription})` : '';
      return refuse('NotFound', `no pod labelled osm-proxy-uuid=${id.uuid} in a monitored namespace${waited}; the client certificate names service account ${keyOf(id.identity)}`);
    }
    if (!sameName(proxy.identity, id.identity) || proxy.namespace !== id.identity.namespace) {
      return refuse(
        'PermissionDenied',
        `pod ${proxy.namespace}/${proxy.podName} labelled osm-proxy-uuid=${id.uuid} runs as service account ${keyOf(proxy.identity)}, but the client certificate names ${keyOf(id.identity)}`,
      );
    }
    return { ok: true, proxy };
  }
}

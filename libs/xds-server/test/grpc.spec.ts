// The ADS server over real sockets and real mTLS: who is refused with which status, what keeps
// working meanwhile, a client that stops reading, and a graceful shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { once } from 'node:events';
import { connect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { systemClock } from '@osm/clock';
import { generateRootCA, LocalCertificateAuthority, loadSigningCA, type IssuedCertificate } from '@osm/certificates';
import type { Proxy } from '@osm/mesh-model';
import { AdsTestStream, eventually, type ClientTls } from '@osm/testing';
import { envoy } from '@osm/envoy-api';
import { TYPE_URLS } from '@osm/xds-snapshot';
import { AdsService } from '../src/service.ts';
import { CertificateProxyVerifier } from '../src/identity.ts';
import { sanUris, startAdsServer, type AdsServer, type AdsServerOptions } from '../src/grpc.ts';
import { bookSnapshot, captureLogger, MapDirectory, proxyA, proxyB, TRUST_DOMAIN } from './fakes.ts';

const SERVER_NAME = 'osm-controller.osm-system.svc.cluster.local';

async function authority(): Promise<LocalCertificateAuthority> {
  const root = await generateRootCA({ clock: systemClock });
  const ca = loadSigningCA(root.certificatePem, root.privateKeyPem, Date.now());
  assert.ok(ca.ok);
  return new LocalCertificateAuthority({ ca: ca.value, trustDomain: TRUST_DOMAIN, clock: systemClock });
}

const bootstrap = (ca: LocalCertificateAuthority, p: Proxy): IssuedCertificate =>
  ca.issueSync({ subject: { kind: 'bootstrap', proxyUuid: p.uuid, serviceAccount: p.identity.name, namespace: p.identity.namespace }, validityMs: 3_600_000 });

/** A server of its own (a fresh root) that knows proxyA alone and serves it bookSnapshot. */
async function serveProxyA(replicaId: string, options: Pick<AdsServerOptions, 'maxConnectionAgeMs' | 'maxConnectionAgeGraceMs'> = {}): Promise<{ ca: LocalCertificateAuthority; service: AdsService; server: AdsServer; logs: Record<string, unknown>[] }> {
  const ca = await authority();
  const serving = ca.issueSync({ subject: { kind: 'server', dnsNames: [SERVER_NAME] }, validityMs: 3_600_000 });
  const { logger, logs } = captureLogger();
  const service: AdsService = new AdsService({
    replicaId,
    logger,
    verifier: new CertificateProxyVerifier({ trustDomain: TRUST_DOMAIN, directory: new MapDirectory(proxyA) }),
    events: { proxyConnected: (p) => service.setSnapshot(bookSnapshot(p)) },
  });
  const server = await startAdsServer({ service, host: '127.0.0.1', port: 0, logger, ...options, tls: { certificatePem: serving.certificatePem, privateKeyPem: serving.privateKeyPem, trustBundlePem: ca.trustBundlePem } });
  return { ca, service, server, logs };
}

describe('ADS over grpc-js with mTLS', () => {
  let ca: LocalCertificateAuthority;
  let otherCa: LocalCertificateAuthority;
  let server: AdsServer;
  let service: AdsService;
  let address: string;
  const streams: AdsTestStream[] = [];
  const tlsFor = (p: Proxy, from = ca): ClientTls => {
    const c = bootstrap(from, p);
    return { rootPem: ca.trustBundlePem, certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem, serverName: SERVER_NAME };
  };
  const open = (tls: ClientTls): AdsTestStream => {
    const s = new AdsTestStream(address, tls);
    streams.push(s);
    return s;
  };

  before(async () => {
    ca = await authority();
    otherCa = await authority();
    const serving = ca.issueSync({ subject: { kind: 'server', dnsNames: [SERVER_NAME, 'localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: 3_600_000 });
    const { logger } = captureLogger();
    const owners = new Map([[`service-cert:shop/db`, proxyB.identity]]);
    service = new AdsService({
      replicaId: 'osm-controller-test',
      logger,
      verifier: new CertificateProxyVerifier({ trustDomain: TRUST_DOMAIN, directory: new MapDirectory(proxyA, proxyB) }),
      secretOwner: (name) => owners.get(name),
      limits: { maxPendingUpdates: 2 },
      events: { proxyConnected: (p) => service.setSnapshot(bookSnapshot(p)) },
    });
    server = await startAdsServer({ service, host: '127.0.0.1', port: 0, logger, tls: { certificatePem: serving.certificatePem, privateKeyPem: serving.privateKeyPem, trustBundlePem: ca.trustBundlePem } });
    address = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    for (const s of streams) s.close();
    await server?.shutdown(1000);
  });

  it('serves a proxy with its bootstrap certificate; every response names the replica', async () => {
    const s = open(tlsFor(proxyA));
    s.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.clusters });
    const [r] = await s.waitFor(1);
    assert.equal(r?.typeUrl, TYPE_URLS.clusters);
    assert.equal(r?.controlPlane?.identifier, 'osm-controller-test');
    assert.equal(r?.versionInfo, bookSnapshot(proxyA).types.clusters.version);
  });

  // A service certificate of the mesh for the service account `<uuid>.sidecar.web` in shop: its CN
  // `<uuid>.sidecar.web.shop.cluster.local` is proxyA's bootstrap CN, and it has client auth.
  const lookalike = (): ClientTls => {
    const c = ca.issueSync({ subject: { kind: 'service', serviceAccount: `${proxyA.uuid}.sidecar.web`, namespace: 'shop' }, validityMs: 3_600_000 });
    return { rootPem: ca.trustBundlePem, certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem, serverName: SERVER_NAME };
  };
  const refusals: [string, () => ClientTls, Proxy, grpc.status, RegExp][] = [
    ['no client certificate', () => ({ rootPem: ca.trustBundlePem, serverName: SERVER_NAME }), proxyA, grpc.status.UNAUTHENTICATED, /no client certificate issued by the mesh root/],
    [
      'a service certificate whose service account makes a bootstrap CN',
      lookalike,
      proxyA,
      grpc.status.UNAUTHENTICATED,
      /CN "11111111-1111-4111-8111-111111111111\.sidecar\.web\.shop\.cluster\.local" has the bootstrap form, but its URI SANs \("spiffe:\/\/cluster\.local\/ns\/shop\/sa\/11111111-1111-4111-8111-111111111111\.sidecar\.web"\) are not the bootstrap URI spiffe:\/\/cluster\.local\/11111111-1111-4111-8111-111111111111\/sidecar\/web\/shop: only a proxy's bootstrap certificate opens an ADS stream/,
    ],
    ['a certificate from another root', () => tlsFor(proxyA, otherCa), proxyA, grpc.status.UNAUTHENTICATED, /no client certificate issued by the mesh root/],
    ['a node id that does not match the certificate', () => tlsFor(proxyA), proxyB, grpc.status.PERMISSION_DENIED, /node\.id "2222.*does not match the proxy uuid 1111/],
  ];
  for (const [name, tls, node, code, message] of refusals) {
    it(`refuses ${name} with ${grpc.status[code]}`, async () => {
      const s = open(tls());
      s.send({ node: { id: node.uuid }, typeUrl: TYPE_URLS.clusters });
      const status = await s.status;
      assert.equal(status.code, code, status.details);
      assert.match(status.details, message);
      assert.equal(s.responses.length, 0);
    });
  }

  it("refuses a request for another identity's secret with PERMISSION_DENIED; other streams go on", async () => {
    const good = open(tlsFor(proxyB));
    good.send({ node: { id: proxyB.uuid }, typeUrl: TYPE_URLS.clusters });
    await good.waitFor(1);
    const s = open(tlsFor(proxyA));
    s.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.secrets, resourceNames: ['service-cert:shop/db'] });
    const status = await s.status;
    assert.equal(status.code, grpc.status.PERMISSION_DENIED);
    assert.match(status.details, /certificate of shop\/db/);
    service.setSnapshot(bookSnapshot(proxyB, { clusters: ['after-refusals'] }));
    const [, pushed] = await good.waitFor(2);
    assert.equal(pushed?.versionInfo, bookSnapshot(proxyB, { clusters: ['after-refusals'] }).types.clusters.version, 'the other proxy still gets pushes');
  });

  it('closes a stream that stops reading with RESOURCE_EXHAUSTED; the status arrives once it reads again', async () => {
    const others = service.streamsOf(proxyA.uuid).length;
    const s = open(tlsFor(proxyA));
    s.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.clusters });
    await s.waitFor(1);
    s.pause();
    const stillOpen = (): boolean => service.streamsOf(proxyA.uuid).length > others;
    // Large responses fill HTTP/2 flow control and the transport's buffer; then updates pile up.
    for (let i = 0; i < 200 && stillOpen(); i++) {
      service.setSnapshot(bookSnapshot(proxyA, { clusters: [`big=${String(i).repeat(50_000)}`] }));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(stillOpen(), false, 'the server let the stream go');
    s.resume();
    const status = await s.status;
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.details, /did not read its responses/);
  });

  it('serves a renewed server certificate to new connections', async () => {
    const peerSerial = async (): Promise<string> => {
      const socket = connect({ host: '127.0.0.1', port: server.port, servername: SERVER_NAME, ca: ca.trustBundlePem, ALPNProtocols: ['h2'] });
      await once(socket, 'secureConnect');
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      return serial;
    };
    const renewed = ca.issueSync({ subject: { kind: 'server', dnsNames: [SERVER_NAME, 'localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: 3_600_000 });
    assert.notEqual((await peerSerial()).toLowerCase(), renewed.serial.toLowerCase());
    server.updateTls({ certificatePem: renewed.certificatePem, privateKeyPem: renewed.privateKeyPem, trustBundlePem: ca.trustBundlePem });
    assert.equal((await peerSerial()).toLowerCase(), renewed.serial.toLowerCase());
  });

  it('on shutdown ends every stream with UNAVAILABLE and stops accepting', async () => {
    const s = open(tlsFor(proxyA));
    s.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.clusters });
    await s.waitFor(1);
    await server.shutdown(5000);
    const status = await s.status;
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(status.details, /shutting down/);
    const late = new AdsTestStream(address, tlsFor(proxyA));
    late.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.clusters });
    assert.equal((await late.status).code, grpc.status.UNAVAILABLE);
    late.close();
  });
});

describe("URI SANs from Node's subjectaltname", () => {
  const table: [string | undefined, string[]][] = [
    [undefined, []],
    ['DNS:a.b.cluster.local', []],
    ['DNS:x.sidecar.web.shop.cluster.local, URI:spiffe://cluster.local/x/sidecar/web/shop', ['spiffe://cluster.local/x/sidecar/web/shop']],
    ['URI:spiffe://td/a, IP Address:127.0.0.1, URI:spiffe://td/b', ['spiffe://td/a', 'spiffe://td/b']],
    // Node writes a value with a comma as a JSON string: one URI, not two.
    ['DNS:a, URI:"spiffe://td/a, URI:spiffe://td/b"', ['spiffe://td/a, URI:spiffe://td/b']],
    ['DNS:"URI:spiffe://td/a"', []],
    ['DNS:"x, URI:spiffe://td/a", DNS:y', []],
    ['DNS:"a\\"b", URI:spiffe://td/c', ['spiffe://td/c']],
  ];
  for (const [input, want] of table) it(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => assert.deepEqual(sanUris(input), want));
});

describe('Delta ADS (DeltaAggregatedResources) over grpc-js with mTLS', () => {
  const { AggregatedDiscoveryServiceClient, DeltaDiscoveryRequest } = envoy.service.discovery.v3;
  type DeltaResponse = envoy.service.discovery.v3.DeltaDiscoveryResponse;

  it('subscribes, ACKs, receives only what a push changed (removals after), and a NACK keeps the stream and the last good config', async () => {
    const { ca, service, server } = await serveProxyA('osm-controller-delta');
    const c = bootstrap(ca, proxyA);
    const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(ca.trustBundlePem), Buffer.from(c.privateKeyPem), Buffer.from(c.certificatePem)), {
      'grpc.ssl_target_name_override': SERVER_NAME,
    });
    const call = client.deltaAggregatedResources();
    const responses: DeltaResponse[] = [];
    call.on('data', (r: DeltaResponse) => responses.push(r));
    call.on('error', () => undefined); // cancelled at the end
    const next = async (): Promise<DeltaResponse> => {
      const seen = responses.length;
      await eventually('a delta response', () => responses.length > seen, 10_000);
      return responses[seen] as DeltaResponse;
    };
    const send = (fields: Partial<envoy.service.discovery.v3.DeltaDiscoveryRequest>): void => void call.write(DeltaDiscoveryRequest.fromPartial({ typeUrl: TYPE_URLS.clusters, ...fields }));
    const cdsState = () => service.streamsOf(proxyA.uuid)[0]?.types.find((t) => t.typeUrl === TYPE_URLS.clusters);
    try {
      // A wildcard CDS subscription: every cluster of the proxy's snapshot, at its resource version.
      send({ node: { id: proxyA.uuid } as envoy.config.core.v3.Node });
      const first = await next();
      assert.equal(first.typeUrl, TYPE_URLS.clusters);
      assert.equal(first.controlPlane?.identifier, 'osm-controller-delta');
      const initial = bookSnapshot(proxyA);
      assert.deepEqual(first.resources.map((r) => [r.name, r.version]).sort(), [...initial.types.clusters.resources.values()].map((r) => [r.name, r.version]).sort());
      assert.deepEqual(first.removedResources, []);
      assert.equal(service.streamsOf(proxyA.uuid)[0]?.kind, 'delta');
      send({ responseNonce: first.nonce });
      await eventually('the ACK recorded', () => cdsState()?.acked?.nonce === first.nonce, 5000);

      // A push: one cluster added, one removed, one unchanged. Only the new one is sent; the removal follows (or comes with it).
      const pushed = bookSnapshot(proxyA, { clusters: ['shop/db|5432', 'shop/new|80'] });
      service.setSnapshot(pushed);
      const update = await next();
      assert.deepEqual(update.resources.map((r) => r.name), ['shop/new|80'], 'the unchanged cluster is not sent again');
      send({ responseNonce: update.nonce });
      const removal = update.removedResources.length > 0 ? update : await next();
      assert.deepEqual(removal.removedResources, ['shop/cache|6379']);
      if (removal !== update) send({ responseNonce: removal.nonce });
      await eventually('the push ACKed', () => cdsState()?.acked?.nonce === removal.nonce, 5000);
      const good = cdsState()?.acked?.version;

      // The proxy rejects the next push: counted, the last good version stays ACKed, nothing is resent, the stream goes on.
      service.setSnapshot(bookSnapshot(proxyA, { clusters: ['shop/db|5432', 'shop/new|80', 'shop/bad|1'] }));
      const rejected = await next();
      assert.deepEqual(rejected.resources.map((r) => r.name), ['shop/bad|1']);
      send({ responseNonce: rejected.nonce, errorDetail: { code: grpc.status.INVALID_ARGUMENT, message: 'shop/bad|1: invalid cluster', details: [] } });
      await eventually('the NACK recorded', () => cdsState()?.nacks === 1, 5000);
      assert.equal(cdsState()?.acked?.version, good, 'the last good config is still the ACKed one');
      assert.match(String(cdsState()?.lastNack?.message), /invalid cluster/);
      const afterNack = responses.length;
      service.setSnapshot(bookSnapshot(proxyA, { clusters: ['shop/db|5432', 'shop/new|80', 'shop/bad|1', 'shop/later|2'] }));
      const later = await next();
      assert.equal(responses.length, afterNack + 1);
      assert.deepEqual(later.resources.map((r) => r.name), ['shop/later|2'], 'the rejected version is not sent again; the next change is');
    } finally {
      call.cancel();
      client.close();
      await server.shutdown(1000);
    }
  });
});

describe('ADS maximum connection age', () => {
  it('gives each connection its own deadline (the age ±10 %), then ends it: GOAWAY, the connection cut after the grace period', async () => {
    const ageMs = 1000;
    const { ca, service, server } = await serveProxyA('aged', { maxConnectionAgeMs: ageMs, maxConnectionAgeGraceMs: 100 });
    try {
      const c = bootstrap(ca, proxyA);
      const tls = { rootPem: ca.trustBundlePem, certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem, serverName: SERVER_NAME };
      // Each stream on its own client, so on its own connection.
      const opened = Date.now();
      const streams = Array.from({ length: 6 }, () => new AdsTestStream(`127.0.0.1:${server.port}`, tls));
      for (const s of streams) s.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.clusters });
      await Promise.all(streams.map((s) => s.waitFor(1)));
      const served = Date.now();
      const statuses = service.streamsOf(proxyA.uuid);
      assert.equal(statuses.length, 6);
      // Each connection's own deadline: the age ±10 % from when it was accepted (between the two readings).
      const deadlines = statuses.map((st) => server.connectionClosesAt(st.peer) ?? Number.NaN);
      for (const d of deadlines) assert.ok(d >= opened + 0.9 * ageMs && d <= served + 1.1 * ageMs, `deadline ${d - opened} ms after the connections opened: within the age ±10 %`);
      assert.equal(new Set(deadlines).size, 6, 'every connection drew its own jitter');
      assert.equal(server.connectionClosesAt('127.0.0.1:1'), undefined, 'an unknown peer has no deadline');
      for (const s of streams) {
        const status = await s.status;
        assert.equal(status.code, grpc.status.UNAVAILABLE, 'GOAWAY, then the connection is cut after the grace period');
        s.close();
      }
      await eventually('every aged stream ended on the server too', () => service.streamsOf(proxyA.uuid).length === 0, 5000);
    } finally {
      await server.shutdown(1000);
    }
  });
});

describe('ADS shutdown with a stream that does not drain', () => {
  it('closes the connection once the grace period is over', async () => {
    const { ca, service, server, logs } = await serveProxyA('stuck');
    const c = bootstrap(ca, proxyA);
    const s = new AdsTestStream(`127.0.0.1:${server.port}`, { rootPem: ca.trustBundlePem, certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem, serverName: SERVER_NAME });
    try {
      s.send({ node: { id: proxyA.uuid }, typeUrl: TYPE_URLS.clusters });
      await s.waitFor(1);
      s.pause();
      // Enough to fill flow control and the transport's buffer, fewer than the limit that would close the stream.
      for (let i = 0; i < 25; i++) {
        service.setSnapshot(bookSnapshot(proxyA, { clusters: [`big=${String(i).repeat(100_000)}`] }));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await server.shutdown(500);
      assert.ok(logs.some((l) => l['msg'] === 'ADS drain grace period over; closing the remaining connections'), 'the stream did not drain on its own');
      // Still not reading: only a closed connection can end the call now.
      const status = await Promise.race([s.status, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
      assert.equal(status?.code, grpc.status.UNAVAILABLE, 'the connection was closed');
    } finally {
      s.close();
    }
  });
});

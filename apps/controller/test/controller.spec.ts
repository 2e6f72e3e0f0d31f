// osm-controller as a real process against a real API server, over real mTLS: readiness, serving a
// proxy its own config, the debug endpoints, refusals, NACKs, malformed requests, SIGTERM and SIGKILL.
// One raw ADS stream per proxy here (the socket and the exact requests are the point).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { envoy } from '@osm/envoy-api';
import { AdsTestStream, bootstrapOf, checkEnvoyOverAds, ControllerProcess, createBookstore, eventually, formatEnvoyProblems, KubeRest, startKubeApiServer, testAuthority, trafficTarget, trafficTargetsPath, type Bookstore, type KubeApiServer, type MeshPod } from '@osm/testing';
import { referencesOf, TYPE_URLS, type ResourceType } from '@osm/xds-snapshot';

const SERVER_NAME = 'osm-controller.osm-system.svc.cluster.local';
type Response = AdsTestStream['responses'][number];
const typeOf = (r: Response): ResourceType => (Object.keys(TYPE_URLS) as ResourceType[]).find((t) => TYPE_URLS[t] === r.typeUrl) as ResourceType;
const { Secret } = envoy.extensions.transport_sockets.tls.v3;

/** The names of the resources in an EDS, RDS or SDS response. */
function namesIn(r: Response): string[] {
  const type = typeOf(r);
  return r.resources.map((a) =>
    type === 'endpoints' ? envoy.config.endpoint.v3.ClusterLoadAssignment.decode(a.value).clusterName : type === 'routes' ? envoy.config.route.v3.RouteConfiguration.decode(a.value).name : Secret.decode(a.value).name,
  );
}

/** The requests Envoy makes on connect: CDS and LDS, then EDS, RDS and SDS for the names they refer to; every response ACKed. */
async function subscribe(stream: AdsTestStream, pod: MeshPod): Promise<Map<ResourceType, Response>> {
  const node = { id: pod.uuid };
  stream.send({ node, typeUrl: TYPE_URLS.clusters });
  stream.send({ node, typeUrl: TYPE_URLS.listeners });
  const [cds, lds] = (await stream.waitFor(2)).sort((a, b) => (typeOf(a) < typeOf(b) ? -1 : 1)) as [Response, Response];
  const names = (r: Response, kind: 'endpoints' | 'routes' | 'secrets'): string[] => [...new Set(r.resources.flatMap((a) => referencesOf(a.typeUrl, a.value)[kind]))].sort();
  const held = new Map<ResourceType, Response>([
    ['clusters', cds],
    ['listeners', lds],
  ]);
  const named: [ResourceType, string[]][] = [
    ['endpoints', names(cds, 'endpoints')],
    ['routes', names(lds, 'routes')],
    ['secrets', [...new Set([...names(cds, 'secrets'), ...names(lds, 'secrets')])].sort()],
  ];
  for (const [type, resourceNames] of named) stream.send({ node, typeUrl: TYPE_URLS[type], resourceNames });
  for (const r of await stream.waitFor(5)) held.set(typeOf(r), r);
  for (const [type, r] of held) {
    const resourceNames = named.find(([t]) => t === type)?.[1] ?? [];
    stream.send({ node, typeUrl: TYPE_URLS[type], versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames });
  }
  return held;
}

interface DebugProxy {
  readonly uuid: string;
  readonly pod: string;
  readonly identity: string;
  readonly kind: string;
  readonly types: Record<string, { acked?: { version: string; nonce: string }; sent?: { version: string; nonce: string }; nacks: number }>;
}

describe('osm-controller against a real API server', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  let mesh: Bookstore;
  let controller: ControllerProcess;
  let ads: string;
  const streams: AdsTestStream[] = [];
  const pod = (app: string, i = 0): MeshPod => mesh.pods.find((p) => p.app === app && p.name.endsWith(`-${i}`)) as MeshPod;
  const open = (
    p: Pick<MeshPod, 'uuid' | 'serviceAccount' | 'namespace'>,
    tls: Partial<Parameters<typeof bootstrapOf>[0]> & { noCert?: boolean; ca?: Bookstore['ca']; cert?: ReturnType<typeof bootstrapOf> } = {},
  ): AdsTestStream => {
    const cert = tls.noCert ? undefined : (tls.cert ?? bootstrapOf(tls.ca ?? mesh.ca, { ...p, ...tls }));
    const s = new AdsTestStream(ads, { rootPem: mesh.rootPem, serverName: SERVER_NAME, ...(cert ? { certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem } : {}) });
    streams.push(s);
    return s;
  };
  const proxies = async (): Promise<DebugProxy[]> => (await controller.json<{ proxies: DebugProxy[] }>('/debug/proxies')).proxies;

  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
    mesh = await createBookstore(rest, 2);
    controller = new ControllerProcess(api.kubeconfigPath, ['--replica-id', 'osm-controller-test-0']);
    ads = await controller.adsAddress();
  });
  after(async () => {
    for (const s of streams) s.close();
    await controller?.stop('SIGKILL');
    await api?.stop();
  });

  it('is ready once caches, root and first snapshots are there; serves /version and the metrics', async () => {
    await eventually('ready', async () => (await controller.get('/readyz')).status === 200);
    const readyz = JSON.parse((await controller.get('/readyz')).body) as { checks: { name: string; ok: boolean }[] };
    assert.deepEqual(readyz.checks.map((c) => c.name).sort(), ['ads', 'caches-synced', 'kube-api', 'root-ca', 'snapshots']);
    assert.equal(JSON.parse((await controller.get('/version')).body).component, 'controller');
    const metrics = (await controller.get('/metrics')).body;
    for (const name of ['osm_version_info', 'osm_proxy_connect_count', 'osm_k8s_api_event_count']) assert.match(metrics, new RegExp(`^${name}`, 'm'));
    assert.match(metrics, /osm_k8s_api_event_count\{type="pod-added",namespace="bookbuyer"\} 2/);
  });

  it('serves a proxy its own config and shows its ACK state and config dump', async () => {
    const buyer = pod('bookbuyer');
    const s = open(buyer);
    const held = await subscribe(s, buyer);
    for (const r of held.values()) assert.equal(r.controlPlane?.identifier, 'osm-controller-test-0');
    await eventually('ACKs recorded', async () => (await proxies()).some((p) => p.uuid === buyer.uuid && Object.values(p.types).filter((t) => t.acked).length === 5));
    const mine = (await proxies()).find((p) => p.uuid === buyer.uuid) as DebugProxy;
    assert.equal(mine.pod, `bookbuyer/${buyer.name}`);
    assert.equal(mine.identity, 'bookbuyer/bookbuyer');
    assert.equal(mine.kind, 'sotw');
    for (const [type, r] of held) assert.deepEqual(mine.types[TYPE_URLS[type]]?.acked, { version: r.versionInfo, nonce: r.nonce });

    const dump = await controller.json<{ replica: string; connected: boolean; config: Record<string, { version: string; resources: { name: string }[] }> }>(`/debug/config_dump?pod=bookbuyer/${buyer.name}`);
    assert.equal(dump.replica, 'osm-controller-test-0');
    assert.equal(dump.connected, true);
    for (const type of ['clusters', 'listeners'] as const) assert.equal(dump.config[type]?.version, held.get(type)?.versionInfo);
    for (const type of ['endpoints', 'routes', 'secrets'] as const) {
      const dumped = dump.config[type]?.resources.map((r) => r.name) ?? [];
      for (const name of namesIn(held.get(type) as Response)) assert.ok(dumped.includes(name), `${name} in the dump`);
    }
    const text = JSON.stringify(dump);
    assert.doesNotMatch(text, /PRIVATE KEY/, 'private keys are redacted');
    assert.match(text, /BEGIN CERTIFICATE/);

    const other = await controller.json<{ connected: boolean; config: Record<string, { version: string }> | null }>(`/debug/config_dump?proxy=${pod('bookthief').uuid}`);
    assert.equal(other.connected, false);
    assert.ok(other.config?.['clusters'], 'any proxy of the mesh can be dumped');
    assert.equal((await controller.get('/debug/config_dump?pod=nowhere/nothing')).status, 404);
    assert.equal((await controller.get('/debug/config_dump')).status, 400);
  });

  it("passes the independent Go check (go-control-plane's ValidateAll, references resolved) for every bookstore proxy", async () => {
    let secrets = 0;
    for (const p of mesh.pods) {
      const cert = mesh.bootstrap(p);
      const report = await checkEnvoyOverAds({ server: ads, caPem: mesh.rootPem, certPem: cert.certificatePem, keyPem: cert.privateKeyPem, serverName: SERVER_NAME, nodeId: p.uuid });
      assert.ok(report.ok, `${p.namespace}/${p.name}:\n${formatEnvoyProblems(report.problems)}`);
      assert.equal(report.controlPlane, 'osm-controller-test-0');
      // What it received is its own config: every cluster and listener of its dump, and of the rest only what they name.
      const dump = await controller.json<{ config: Record<ResourceType, { resources: { name: string }[] }> }>(`/debug/config_dump?proxy=${p.uuid}`);
      const received = (type: ResourceType): string[] => report.resources.filter((r) => r.typeUrl === TYPE_URLS[type]).map((r) => r.name).sort();
      const dumped = (type: ResourceType): string[] => dump.config[type].resources.map((r) => r.name).sort();
      for (const type of ['clusters', 'listeners'] as const) assert.deepEqual(received(type), dumped(type), `${p.name} ${type}`);
      for (const type of ['endpoints', 'routes', 'secrets'] as const) for (const name of received(type)) assert.ok(dumped(type).includes(name), `${p.name} ${type} ${name}`);
      secrets += received('secrets').length;
    }
    assert.ok(secrets > 0, 'the proxies that call or serve something received their certificates');
  });

  it('refuses another root, no certificate, a service certificate with a bootstrap CN, a node id that does not match, another identity\'s secret and an unknown pod, while serving the rest', async () => {
    const buyer = pod('bookbuyer', 1);
    const good = open(buyer);
    await subscribe(good, buyer);
    const other = await testAuthority();
    const thief = pod('bookthief');
    // A mesh service certificate for the service account `<uuid>.sidecar.bookthief` in bookthief: its CN is thief's bootstrap CN.
    const lookalike = mesh.ca.issueSync({ subject: { kind: 'service', serviceAccount: `${thief.uuid}.sidecar.bookthief`, namespace: 'bookthief' }, validityMs: 3_600_000 });
    const cases: [string, AdsTestStream, Parameters<AdsTestStream['send']>[0], grpc.status, RegExp][] = [
      ['another root', open(thief, { ca: other.ca }), { node: { id: thief.uuid }, typeUrl: TYPE_URLS.clusters }, grpc.status.UNAUTHENTICATED, /no client certificate issued by the mesh root/],
      ['no certificate', open(thief, { noCert: true }), { node: { id: thief.uuid }, typeUrl: TYPE_URLS.clusters }, grpc.status.UNAUTHENTICATED, /no client certificate/],
      ['a service certificate with a bootstrap CN', open(thief, { cert: lookalike }), { node: { id: thief.uuid }, typeUrl: TYPE_URLS.clusters }, grpc.status.UNAUTHENTICATED, /has the bootstrap form, but its URI SANs \("spiffe:\/\/cluster\.local\/ns\/bookthief\/sa\/.*\.sidecar\.bookthief"\) are not the bootstrap URI/],
      ['node id of another proxy', open(thief), { node: { id: buyer.uuid }, typeUrl: TYPE_URLS.clusters }, grpc.status.PERMISSION_DENIED, /does not match the proxy uuid/],
      ["another identity's secret", open(thief), { node: { id: thief.uuid }, typeUrl: TYPE_URLS.secrets, resourceNames: ['service-cert:bookstore/bookstore'] }, grpc.status.PERMISSION_DENIED, /certificate of bookstore\/bookstore/],
      ['a pod the mesh does not have', open({ uuid: '00000000-0000-4000-8000-000000000000', serviceAccount: 'bookthief', namespace: 'bookthief' }), { node: { id: '00000000-0000-4000-8000-000000000000' }, typeUrl: TYPE_URLS.clusters }, grpc.status.NOT_FOUND, /no pod labelled osm-proxy-uuid=0{8}-/],
    ];
    for (const [, s, request] of cases) s.send(request);
    for (const [name, s, , code, details] of cases) {
      const status = await s.status;
      assert.equal(status.code, code, `${name}: ${status.details}`);
      assert.match(status.details, details, name);
    }
    // Refused before being served, counted by code (the secret request was served first, then closed).
    const metrics = (await controller.get('/metrics')).body;
    for (const [code, n] of [['Unauthenticated', 3], ['PermissionDenied', 1], ['NotFound', 1]] as const) assert.match(metrics, new RegExp(`^osm_proxy_xds_refused_total\\{code="${code}"\\} ${n}$`, 'm'), code);
    // The good stream still gets pushes: move a bookstore endpoint.
    const before = good.responses.length;
    await rest.patch('/apis/discovery.k8s.io/v1/namespaces/bookstore/endpointslices/bookstore-v1-1', { endpoints: [{ addresses: ['10.9.9.9'], conditions: { ready: true } }] });
    const pushed = await good.waitFor(before + 1);
    assert.equal(typeOf(pushed[before] as Response), 'endpoints');
  });

  it('pushes a TrafficTarget to the proxies it affects; the others see no new nonce', async () => {
    const thief = pod('bookthief', 1);
    const mysql = pod('mysql', 1);
    const thiefStream = open(thief);
    const mysqlStream = open(mysql);
    await subscribe(thiefStream, thief);
    await subscribe(mysqlStream, mysql);
    await eventually('ACKed', async () => (await proxies()).filter((p) => [thief.uuid, mysql.uuid].includes(p.uuid) && Object.values(p.types).every((t) => t.acked?.nonce === t.sent?.nonce)).length === 2);
    const sentBefore = (await proxies()).find((p) => p.uuid === mysql.uuid)?.types;
    const thiefCount = thiefStream.responses.length;
    await rest.create(trafficTargetsPath('bookstore'), trafficTarget('bookstore', 'bookstore-thief', [{ ns: 'bookthief', sa: 'bookthief' }], 'bookstore-service-routes', 'bookstore'));
    const pushed = (await thiefStream.waitFor(thiefCount + 1)).slice(thiefCount);
    assert.ok(pushed.some((r) => typeOf(r) === 'clusters' || typeOf(r) === 'listeners'), 'bookthief may now call bookstore');
    const after = (await proxies()).find((p) => p.uuid === mysql.uuid)?.types;
    assert.deepEqual(after, sentBefore, 'mysql (not affected) was sent nothing');
    assert.equal(mysqlStream.responses.length, 5);
  });

  it('reports an object it cannot apply: a log line, a Warning Event on the object and the problems gauge', async () => {
    await rest.create('/apis/split.smi-spec.io/v1alpha2/namespaces/bookstore/trafficsplits', {
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'elsewhere' },
      spec: { service: 'bookstore.bookwarehouse', backends: [{ service: 'bookstore-v1', weight: 1 }] },
    });
    await eventually('problem counted', async () => /osm_policy_problems\{kind="TrafficSplit",reason="InvalidApex"\} 1/.test((await controller.get('/metrics')).body));
    await controller.waitForLog((l) => l.msg.startsWith('TrafficSplit bookstore/elsewhere cannot be applied'));
    await eventually('Event recorded', async () => {
      const events = (await rest.ok('GET', '/api/v1/namespaces/bookstore/events')) as { items: { involvedObject: { kind: string; name: string }; type: string; reason: string; message: string }[] };
      return events.items.some((e) => e.involvedObject.kind === 'TrafficSplit' && e.involvedObject.name === 'elsewhere' && e.type === 'Warning' && e.reason === 'InvalidApex' && e.message.startsWith('spec.service:'));
    });
    await rest.delete('/apis/split.smi-spec.io/v1alpha2/namespaces/bookstore/trafficsplits/elsewhere');
    await eventually('problem gone', async () => /osm_policy_problems\{kind="TrafficSplit",reason="InvalidApex"\} 0/.test((await controller.get('/metrics')).body));
  });

  it('keeps a NACKed version from being sent again and counts the NACK in /metrics', async () => {
    const buyer = pod('bookbuyer');
    const s = open(buyer);
    const held = await subscribe(s, buyer);
    const count = s.responses.length;
    // bookbuyer calls bookstore (split over v1 and v2): a v1 endpoint moves.
    await rest.patch('/apis/discovery.k8s.io/v1/namespaces/bookstore/endpointslices/bookstore-v1-1', { endpoints: [{ addresses: ['10.9.9.8'], conditions: { ready: true } }] });
    const [eds] = (await s.waitFor(count + 1)).slice(count) as [Response];
    assert.equal(typeOf(eds), 'endpoints');
    const good = held.get('endpoints') as Response;
    s.send({ node: { id: buyer.uuid }, typeUrl: TYPE_URLS.endpoints, versionInfo: good.versionInfo, responseNonce: eds.nonce, resourceNames: namesIn(good), errorDetail: { code: 3, message: 'test: endpoint rejected', details: [] } });
    await eventually('NACK counted', async () => /osm_proxy_xds_nack_total\{[^}]*type="EDS"[^}]*\} 1/.test((await controller.get('/metrics')).body));
    const mine = (await proxies()).find((p) => p.uuid === buyer.uuid && p.types[TYPE_URLS.endpoints]?.nacks === 1);
    assert.equal(mine?.types[TYPE_URLS.endpoints]?.acked?.version, good.versionInfo, 'the last good version stays ACKed');
    assert.equal(s.responses.length, count + 1, 'not sent again');
    // Requests and responses are counted per proxy and type too, under OSM's names.
    const body = (await controller.get('/metrics')).body;
    for (const name of ['osm_proxy_xds_request_count', 'osm_proxy_response_send_success_count']) {
      assert.match(body, new RegExp(`^${name}\\{proxy_uuid="${buyer.uuid}",identity="bookbuyer/bookbuyer",type="EDS"\\} [1-9]\\d*$`, 'm'), name);
    }
  });

  it('ignores an unknown type URL, a garbage nonce and a 100,000-name subscription; a stream that never reads does not stop the server', async () => {
    const buyer = pod('bookbuyer', 1);
    const s = open(buyer);
    const held = await subscribe(s, buyer);
    const count = s.responses.length;
    const node = { id: buyer.uuid };
    s.send({ node, typeUrl: 'type.googleapis.com/envoy.service.runtime.v3.Runtime', resourceNames: ['x'] });
    s.send({ node, typeUrl: TYPE_URLS.clusters, responseNonce: '\u0000garbage', versionInfo: 'nope' });
    // Answers the latest EDS response: a request with an older nonce is ignored as stale before its names
    // are looked at, so a push that arrives meanwhile (an earlier test's change) would hide the check.
    const oversized = (): void => {
      const eds = s.responses.findLast((r) => typeOf(r) === 'endpoints') ?? (held.get('endpoints') as Response);
      s.send({ node, typeUrl: TYPE_URLS.endpoints, versionInfo: eds.versionInfo, responseNonce: eds.nonce, resourceNames: Array.from({ length: 100_000 }, (_, i) => `bogus-${i}`) });
    };
    oversized();
    const idle = open(pod('bookwarehouse'));
    idle.send({ node: { id: pod('bookwarehouse').uuid }, typeUrl: TYPE_URLS.clusters });
    idle.pause();
    await rest.patch('/apis/discovery.k8s.io/v1/namespaces/bookstore/endpointslices/bookstore-v2-1', { endpoints: [{ addresses: ['10.9.9.7'], conditions: { ready: true } }] });
    const [pushed] = (await s.waitFor(count + 1)).slice(count) as [Response];
    assert.equal(typeOf(pushed), 'endpoints', 'the stream keeps working');
    assert.ok(pushed.resources.length > 0, 'with its previous subscription');
    assert.equal((await controller.get('/livez')).status, 200);
    // The log line comes over the child's stdout, which may trail the push on the stream; sent again
    // (with the latest nonce) should a push have made the first one stale.
    const logged = (): boolean => controller.logs.some((l) => l.msg === 'subscription has more names than allowed');
    await eventually('the oversized subscription logged', async () => {
      if (logged()) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (!logged()) oversized();
      return logged();
    }, 20_000);
  });
});

describe('osm-controller restarts', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  let mesh: Bookstore;
  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
    mesh = await createBookstore(rest, 1);
  });
  after(() => api?.stop());

  it('after SIGKILL, a proxy that reconnects with its versions is sent nothing, not even a certificate, until something changes', async () => {
    const buyer = mesh.pods.find((p) => p.app === 'bookbuyer') as MeshPod;
    const first = new ControllerProcess(api.kubeconfigPath, ['--replica-id', 'first']);
    const ads = await first.adsAddress();
    const cert = mesh.bootstrap(buyer);
    const tls = { rootPem: mesh.rootPem, serverName: SERVER_NAME, certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem };
    const before = new AdsTestStream(ads, tls);
    const held = await subscribe(before, buyer);
    assert.ok(namesIn(held.get('secrets') as Response).includes('service-cert'), 'the proxy holds a service certificate');
    assert.equal(await first.stop('SIGKILL'), 'SIGKILL');
    const status = await before.status;
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    before.close();

    const second = new ControllerProcess(api.kubeconfigPath, ['--replica-id', 'second', '--ads-port', ads.split(':')[1] as string]);
    try {
      const again = new AdsTestStream(await second.adsAddress(), tls);
      const node = { id: buyer.uuid };
      const order: ResourceType[] = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'];
      for (const type of order) {
        const r = held.get(type) as Response;
        const names = type === 'clusters' || type === 'listeners' ? [] : namesIn(r);
        again.send({ node, typeUrl: TYPE_URLS[type], versionInfo: r.versionInfo, resourceNames: names });
      }
      // The new process issued its own service certificate, of the same generation as the one the proxy
      // holds: the secret's version is equal, so it is not sent. A change shows the stream is served.
      await eventually('the new process has the stream', async () => (await second.json<{ proxies: DebugProxy[] }>('/debug/proxies')).proxies.some((p) => p.uuid === buyer.uuid));
      await rest.patch('/apis/discovery.k8s.io/v1/namespaces/bookstore/endpointslices/bookstore-v1-1', { endpoints: [{ addresses: ['10.9.9.6'], conditions: { ready: true } }] });
      const [pushed] = await again.waitFor(1);
      assert.equal(pushed?.controlPlane?.identifier, 'second');
      assert.equal(typeOf(pushed as Response), 'endpoints', 'the first response is the change');
      // Whatever a push sends, it sends in one go (the flush that sent the endpoints would have sent a secret with them).
      const types = (await second.json<{ proxies: DebugProxy[] }>('/debug/proxies')).proxies.find((p) => p.uuid === buyer.uuid)?.types ?? {};
      const sent = Object.entries(types).filter(([, t]) => t.sent !== undefined).map(([url]) => url);
      assert.deepEqual(sent, [TYPE_URLS.endpoints], 'nothing but the changed endpoints was sent on the new stream');
      again.close();
      assert.equal(await second.stop('SIGTERM'), 0);
    } finally {
      await second.stop('SIGKILL');
    }
  });

  it('on SIGTERM ends every stream with UNAVAILABLE and exits 0', async () => {
    const buyer = mesh.pods.find((p) => p.app === 'bookbuyer') as MeshPod;
    const controller = new ControllerProcess(api.kubeconfigPath);
    try {
      const cert = mesh.bootstrap(buyer);
      const s = new AdsTestStream(await controller.adsAddress(), { rootPem: mesh.rootPem, serverName: SERVER_NAME, certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem });
      await subscribe(s, buyer);
      assert.equal(await controller.stop('SIGTERM'), 0);
      const status = await s.status;
      assert.equal(status.code, grpc.status.UNAVAILABLE);
      assert.match(status.details, /shutting down/);
      s.close();
      assert.ok(controller.logs.some((l) => l.msg === 'shutdown complete'));
    } finally {
      await controller.stop('SIGKILL');
    }
  });
});


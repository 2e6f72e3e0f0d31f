// Traces from a real controller process: a real API server, simulated sidecars over mTLS (the fleet),
// and a real OTLP receiver. A change to an EndpointSlice must come out as one trace covering the batch,
// the builds of exactly the proxies it affected, and their pushes ending in ACKs; a proxy that rejects
// its push must come out as an error span carrying Envoy's error detail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControllerProcess, createBookstore, eventually, KubeRest, startFleet, startKubeApiServer, startOtlpReceiver, type Bookstore, type Fleet, type KubeApiServer, type OtlpReceiver, type ReceivedSpan } from '@osm/testing';
import { TYPE_URLS } from '@osm/xds-snapshot';

const SLICE = '/apis/discovery.k8s.io/v1/namespaces/bookstore/endpointslices/bookstore-v1-1';
const EDS = TYPE_URLS.endpoints;

interface AckState {
  readonly sent?: { readonly version: string; readonly nonce: string };
  readonly acked?: { readonly version: string; readonly nonce: string };
}
/** /debug/proxies: each proxy's ACK state per type URL, as the controller sees it. */
interface DebugProxy {
  readonly uuid: string;
  readonly types: Readonly<Record<string, AckState>>;
}

describe('osm-controller traces (real API server, simulated sidecars, OTLP receiver)', () => {
  let api: KubeApiServer;
  let rest: KubeRest;
  let mesh: Bookstore;
  let receiver: OtlpReceiver;
  let controller: ControllerProcess;
  let fleet: Fleet;

  const proxies = async (): Promise<DebugProxy[]> => (await controller.json<{ proxies: DebugProxy[] }>('/debug/proxies')).proxies;
  /** Every pod's proxy connected, its last response of each type ACKed (as the controller sees it). */
  async function settled(): Promise<DebugProxy[]> {
    let last: DebugProxy[] = [];
    await eventually(
      'every proxy connected and ACKed',
      async () => {
        last = await proxies();
        return last.length === mesh.pods.length && last.every((p) => Object.keys(p.types).length >= 2 && Object.values(p.types).every((t) => t.sent !== undefined && t.acked?.nonce === t.sent.nonce));
      },
      120_000,
    );
    return last;
  }
  /** The EDS nonce last sent to each proxy. */
  const edsNonces = (all: DebugProxy[]): Map<string, string> => new Map(all.map((p) => [p.uuid, p.types[EDS]?.sent?.nonce ?? '']));

  /** Moves bookstore-v1's endpoint; resolves with the batch span of the trace that carries the event. */
  async function moveEndpoint(address: string): Promise<ReceivedSpan> {
    const patched = (await rest.patch(SLICE, { endpoints: [{ addresses: [address], conditions: { ready: true } }] })) as { metadata: { resourceVersion: string } };
    const event = `endpointslice bookstore/bookstore-v1-1 updated rv=${patched.metadata.resourceVersion}`;
    return receiver.waitForSpan((s) => s.name === 'catalog.batch' && (s.attributes['osm.kube.events'] as string[] | undefined)?.includes(event) === true);
  }

  const traceOf = (batch: ReceivedSpan): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === batch.traceId);

  before(async () => {
    api = await startKubeApiServer({ progress: () => undefined });
    rest = new KubeRest(api.kubeConfig);
    receiver = await startOtlpReceiver();
    mesh = await createBookstore(rest, 2);
    controller = new ControllerProcess(api.kubeconfigPath, ['--replica-id', 'osm-controller-trace-0', '--otlp-endpoint', receiver.endpoint]);
    const ads = await controller.adsAddress();
    fleet = await startFleet({
      servers: [ads],
      rootPem: mesh.rootPem,
      processes: 1,
      proxies: mesh.pods.map((pod) => {
        const { certificatePem, privateKeyPem } = mesh.bootstrap(pod);
        return { uuid: pod.uuid, certificatePem, privateKeyPem };
      }),
    });
    await settled();
  });
  after(async () => {
    await fleet?.stop();
    await controller?.stop();
    await receiver?.close();
    await api?.stop();
  });

  it('an EndpointSlice change: one trace with the batch, the diff, a build per affected proxy and pushes ending in ACKs', async (t) => {
    const before = edsNonces(await settled());
    const batch = await moveEndpoint('10.9.9.9');
    const after = edsNonces(await settled());
    const changed = mesh.pods.filter((p) => after.get(p.uuid) !== before.get(p.uuid)).map((p) => p.uuid);
    assert.ok(changed.length > 0, 'some proxies route to bookstore-v1');
    const affected = batch.attributes['osm.batch.connected_affected_proxies'] as number;
    assert.equal(batch.attributes['osm.batch.traced_proxies'], affected, 'under the bound: every affected proxy traced');
    // Children (builds, pushes) are exported as they end: wait for all of them.
    await receiver.waitForSpan(() => traceOf(batch).filter((s) => s.name === 'xds.push').length === affected);
    await receiver.waitForSpan(() => traceOf(batch).filter((s) => s.name === 'snapshot.build').length === affected);
    const spans = traceOf(batch);
    assert.equal(batch.parentSpanId, '', 'the batch is the root');
    assert.equal(batch.resource['service.name'], 'osm-controller');
    assert.ok(spans.every((s) => s === batch || s.parentSpanId === batch.spanId), 'every other span is a child of the batch');
    assert.equal(spans.filter((s) => s.name === 'model.diff').length, 1);
    const builds = spans.filter((s) => s.name === 'snapshot.build').map((s) => s.attributes['osm.proxy.uuid'] as string);
    const pushes = spans.filter((s) => s.name === 'xds.push');
    assert.equal(new Set(builds).size, builds.length, 'one build per proxy');
    assert.deepEqual([...pushes.map((s) => s.attributes['osm.proxy.uuid'])].sort(), [...builds].sort(), 'a push per build');
    const sent = pushes.filter((s) => (s.attributes['osm.xds.responses'] as number) > 0);
    // Exactly the proxies whose endpoints changed were built and pushed: a catalog that marked every
    // proxy affected (or a builder that rebuilt them all) would show more builds than EDS changes.
    assert.deepEqual([...builds].sort(), [...changed].sort(), 'built: exactly the proxies whose EDS nonce changed');
    assert.deepEqual(pushes.map((s) => s.attributes['osm.proxy.uuid']).sort(), [...changed].sort(), 'pushed: exactly the proxies whose EDS nonce changed');
    assert.deepEqual(sent.map((s) => s.attributes['osm.proxy.uuid']).sort(), [...changed].sort(), 'every push sent something');
    t.diagnostic(`${mesh.pods.length} proxies; batch affected ${affected}, built and pushed ${builds.length}, ${sent.length} got new endpoints and ACKed`);
    for (const push of sent) {
      assert.equal(push.status.code ?? 0, 0, `push to ${String(push.attributes['k8s.pod.name'])} ended in an ACK`);
      assert.deepEqual(push.attributes['osm.xds.types'], ['EDS']);
      assert.equal(push.attributes['osm.xds.superseded'], undefined, 'not ended by a later push');
    }
  });

  it('a proxy that rejects its push: the push span is an error with Envoy\u2019s error detail', async () => {
    const before = edsNonces(await settled());
    const first = await moveEndpoint('10.9.9.8');
    const after = edsNonces(await settled());
    const receiving = mesh.pods.filter((p) => after.get(p.uuid) !== before.get(p.uuid));
    const rejecting = receiving[0];
    assert.ok(rejecting && first);
    const detail = `simulated Envoy: endpoints of ${rejecting.name} rejected`;
    await fleet.setNackRules([{ proxies: [rejecting.uuid], typeUrl: EDS, detail }]);
    const batch = await moveEndpoint('10.9.9.7');
    const push = await receiver.waitForSpan((s) => s.traceId === batch.traceId && s.name === 'xds.push' && s.attributes['osm.proxy.uuid'] === rejecting.uuid);
    assert.equal(push.status.code, 2, 'ERROR');
    assert.equal(push.status.message, `proxy rejected EDS (NACK): ${detail}`);
    assert.equal(push.attributes['osm.xds.nack.type'], 'EDS');
    assert.equal(push.parentSpanId, batch.spanId);
    await fleet.setNackRules([]);
  });
});

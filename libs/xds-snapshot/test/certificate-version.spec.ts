// The `service-cert` secret's version: by generation when the certificate has one, so that two replicas'
// different certificates of one generation give a proxy the same SDS versions (per resource for delta,
// per set for state of the world), and by bytes otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Proxy } from '@osm/mesh-model';
import { buildSnapshot, ResourceCache, SERVICE_CERT, type Snapshot, type SnapshotInputs } from '../src/index.ts';
import { bookstoreModel, inputsFor, proxies } from './bookstore.ts';

const model = bookstoreModel('smi');
const generation = { index: 98_172, validityMs: 86_400_000, rootFingerprint: 'ab'.repeat(32) };

/** The proxy's inputs with a certificate of its own bytes (`replica` tells two issuances apart) and an optional generation. */
function inputs(proxy: Proxy, replica: string, gen: SnapshotInputs['certificate']['generation']): SnapshotInputs {
  const base = inputsFor(proxy);
  const certificate = { certificateChain: `${base.certificate.certificateChain}issued by ${replica}\n`, privateKey: `${base.certificate.privateKey}of ${replica}\n` };
  return { ...base, certificate: gen ? { ...certificate, generation: gen } : certificate };
}

const serviceCert = (s: Snapshot) => {
  const r = s.types.secrets.resources.get(SERVICE_CERT);
  assert.ok(r, `${s.proxy} has ${SERVICE_CERT}`);
  return r;
};

describe('the service certificate version', () => {
  const buyer = proxies.bookbuyer;

  it('does not depend on the certificate bytes: two replicas with one generation give the proxy equal SDS versions', () => {
    const cache = new ResourceCache();
    const a = buildSnapshot(model, buyer, { ...inputs(buyer, 'replica-a', generation), cache });
    // Another replica: its own cache and its own certificate.
    const b = buildSnapshot(model, buyer, { ...inputs(buyer, 'replica-b', generation), cache: new ResourceCache() });
    assert.notDeepEqual(serviceCert(a).bytes, serviceCert(b).bytes, 'different certificates');
    assert.equal(serviceCert(a).version, serviceCert(b).version);
    assert.equal(a.types.secrets.version, b.types.secrets.version, 'the set version too (state of the world)');
    // Nothing else moved: every other type has the same version as well.
    for (const type of ['clusters', 'endpoints', 'listeners', 'routes'] as const) assert.equal(a.types[type].version, b.types[type].version, type);
  });

  it('depends on the generation: its index, its validity and its root', () => {
    const cache = new ResourceCache();
    const version = (gen: SnapshotInputs['certificate']['generation']): string => serviceCert(buildSnapshot(model, buyer, { ...inputs(buyer, 'replica-a', gen), cache })).version;
    const base = version(generation);
    const changed = [
      version({ ...generation, index: generation.index + 1 }),
      version({ ...generation, validityMs: 3_600_000 }),
      version({ ...generation, rootFingerprint: 'cd'.repeat(32) }),
    ];
    assert.equal(new Set([base, ...changed]).size, 4, 'each change gives a new version, though the bytes are the same (the cache tells them apart)');
  });

  it('depends on the identity: two identities with the same generation have different versions', () => {
    const cache = new ResourceCache();
    const thief = proxies.bookthief;
    const a = buildSnapshot(model, buyer, { ...inputs(buyer, 'replica-a', generation), cache });
    const b = buildSnapshot(model, thief, { ...inputs(thief, 'replica-a', generation), cache });
    assert.notEqual(serviceCert(a).version, serviceCert(b).version);
  });

  it('without a generation it is the hash of the bytes: different certificates, different versions', () => {
    const a = buildSnapshot(model, buyer, inputs(buyer, 'replica-a', undefined));
    const b = buildSnapshot(model, buyer, inputs(buyer, 'replica-b', undefined));
    const again = buildSnapshot(model, buyer, inputs(buyer, 'replica-a', undefined));
    assert.notEqual(serviceCert(a).version, serviceCert(b).version);
    assert.equal(serviceCert(a).version, serviceCert(again).version);
    assert.notEqual(serviceCert(a).version, serviceCert(buildSnapshot(model, buyer, inputs(buyer, 'replica-a', generation))).version);
  });
});

// One long-lived ResourceCache across random sequences of model changes (services, ports, endpoints,
// proxies, policies, splits, settings): after every step every proxy's bytes and versions equal a build
// from an empty cache. Each step changes one entry of one part of the model and keeps every other part
// the very same object, as the catalog does, so the builder's identity memos are exercised too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { MeshModel } from '@osm/mesh-model';
import { buildSnapshot, ResourceCache } from '../src/index.ts';
import { meshArb } from './arbitraries.ts';
import { fingerprint } from './helpers.ts';

type MapPart = 'services' | 'endpoints' | 'proxies' | 'trafficTargets' | 'httpRouteGroups' | 'tcpRoutes' | 'trafficSplits';
const MAP_PARTS: readonly MapPart[] = ['services', 'endpoints', 'proxies', 'trafficTargets', 'httpRouteGroups', 'tcpRoutes', 'trafficSplits'];

/** One change: take (or drop) one entry of one part from a donor model, or the donor's settings. */
type Step = { readonly part: MapPart | 'settings'; readonly donor: number; readonly pick: number; readonly drop: boolean };

const stepArb: fc.Arbitrary<Step> = fc.record({
  part: fc.constantFrom<MapPart | 'settings'>(...MAP_PARTS, 'settings'),
  donor: fc.nat(),
  pick: fc.nat(),
  drop: fc.boolean(),
});

function apply(model: MeshModel, donors: readonly MeshModel[], step: Step): MeshModel {
  const donor = donors[step.donor % donors.length] as MeshModel;
  if (step.part === 'settings') {
    // A settings change: the donor's switches, sometimes another cluster or trust domain.
    const domains = ['cluster.local', 'corp.example'];
    return { ...model, settings: { ...donor.settings, clusterDomain: domains[step.pick % 2] as string, trustDomain: domains[(step.pick >> 1) % 2] as string } };
  }
  const current = model[step.part] as ReadonlyMap<string, unknown>;
  const next = new Map(current);
  if (step.drop && current.size > 0) next.delete([...current.keys()][step.pick % current.size] as string);
  else {
    const source = donor[step.part] as ReadonlyMap<string, unknown>;
    if (source.size === 0) return model;
    const [key, value] = [...source.entries()][step.pick % source.size] as [string, unknown];
    next.set(key, value);
  }
  return { ...model, [step.part]: next };
}

const inputsFor = (identity: string) => ({ certificate: { certificateChain: `CHAIN ${identity}`, privateKey: `KEY ${identity}` }, trustBundle: 'ROOTS' });

describe('a long-lived ResourceCache', () => {
  it('after every step of random model changes, every proxy equals a build from an empty cache', () => {
    fc.assert(
      fc.property(meshArb, fc.array(meshArb, { minLength: 1, maxLength: 3 }), fc.array(stepArb, { minLength: 1, maxLength: 12 }), (start, donors, steps) => {
        const cache = new ResourceCache();
        let model = start;
        for (const [i, step] of [undefined, ...steps].entries()) {
          if (step) model = apply(model, donors, step);
          for (const proxy of model.proxies.values()) {
            const inputs = inputsFor(`${proxy.identity.namespace}/${proxy.identity.name}`);
            const shared = buildSnapshot(model, proxy, { ...inputs, cache });
            const fresh = buildSnapshot(model, proxy, inputs);
            assert.deepEqual(fingerprint(shared), fingerprint(fresh), `step ${i} (${step ? `${step.drop ? 'drop' : 'set'} ${step.part}` : 'start'}), proxy ${proxy.uuid}`);
          }
          if (i % 4 === 3) cache.sweep();
        }
      }),
      { numRuns: 60 },
    );
  });
});

// Test helpers: decode resources of a snapshot through the generated Envoy types.
import { envoy } from '@osm/envoy-api';
import type { Snapshot } from '../src/index.ts';

export type RouteConfiguration = envoy.config.route.v3.RouteConfiguration;

/** Decodes a route configuration of the snapshot; throws when it is absent. */
export function routeConfig(snapshot: Snapshot, name: string): RouteConfiguration {
  const r = snapshot.types.routes.resources.get(name);
  if (!r) throw new Error(`no route configuration ${name} in the snapshot of ${snapshot.proxy}`);
  return envoy.config.route.v3.RouteConfiguration.decode(r.bytes);
}

/** Every (type, name, version, bytes) of a snapshot plus the type versions, as comparable strings. */
export function fingerprint(snapshot: Snapshot): string[] {
  const out: string[] = [];
  for (const [type, set] of Object.entries(snapshot.types)) {
    out.push(`${type} version ${set.version}`);
    for (const r of set.resources.values()) out.push(`${type}/${r.name} ${r.version} ${Buffer.from(r.bytes).toString('base64')}`);
  }
  return out;
}

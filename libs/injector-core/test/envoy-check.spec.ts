// The bootstrap the injector writes, checked by Envoy's own rules (go-control-plane's ValidateAll and
// the bootstrap's static references) in the independent Go checker, with and without probe listeners.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { checkEnvoyBootstrap, formatEnvoyProblems } from '@osm/testing';
import { defaultSidecarSettings, envoyBootstrap } from '../src/index.ts';
import { bootstrapConfigFiles } from '../src/bootstrap.ts';
import type { OriginalProbe } from '../src/probes.ts';

const controller = { host: 'osm-controller.osm-system.svc.cluster.local', port: 15128, serverName: 'osm-controller.osm-system.svc.cluster.local' };
const proxyUuid = '11111111-2222-4333-8444-555555555555';

describe('the Envoy bootstrap passes Envoy rules (envoy-check)', () => {
  const cases = {
    'no probes': [] as readonly OriginalProbe[],
    'liveness, readiness and startup probes rewritten': [
      { kind: 'liveness', container: 'app', port: 8080, path: '/healthz', scheme: 'HTTP', timeoutSeconds: 1 },
      { kind: 'readiness', container: 'app', port: 8080, path: '/ready', scheme: 'HTTP', timeoutSeconds: 2 },
      { kind: 'startup', container: 'app', port: 8443, path: '/started', scheme: 'HTTPS', timeoutSeconds: 3 },
    ] as readonly OriginalProbe[],
  };
  for (const [name, probes] of Object.entries(cases)) {
    it(name, async () => {
      const input = { proxyUuid, controller, settings: defaultSidecarSettings, probes };
      // What the sidecar reads is the YAML file in the Secret: check that, not only the object.
      const fromFile = parse(bootstrapConfigFiles(input)['bootstrap.yaml'] ?? '') as object;
      assert.deepEqual(fromFile, envoyBootstrap(input));
      const report = await checkEnvoyBootstrap(fromFile);
      assert.ok(report.ok, formatEnvoyProblems(report.problems));
    });
  }

  it('a broken bootstrap fails (the check can fail)', async () => {
    const broken = envoyBootstrap({ proxyUuid, controller, settings: defaultSidecarSettings, probes: [] }) as { static_resources: { clusters: { name: string }[] } };
    const [first] = broken.static_resources.clusters;
    if (first) first.name = '';
    const report = await checkEnvoyBootstrap(broken);
    assert.equal(report.ok, false);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError } from '@osm/observability';
import { parseFlags } from './flags.ts';

describe('parseFlags', () => {
  it("defaults: OSM's names, the controller Service on 15128, Fail, 10 s", () => {
    const f = parseFlags([]);
    assert.equal(f.namespace, 'osm-system');
    assert.equal(f.meshName, 'osm');
    assert.equal(f.webhookPort, 9090);
    assert.equal(f.adminPort, 9091);
    assert.equal(f.webhookConfigName, 'osm-webhook-osm');
    assert.equal(f.webhookServiceName, 'osm-injector');
    assert.equal(f.webhookUrl, undefined);
    assert.deepEqual(f.controller, { host: 'osm-controller.osm-system.svc.cluster.local', port: 15128, serverName: 'osm-controller.osm-system.svc.cluster.local' });
    assert.equal(f.failurePolicy, 'Fail');
    assert.equal(f.webhookTimeoutSeconds, 10);
    assert.equal(f.rootCa.kind, 'tresor');
  });

  it('reads every flag', () => {
    const f = parseFlags([
      '--osm-namespace', 'mesh', '--mesh-name', 'blue', '--cluster-domain', 'corp.local', '--webhook-url', 'https://127.0.0.1:9443/mutate-pod-creation',
      '--controller-address', '[::1]:31000', '--failure-policy', 'Ignore', '--webhook-timeout', '30', '--envoy-image', 'e:1', '--init-image', 'i:1',
      '--bootstrap-cert-validity', '720h', '--orphan-grace', '0s', '--sweep-interval', '10s', '--drain-delay', '1s', '--webhook-config-name', 'w',
      '--otlp-endpoint', 'http://otel:4318', '--trace-sample-ratio', '0.1',
    ]);
    assert.deepEqual(f.tracing, { otlpEndpoint: 'http://otel:4318', sampleRatio: 0.1 });
    assert.equal(f.webhookConfigName, 'w');
    assert.equal(f.webhookUrl?.href, 'https://127.0.0.1:9443/mutate-pod-creation');
    assert.deepEqual(f.controller, { host: '::1', port: 31000, serverName: 'osm-controller.mesh.svc.corp.local' });
    assert.equal(f.failurePolicy, 'Ignore');
    assert.equal(f.webhookTimeoutSeconds, 30);
    assert.equal(f.envoyImage, 'e:1');
    assert.equal(f.bootstrapCertValidityMs, 720 * 3_600_000);
    assert.equal(f.orphanGraceMs, 0);
    assert.equal(f.sweepIntervalMs, 10_000);
    assert.equal(f.drainDelayMs, 1000);
  });

  const bad: [string[], RegExp][] = [
    [['--failure-policy', 'Retry'], /--failure-policy "Retry" is not valid: allowed values are Fail, Ignore/],
    [['--trace-sample-ratio', '5'], /--trace-sample-ratio "5" is not valid: expected a number from 0 to 1/],
    [['--webhook-timeout', '31'], /--webhook-timeout "31" is not valid: expected whole seconds 1-30/],
    [['--webhook-url', 'http://127.0.0.1:9090/x'], /--webhook-url "http:\/\/127.0.0.1:9090\/x" is not valid: expected an https:\/\/ URL/],
    [['--controller-address', 'osm-controller'], /--controller-address "osm-controller" is not valid: expected host:port/],
    [['--webhook-port', '99999'], /--webhook-port "99999" is not valid: expected an integer 0-65535/],
    [['--sweep-interval', '0s'], /--sweep-interval "0s" is not valid: expected a positive Go duration/],
    [['--mesh-name', 'Blue Mesh'], /--mesh-name "Blue Mesh" is not valid: expected a lowercase DNS name/],
    [['--certificate-manager', 'vault'], /--certificate-manager "vault" is not valid/],
    [['--nope'], /Unknown option '--nope'/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseFlags(argv), (err: Error) => err instanceof FlagError && message.test(err.message)));
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError } from '@osm/observability';
import { parseFlags, usage, type Flags } from './flags.ts';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Flags => {
  const c = parseFlags(argv, env);
  assert.equal(c.kind, 'run');
  return (c as { flags: Flags }).flags;
};

describe('controller flags', () => {
  it('defaults as the contract says: osm-system, osm, ADS on 0.0.0.0:15128, admin on 0.0.0.0:9091, no connection age', () => {
    const f = run([], { POD_NAME: 'osm-controller-7d9f-x' });
    assert.equal(f.namespace, 'osm-system');
    assert.equal(f.meshName, 'osm');
    assert.equal(f.clusterDomain, 'cluster.local');
    assert.deepEqual([f.adsAddress, f.adsPort, f.adminAddress, f.adminPort], ['0.0.0.0', 15128, '0.0.0.0', 9091]);
    assert.equal(f.replicaId, 'osm-controller-7d9f-x', 'replica id from POD_NAME');
    assert.equal(f.maxConnectionAgeMs, 0);
    assert.equal(f.rootCa.kind, 'tresor');
    assert.equal(f.rootCa.secretName, 'osm-ca-bundle');
    assert.equal(f.rootCa.namespace, 'osm-system');
    assert.equal(f.logLevel, 'info');
  });

  it('reads every flag', () => {
    const f = run(['--osm-namespace', 'mesh-system', '--mesh-name', 'blue', '--cluster-domain', 'corp.local', '--ads-address', '127.0.0.1', '--ads-port', '0', '--admin-address', '::1', '--admin-port', '19091', '--replica-id', 'r1', '--max-connection-age', '30m', '--log-level', 'debug', '--otlp-endpoint', 'http://otel:4318', '--trace-sample-ratio', '0.5', '--trace-max-proxies-per-batch', '7', '--trust-domain', 'mesh.example', '--ca-bundle-secret-name', 'roots']);
    assert.deepEqual(
      [f.namespace, f.meshName, f.clusterDomain, f.adsAddress, f.adsPort, f.adminAddress, f.adminPort, f.replicaId, f.maxConnectionAgeMs, f.logLevel, f.tracing, f.traceMaxProxiesPerBatch, f.rootCa.trustDomain, f.rootCa.secretName, f.rootCa.namespace],
      ['mesh-system', 'blue', 'corp.local', '127.0.0.1', 0, '::1', 19091, 'r1', 1_800_000, 'debug', { otlpEndpoint: 'http://otel:4318', sampleRatio: 0.5 }, 7, 'mesh.example', 'roots', 'mesh-system'],
    );
  });

  it('answers --help and --version', () => {
    assert.deepEqual(parseFlags(['--help']), { kind: 'help' });
    assert.deepEqual(parseFlags(['-h']), { kind: 'help' });
    assert.deepEqual(parseFlags(['--version']), { kind: 'version' });
  });

  it('documents every flag it accepts', () => {
    const accepted = ['osm-namespace', 'mesh-name', 'certificate-manager', 'ca-bundle-secret-name', 'trust-domain', 'root-validity', 'cert-manager-issuer-name', 'cert-manager-issuer-kind', 'cert-manager-issuer-group', 'cluster-domain', 'ads-address', 'ads-port', 'admin-address', 'admin-port', 'replica-id', 'max-connection-age', 'log-level', 'otlp-endpoint', 'trace-sample-ratio', 'trace-max-proxies-per-batch', 'version', 'help'];
    for (const flag of accepted) assert.match(usage, new RegExp(`--${flag}\\b`), flag);
  });

  const bad: [string[], RegExp][] = [
    [['--ads-port', '70000'], /--ads-port "70000" is not valid: expected an integer 0-65535/],
    [['--admin-port', 'x'], /--admin-port "x" is not valid/],
    [['--max-connection-age=-5m'], /--max-connection-age "-5m" is not valid: expected 0 or a positive Go duration/],
    [['--max-connection-age', '10 minutes'], /--max-connection-age "10 minutes" is not valid/],
    [['--replica-id', ' '], /--replica-id must not be empty/],
    [['--certificate-manager', 'vault'], /--certificate-manager "vault" is not valid: allowed values are tresor, bring-your-own, cert-manager/],
    [['--log-level', 'loud'], /--log-level: "loud" is not a log level/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['--trace-sample-ratio', '2'], /--trace-sample-ratio "2" is not valid: expected a number from 0 to 1/],
    [['--otlp-endpoint', 'otel:4318'], /--otlp-endpoint "otel:4318" is not valid/],
    [['--trace-max-proxies-per-batch=-1'], /--trace-max-proxies-per-batch "-1" is not valid: expected an integer 0 or more/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseFlags(argv, {}), (err: Error) => err instanceof FlagError && message.test(err.message)));
  }
});

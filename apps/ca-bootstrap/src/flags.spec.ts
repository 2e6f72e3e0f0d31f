import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError } from '@osm/observability';
import { parseFlags } from './flags.ts';

describe('parseFlags', () => {
  it('defaults: osm-system, Tresor, osm-ca-bundle, cluster.local, 87600h root, admin on 9091', () => {
    const flags = parseFlags([]);
    assert.equal(flags.namespace, 'osm-system');
    assert.equal(flags.rootCa.kind, 'tresor');
    assert.equal(flags.rootCa.namespace, 'osm-system');
    assert.equal(flags.rootCa.secretName, 'osm-ca-bundle');
    assert.equal(flags.rootCa.trustDomain, 'cluster.local');
    assert.equal(flags.rootCa.rootValidityMs, 87600 * 3_600_000);
    assert.equal(flags.adminPort, 9091);
    assert.match(flags.crdsDir, /deploy\/crds\/$/);
  });

  it('reads every flag', () => {
    const flags = parseFlags(['--osm-namespace', 'mesh', '--certificate-manager', 'cert-manager', '--ca-bundle-secret-name', 'anchor', '--cert-manager-issuer-name', 'ca', '--cert-manager-issuer-kind', 'ClusterIssuer', '--admin-port', '0', '--root-validity', '1h', '--crds-dir', '/x']);
    assert.equal(flags.namespace, 'mesh');
    assert.equal(flags.rootCa.kind, 'cert-manager');
    assert.equal(flags.rootCa.namespace, 'mesh');
    assert.equal(flags.rootCa.secretName, 'anchor');
    assert.deepEqual(flags.rootCa.certManagerIssuer, { name: 'ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    assert.equal(flags.adminPort, 0);
    assert.equal(flags.rootCa.rootValidityMs, 3_600_000);
    assert.equal(flags.crdsDir, '/x');
  });

  it('takes the tracing flags the other components take', () => {
    assert.deepEqual(parseFlags(['--otlp-endpoint', 'http://otel:4318', '--trace-sample-ratio', '0.5']).tracing, { otlpEndpoint: 'http://otel:4318', sampleRatio: 0.5 });
    assert.throws(() => parseFlags(['--trace-sample-ratio', 'all']), (err: Error) => err instanceof FlagError && /--trace-sample-ratio "all" is not valid/.test(err.message));
  });

  const bad: [string[], RegExp][] = [
    [['--certificate-manager', 'vault'], /--certificate-manager "vault" is not valid: allowed values are tresor, bring-your-own, cert-manager/],
    [['--cert-manager-issuer-kind', 'Cluster'], /--cert-manager-issuer-kind "Cluster" is not valid: allowed values are Issuer, ClusterIssuer/],
    [['--admin-port', '70000'], /--admin-port "70000" is not valid: expected an integer 0-65535/],
    [['--root-validity', '10 years'], /--root-validity "10 years" is not valid/],
    [['--log-level', 'loud'], /--log-level: "loud" is not a log level; allowed: trace, debug, info/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseFlags(argv), (err: Error) => err instanceof FlagError && message.test(err.message)));
  }
});

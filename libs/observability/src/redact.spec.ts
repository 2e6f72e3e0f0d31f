import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ObservabilityError } from './errors.ts';
import { createLogger } from './logger.ts';
import type { LogDestination } from './logger.ts';
import { REDACTED, redactJsonLine, redactSecrets } from './redact.ts';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

function fakeCertificatePem(): string {
  const body = randomBytes(300).toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

function capture(): { destination: LogDestination; text: () => string } {
  const lines: string[] = [];
  return { destination: { write: (line: string) => void lines.push(line) }, text: () => lines.join('') };
}

describe('logging a certificate bundle', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8Pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const sec1Pem = privateKey.export({ format: 'pem', type: 'sec1' }) as string;
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const jwkD = privateKey.export({ format: 'jwk' }).d ?? '';
  const certPem = fakeCertificatePem();
  const bundle = {
    commonName: 'bookbuyer.bookstore.cluster.local',
    certChain: certPem,
    privateKey: pkcs8Pem,
    issuingCA: certPem,
    expiration: new Date('2026-12-01T00:00:00Z'),
  };

  it('writes no key material, whatever shape the key is logged in', () => {
    const out = capture();
    const log = createLogger({ component: 'test', level: 'trace', destination: out.destination });
    log.info({ bundle }, 'issued certificate');
    log.info(bundle, 'bundle as the merge object');
    log.info({ cert: { cert_chain: certPem, private_key: sec1Pem } }, 'snake case fields');
    log.info({ pem: certPem + pkcs8Pem }, 'key concatenated after the chain under an innocent name');
    log.info(`loaded key ${sec1Pem}`);
    log.info('loaded %s', pkcs8Pem);
    log.info(
      {
        secret: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'osm-ca-bundle', namespace: 'osm-system' },
          data: { 'ca.crt': b64(certPem), 'private.key': b64(pkcs8Pem) },
        },
      },
      'created root CA secret',
    );
    log.info({ items: [{ metadata: { name: 'listed' }, data: { 'ca.crt': b64(certPem), 'tls.key': b64(sec1Pem) } }] }, 'listed secrets');
    log.info({ blob: b64(sec1Pem) }, 'base64 PEM under an innocent name');
    log.info({ der, keyObject: privateKey, key: der }, 'binary and KeyObject');
    log.error({ err: new Error(`cannot parse ${pkcs8Pem}`) }, 'error carrying the key');
    log.child({ bundle }).warn('child logger bound to a bundle');
    log.info({ a: { b: { c: { d: { e: { privateKey: pkcs8Pem } } } } } }, 'deeply nested');
    log.info({ bundles: [bundle, bundle] }, 'array of bundles');
    const text = out.text();

    const forbidden = [
      'PRIVATE KEY',
      ...[pkcs8Pem, sec1Pem].flatMap((pem) => pem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'))),
      b64(pkcs8Pem).slice(20, 80),
      b64(sec1Pem).slice(20, 80),
      der.toString('base64').slice(0, 40),
      der.toString('hex').slice(0, 40),
      JSON.stringify([...der.subarray(0, 12)]).slice(1, -1),
      jwkD,
    ];
    for (const needle of forbidden) assert.ok(!text.includes(needle), `log output contains key material: ${needle}`);

    // The rest of each line is still there: the redaction is targeted, not a blanket.
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 14);
    const certLine = certPem.split('\n')[1] ?? '';
    assert.ok(text.includes(certLine), 'the (public) certificate is logged');
    assert.ok(text.includes('bookbuyer.bookstore.cluster.local'));
    assert.ok(text.includes('osm-ca-bundle'));
    assert.deepEqual((lines[0]?.['bundle'] as Record<string, unknown>)['privateKey'], REDACTED);
    const secret = lines[6]?.['secret'] as { data: Record<string, string> };
    assert.deepEqual(secret.data, { 'ca.crt': REDACTED, 'private.key': REDACTED });
    assert.equal(lines[9]?.['der'], `[${der.length} bytes]`);
    assert.equal(lines[9]?.['keyObject'], REDACTED);
    assert.equal((lines[10]?.['err'] as { message: string }).message, `cannot parse ${REDACTED}\n`);
  });

  it('redacts the bindings of grandchild loggers and keeps the chain of bindings', () => {
    const out = capture();
    const log = createLogger({ component: 'test', destination: out.destination });
    log.child({ proxy: 'uuid-1' }).child({ stream: 7, bundle }).info('grandchild');
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    assert.equal(line['proxy'], 'uuid-1');
    assert.equal(line['stream'], 7);
    assert.equal((line['bundle'] as Record<string, unknown>)['privateKey'], REDACTED);
    assert.ok(!out.text().includes('PRIVATE KEY'));
  });

  it('keeps an Error logged as the first argument under err, without the key', () => {
    const out = capture();
    const log = createLogger({ component: 'test', destination: out.destination });
    log.error(new Error(`cannot parse ${pkcs8Pem}`), 'load failed');
    log.error(new Error('plain failure'), 'other');
    log.error({ err: new ObservabilityError('invalid-argument', `bad key ${sec1Pem}`) }, 'typed');
    const [withKey, plain, typed] = out.text().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; err: { message: string; type: string; code?: string; stack: string } });
    assert.equal(withKey?.msg, 'load failed');
    assert.equal(withKey?.err.message, `cannot parse ${REDACTED}\n`);
    assert.equal(withKey?.err.type, 'Error');
    assert.match(withKey?.err.stack ?? '', /redact\.spec\.ts/);
    assert.equal(plain?.err.message, 'plain failure');
    assert.equal(typed?.err.type, 'ObservabilityError');
    assert.equal(typed?.err.code, 'invalid-argument');
    assert.equal(typed?.err.message, `bad key ${REDACTED}\n`);
    assert.ok(!out.text().includes('PRIVATE KEY'));
  });

  it('logs objects without secrets unchanged', () => {
    const plain = { key: 'bookstore/bookstore-v1', secret: 'osm-ca-bundle', proxy: { uuid: 'abc', ports: [15000, 15001] } };
    assert.equal(redactSecrets(plain), plain, 'same object: no copy when nothing is redacted');
    const out = capture();
    createLogger({ component: 'test', destination: out.destination }).info(plain, 'plain');
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    assert.equal(line['key'], 'bookstore/bookstore-v1');
    assert.equal(line['secret'], 'osm-ca-bundle');
    assert.deepEqual(line['proxy'], plain.proxy);
  });

  it('leaves the logged object itself untouched', () => {
    const original = { privateKey: pkcs8Pem, nested: { token: 'abc' } };
    const redacted = redactSecrets(original) as typeof original;
    assert.equal(redacted.privateKey, REDACTED);
    assert.equal(redacted.nested.token, REDACTED);
    assert.equal(original.privateKey, pkcs8Pem);
    assert.equal(original.nested.token, 'abc');
  });

  it('redacts keys in a serialized line and keeps it valid JSON, even for a truncated PEM', () => {
    const truncated = pkcs8Pem.slice(0, 80);
    const line = JSON.stringify({ a: pkcs8Pem, b: truncated, c: 'after', d: b64(sec1Pem) });
    const redacted = redactJsonLine(line);
    assert.deepEqual(JSON.parse(redacted), { a: `${REDACTED}\n`, b: REDACTED, c: 'after', d: REDACTED });
    const plain = JSON.stringify({ cert: certPem });
    assert.equal(redactJsonLine(plain), plain);
  });

  it('copes with cycles', () => {
    const cyclic: Record<string, unknown> = { privateKey: pkcs8Pem };
    cyclic['self'] = cyclic;
    const redacted = redactSecrets(cyclic) as Record<string, unknown>;
    assert.equal(redacted['privateKey'], REDACTED);
  });
});

// The webhook's HTTPS server with real TLS in-process: a renewed certificate is served to new
// connections while a connection opened before keeps working, both when set by hand and when the
// certificate cache renews it (the wiring run.ts uses); bodies over the cap are refused.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CertificateCache, generateRootCA, generationAt, generationStart, identityKey, LocalCertificateAuthority, loadSigningCA, type RotationEvent } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { createLogger } from '@osm/observability';
import { FakeClock } from '@osm/testing';
import { startRenewingWebhookServer, startWebhookServer, type WebhookServer } from './server.ts';

let root: string;
let ca: LocalCertificateAuthority;
let server: WebhookServer;
const issue = () => ca.issueSync({ subject: { kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: 3_600_000 });

const logger = createLogger({ component: 'test', level: 'silent' });
const echo = async (body: unknown): Promise<{ status: number; body: unknown }> => ({ status: 200, body: { echo: body } });

/** POSTs over `agent` to `port` (trusting `ca`, default the root of `server`); the answer and the serial of the certificate presented. */
function post(agent: Agent, body: string, port = server.port, ca = root): Promise<{ status: number; text: string; serial: string; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate-pod-creation', method: 'POST', agent, ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      // Read now: at the end the socket goes back to the agent.
      const socket = res.socket as TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, serial, socket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  const pem = await generateRootCA({ clock: systemClock });
  root = pem.certificatePem;
  const signing = loadSigningCA(pem.certificatePem, pem.privateKeyPem, Date.now());
  assert.ok(signing.ok);
  ca = new LocalCertificateAuthority({ ca: signing.value, trustDomain: 'cluster.local', clock: systemClock });
  const first = issue();
  server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    path: '/mutate-pod-creation',
    certificatePem: first.certificatePem,
    privateKeyPem: first.privateKeyPem,
    maxBodyBytes: 1024,
    handle: echo,
    logger,
  });
});

after(() => server.close(1000));

describe('webhook server', () => {
  it('serves a renewed certificate to new connections without dropping open ones', async () => {
    const kept = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await post(kept, '{"n":1}');
    assert.equal(before.status, 200);
    assert.equal(before.text, '{"echo":{"n":1}}');

    const renewed = issue();
    server.setCertificate(renewed.certificatePem, renewed.privateKeyPem);

    const fresh = await post(new Agent({ keepAlive: false }), '{"n":2}');
    assert.equal(fresh.serial, renewed.serial.toLowerCase(), 'a new connection gets the renewed certificate');
    const again = await post(kept, '{"n":3}');
    assert.equal(again.status, 200);
    assert.equal(again.socket, before.socket, 'the open connection was reused, not dropped');
    assert.equal(again.serial, before.serial, 'and still carries the certificate it was opened with');
    assert.notEqual(before.serial, fresh.serial);
    kept.destroy();
  });

  it('refuses a body over the cap with 413 and keeps serving', async () => {
    const big = await post(new Agent({ keepAlive: false }), JSON.stringify({ pad: 'x'.repeat(2000) }));
    assert.equal(big.status, 413);
    assert.match(big.text, /larger than 1024 bytes/);
    assert.equal((await post(new Agent({ keepAlive: false }), '{}')).status, 200);
  });
});

describe('webhook server with its certificate from the cache (as run.ts wires it)', () => {
  it("hands the cache's renewal to the server: new connections get it, an open connection goes on", async () => {
    // One hour of validity: the certificate is renewed when its identity's next generation begins (every
    // 30 minutes, at an offset of its own). Time starts 35 minutes back, so that boundary is behind the
    // real clock that TLS checks certificates against, and the first certificate is still valid for it.
    const validityMs = 3_600_000;
    const clock = new FakeClock(Date.now() - 35 * 60_000);
    const pem = await generateRootCA({ clock });
    const signing = loadSigningCA(pem.certificatePem, pem.privateKeyPem, clock.now());
    assert.ok(signing.ok);
    const authority = new LocalCertificateAuthority({ ca: signing.value, trustDomain: 'cluster.local', clock });
    const certificates = new CertificateCache({ authority, validityMs, clock });
    const subject = { kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } as const;
    const key = identityKey(subject);
    const boundary = generationStart(key, validityMs, generationAt(key, validityMs, clock.now()) + 1);
    const { server: renewing, certificate: first } = await startRenewingWebhookServer({ host: '127.0.0.1', port: 0, path: '/mutate-pod-creation', maxBodyBytes: 1024, handle: echo, logger }, certificates, subject);
    try {
      const kept = new Agent({ keepAlive: true, maxSockets: 1 });
      const opened = await post(kept, '{"n":1}', renewing.port, pem.certificatePem);
      assert.equal(opened.serial, first.serial.toLowerCase());

      const rotated = new Promise<RotationEvent>((resolve) => certificates.onRotate(resolve));
      await clock.advance(boundary - 1 - clock.now());
      assert.equal((await post(new Agent({ keepAlive: false }), '{}', renewing.port, pem.certificatePem)).serial, opened.serial, 'not due yet: still the first certificate');
      await clock.advance(60_000);
      const renewed = (await rotated).current;
      assert.notEqual(renewed.serial, first.serial);

      const fresh = await post(new Agent({ keepAlive: false }), '{"n":2}', renewing.port, pem.certificatePem);
      assert.equal(fresh.serial, renewed.serial.toLowerCase(), 'a new connection gets the renewed certificate');
      const again = await post(kept, '{"n":3}', renewing.port, pem.certificatePem);
      assert.equal(again.status, 200);
      assert.equal(again.text, '{"echo":{"n":3}}');
      assert.equal(again.socket, opened.socket, 'the open connection was not dropped');
      assert.equal(again.serial, first.serial.toLowerCase());
      kept.destroy();
    } finally {
      certificates.close();
      await renewing.close(1000);
    }
  });
});

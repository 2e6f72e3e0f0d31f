// The webhook's HTTPS server with real TLS in-process: a renewed certificate is served to new
// connections while a connection opened before keeps working; bodies over the cap are refused.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { generateRootCA, LocalCertificateAuthority, loadSigningCA } from '@osm/certificates';
import { systemClock } from '@osm/clock';
import { createLogger } from '@osm/observability';
import { startWebhookServer, type WebhookServer } from './server.ts';

let root: string;
let ca: LocalCertificateAuthority;
let server: WebhookServer;
const issue = () => ca.issueSync({ subject: { kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, validityMs: 3_600_000 });

/** POSTs over `agent`; the answer and the serial of the certificate the server presented. */
function post(agent: Agent, body: string): Promise<{ status: number; text: string; serial: string; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/mutate-pod-creation', method: 'POST', agent, ca: root, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
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
    handle: async (body) => ({ status: 200, body: { echo: body } }),
    logger: createLogger({ component: 'test', level: 'silent' }),
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

// Test-only: the injector as a real child process (see @osm/testing's ComponentProcess; real signals,
// real TLS) and a client for its webhook.
import { request } from 'node:https';
import { ComponentProcess } from '@osm/testing';

export class InjectorProcess extends ComponentProcess {
  readonly webhookPort: number;

  /** Starts with --webhook-port `webhookPort`, the admin server on a free port, no drain delay, and `args`. */
  constructor(kubeconfigPath: string, webhookPort: number, args: readonly string[]) {
    super('injector', { kubeconfigPath, args: ['--webhook-port', String(webhookPort), '--drain-delay', '0s', ...args] });
    this.webhookPort = webhookPort;
  }
}

/** POSTs `body` to the webhook over TLS (trusting `caPem`); the status and the parsed (or raw) answer. */
export function postWebhook(port: number, caPem: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST', path = '/mutate-pod-creation'): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca: caPem, servername: 'localhost', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // kept as text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

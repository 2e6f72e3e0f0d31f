// A small OTLP/HTTP (JSON) trace receiver on loopback: what a collector would get from our processes,
// flattened to one record per span for assertions.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: string;
  status: { code?: number; message?: string };
  /** Epoch nanoseconds, as decimal strings (OTLP JSON). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: what --otlp-endpoint takes. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** `<method> <path> <content-type>` of every export received. */
  readonly paths: string[];
  /** Resolves once `count` spans have arrived in all. */
  waitForSpans(count: number): Promise<ReceivedSpan[]>;
  /** Resolves with the first span (received so far or later) that `predicate` accepts. */
  waitForSpan(predicate: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan>;
  close(): Promise<void>;
}

interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}

function valueOf(value: OtlpValue): unknown {
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.doubleValue ?? value.boolValue;
}

function flattenAttributes(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = valueOf(value);
  return out;
}

type OtlpSpan = Pick<ReceivedSpan, 'name' | 'traceId' | 'spanId' | 'startTimeUnixNano' | 'endTimeUnixNano'> & {
  parentSpanId?: string;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
};

interface OtlpExport {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP receiver on 127.0.0.1 that accepts JSON trace exports at /v1/traces. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  let waiters: (() => boolean)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const rs of body.resourceSpans ?? []) {
        const resource = flattenAttributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            spans.push({
              name: span.name,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              attributes: flattenAttributes(span.attributes),
              resource,
              scope: ss.scope?.name ?? '',
              status: span.status ?? {},
              startTimeUnixNano: String(span.startTimeUnixNano),
              endTimeUnixNano: String(span.endTimeUnixNano),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      // Each waiter says whether it is satisfied (and then resolved itself).
      waiters = waiters.filter((satisfied) => !satisfied());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const wait = <T>(check: () => T | undefined): Promise<T> => {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) =>
      waiters.push(() => {
        const found = check();
        if (found === undefined) return false;
        resolve(found);
        return true;
      }),
    );
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    paths,
    waitForSpans: (count) => wait(() => (spans.length >= count ? spans : undefined)),
    waitForSpan: (predicate) => wait(() => spans.find(predicate)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startOtlpReceiver } from '@osm/testing';
import { createObservability } from './observability.ts';
import { createTracing, traceContextFromHeaders, tracingOptionsFromFlags, withSpan } from './tracing.ts';
import { resourceFromAttributes } from '@opentelemetry/resources';

describe('tracing in process', () => {
  it('continues a trace from W3C headers and marks failed spans', async () => {
    const receiver = await startOtlpReceiver();
    const obs = await createObservability({
      component: 'injector',
      version: { version: 'v0.1.0' },
      logLevel: 'silent',
      admin: { host: '127.0.0.1', port: 0 },
      tracing: { otlpEndpoint: `${receiver.endpoint}/` },
      shutdown: { handleSignals: false },
      runtimeMetrics: false,
    });
    try {
      assert.equal(obs.tracingEnabled, true);
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const callerSpanId = '00f067aa0ba902b7';
      const parent = traceContextFromHeaders({ traceparent: `00-${traceId}-${callerSpanId}-01`, 'content-type': 'application/json' });
      await withSpan(obs.tracer, 'admission', { 'k8s.namespace.name': 'bookstore' }, () => 'allowed', parent);
      await assert.rejects(
        withSpan(obs.tracer, 'issue-certificate', {}, () => {
          throw new Error('signer unavailable');
        }),
        /signer unavailable/,
      );
      await obs.close();
      const spans = await receiver.waitForSpans(2);
      const admission = spans.find((s) => s.name === 'admission');
      assert.equal(admission?.traceId, traceId);
      assert.equal(admission?.parentSpanId, callerSpanId);
      assert.deepEqual(admission?.attributes, { 'k8s.namespace.name': 'bookstore' });
      assert.equal(admission?.resource['service.name'], 'osm-injector');
      const issue = spans.find((s) => s.name === 'issue-certificate');
      assert.ok(issue);
      assert.notEqual(issue.traceId, traceId, 'a new root trace without a parent');
      assert.equal(issue.parentSpanId, '');
      assert.deepEqual(issue.status, { code: 2, message: 'signer unavailable' });
      assert.ok(receiver.paths.every((p) => p.startsWith('POST /v1/traces ')), receiver.paths.join('; '));
    } finally {
      await obs.close();
      await receiver.close();
    }
  });

  it('closes cleanly when the collector refuses connections', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const lines: Record<string, unknown>[] = [];
    const obs = await createObservability({
      component: 'injector',
      version: { version: 'v0.1.0' },
      logDestination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
      admin: { host: '127.0.0.1', port: 0 },
      tracing: { otlpEndpoint: `http://127.0.0.1:${closedPort}` },
      shutdown: { handleSignals: false },
      runtimeMetrics: false,
    });
    await withSpan(obs.tracer, 'admission', {}, () => undefined);
    await obs.close();
    const warning = lines.find((l) => l['msg'] === 'trace collector did not take the last spans; dropped them');
    assert.match((warning?.['err'] as { message?: string } | undefined)?.message ?? '', /ECONNREFUSED/);
  });
});

describe('tracing flags', () => {
  const flags = (endpoint: string, ratio: string) => tracingOptionsFromFlags({ 'otlp-endpoint': endpoint, 'trace-sample-ratio': ratio });
  it('takes an endpoint and a ratio from 0 to 1', () => {
    assert.deepEqual(flags('', '1'), { options: { otlpEndpoint: '', sampleRatio: 1 } });
    assert.deepEqual(flags(' http://otel:4318 ', '0.25'), { options: { otlpEndpoint: 'http://otel:4318', sampleRatio: 0.25 } });
    assert.deepEqual(flags('https://otel/v1/traces', '0'), { options: { otlpEndpoint: 'https://otel/v1/traces', sampleRatio: 0 } });
  });
  const bad: [string, string, RegExp][] = [
    ['', '1.5', /--trace-sample-ratio "1.5" is not valid: expected a number from 0 to 1/],
    ['', '-0.1', /--trace-sample-ratio/],
    ['', 'half', /--trace-sample-ratio "half"/],
    ['', '', /--trace-sample-ratio ""/],
    ['otel:4318', '1', /--otlp-endpoint "otel:4318" is not valid: expected an http:\/\/ or https:\/\/ URL/],
    ['not a url', '1', /--otlp-endpoint "not a url" is not valid/],
  ];
  for (const [endpoint, ratio, message] of bad) {
    it(`refuses --otlp-endpoint ${JSON.stringify(endpoint)} --trace-sample-ratio ${JSON.stringify(ratio)}`, () => {
      const result = flags(endpoint, ratio);
      assert.ok('error' in result);
      assert.match(result.error, message);
    });
  }

  it('is off without an endpoint: a tracer whose spans record nothing', async () => {
    const tracing = await createTracing({ otlpEndpoint: '', sampleRatio: 1 }, resourceFromAttributes({}), { name: 'osm-test', version: 'v0' });
    assert.equal(tracing.enabled, false);
    const span = tracing.tracer.startSpan('anything');
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, '00000000000000000000000000000000');
    span.end();
  });
});

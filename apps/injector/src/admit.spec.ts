// The admission span, exported to a real OTLP receiver: it continues the API server's trace context
// and says what happened (allowed, denied, error; whether a Secret was written).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultSidecarSettings } from '@osm/injector-core';
import { monitoredByLabel, sidecarInjectionAnnotation } from '@osm/mesh-model';
import { createObservability, type Observability } from '@osm/observability';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@osm/testing';
import { admissionHandler, type AdmitDeps } from './admit.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const review = (uid: string, namespace: string): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    namespace,
    object: { metadata: { generateName: 'bookstore-v1-5d8f-', labels: { app: 'bookstore' } }, spec: { serviceAccountName: 'bookstore', containers: [{ name: 'app', image: 'bookstore:v1' }] } },
  },
});

describe('admission spans', () => {
  let receiver: OtlpReceiver;
  let obs: Observability;
  let spans: ReceivedSpan[];
  const written: string[] = [];
  let failWrites = false;

  before(async () => {
    receiver = await startOtlpReceiver();
    obs = await createObservability({
      component: 'injector',
      version: { version: 'v0.0.0-test' },
      logLevel: 'silent',
      admin: { host: '127.0.0.1', port: 0 },
      tracing: { otlpEndpoint: receiver.endpoint },
      shutdown: { handleSignals: false },
      runtimeMetrics: false,
    });
    const deps: AdmitDeps = {
      logger: obs.logger,
      options: { meshName: 'osm', osmNamespace: 'osm-system', controller: { host: 'osm-controller.osm-system.svc.cluster.local', port: 15128, serverName: 'osm-controller.osm-system.svc.cluster.local' }, envoyImage: 'envoy:1', initImage: 'init:1', healthcheckImage: 'health:1' },
      settings: () => defaultSidecarSettings,
      namespace: (name) => Promise.resolve(name === 'outside' ? { metadata: { name } } : { metadata: { name, labels: { [monitoredByLabel]: 'osm' }, annotations: { [sidecarInjectionAnnotation]: 'enabled' } } }),
      newUuid: () => '6d2a8b9e-1c3f-4e5a-9b7c-0d1e2f3a4b5c',
      issueBootstrap: () => Promise.resolve({ certificatePem: 'CERT', privateKeyPem: 'KEY', trustBundlePem: 'ROOT' }),
      createSecret: (secret) => {
        if (failWrites) return Promise.reject(new Error('secrets is forbidden'));
        written.push(`${secret.namespace}/${secret.name}`);
        return Promise.resolve('created');
      },
      secretTimeoutMs: 5000,
      metrics: {
        responses: obs.metrics.counter('osm_admission_webhook_response_total', { help: 'responses', labels: ['kind', 'success'] }),
        certIssued: obs.metrics.counter('osm_cert_issued_count', { help: 'issued' }),
        certIssuedTime: obs.metrics.histogram('osm_cert_issued_time', { help: 'issue time' }),
      },
    };
    const handle = admissionHandler(deps, obs.tracer);
    const injected = await handle(review('u-injected', 'bookstore'), { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` });
    assert.equal((injected.body as { response: { allowed: boolean } }).response.allowed, true);
    await handle(review('u-outside', 'outside'), {});
    failWrites = true;
    const refused = await handle(review('u-failed', 'bookstore'), {});
    assert.equal((refused.body as { response: { allowed: boolean } }).response.allowed, false);
    await obs.close();
    spans = await receiver.waitForSpans(3);
  });
  after(async () => {
    await obs.close();
    await receiver.close();
  });

  const spanOf = (uid: string): ReceivedSpan => spans.find((s) => s.attributes['osm.admission.uid'] === uid) as ReceivedSpan;

  it('a meshed pod: allowed, its Secret written, in the trace the API server sent', () => {
    const span = spanOf('u-injected');
    assert.equal(span.name, 'admission');
    assert.equal(span.traceId, TRACE_ID);
    assert.equal(span.parentSpanId, CALLER_SPAN);
    assert.equal(span.resource['service.name'], 'osm-injector');
    assert.deepEqual(span.attributes, {
      'osm.admission.secret_written': true,
      'k8s.namespace.name': 'bookstore',
      'osm.admission.uid': 'u-injected',
      'osm.admission.operation': 'CREATE',
      'osm.admission.dry_run': false,
      'osm.admission.pod_generate_name': 'bookstore-v1-5d8f-',
      'osm.admission.injected': true,
      'osm.proxy.uuid': '6d2a8b9e-1c3f-4e5a-9b7c-0d1e2f3a4b5c',
      'osm.admission.result': 'allowed',
    });
    assert.deepEqual(written, ['bookstore/envoy-bootstrap-config-6d2a8b9e-1c3f-4e5a-9b7c-0d1e2f3a4b5c']);
  });

  it('a pod outside the mesh: allowed unchanged, no Secret, a trace of its own', () => {
    const span = spanOf('u-outside');
    assert.equal(span.attributes['osm.admission.result'], 'allowed');
    assert.equal(span.attributes['osm.admission.secret_written'], false);
    assert.equal(span.attributes['osm.admission.injected'], undefined);
    assert.equal(span.parentSpanId, '');
    assert.notEqual(span.traceId, TRACE_ID);
  });

  it('a Secret that cannot be written: result error, the span failed with the reason', () => {
    const span = spanOf('u-failed');
    assert.equal(span.attributes['osm.admission.result'], 'error');
    assert.equal(span.attributes['osm.admission.secret_written'], false);
    assert.equal(span.status.code, 2);
    assert.match(span.status.message ?? '', /osm-injector could not mesh the pod: creating the bootstrap Secret bookstore\/envoy-bootstrap-config-[0-9a-f-]+ failed: secrets is forbidden/);
  });
});

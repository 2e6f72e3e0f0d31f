import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { admissionReview, readAdmissionReview } from './admission.ts';

const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'app', image: 'app' }] } };
const review = (request: Record<string, unknown>, top: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'ns', object: pod, ...request },
  ...top,
});

describe('readAdmissionReview', () => {
  it('reads a pod creation', () => {
    const r = readAdmissionReview(review({ dryRun: true, name: 'p' }));
    assert.ok(r.ok);
    assert.deepEqual({ ...r.request, pod: undefined }, { uid: 'u-1', namespace: 'ns', name: 'p', operation: 'CREATE', dryRun: true, pod: undefined });
    assert.equal(r.request.pod.spec.containers[0]?.name, 'app');
  });

  const notReviews: [string, unknown, RegExp][] = [
    ['a string', 'hello', /not an AdmissionReview/],
    ['an array', [1, 2], /not an AdmissionReview/],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, /kind "Pod" is not valid: expected AdmissionReview/],
    ['v1beta1', review({}, { apiVersion: 'admission.k8s.io/v1beta1' }), /apiVersion "admission.k8s.io\/v1beta1" is not supported: expected admission.k8s.io\/v1/],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request: expected an object/],
    ['no uid', review({ uid: '' }), /request.uid: expected a non-empty string/],
  ];
  for (const [what, body, message] of notReviews) {
    it(`answers 400 to ${what}`, () => {
      const r = readAdmissionReview(body);
      assert.ok(!r.ok && 'status' in r, JSON.stringify(r));
      assert.equal(r.status, 400);
      assert.match(r.message, message);
    });
  }

  const denials: [string, Record<string, unknown>, RegExp][] = [
    ['a Service', { kind: { group: '', version: 'v1', kind: 'Service' } }, /request.kind .* admits only Pods/],
    ['no object', { object: null }, /request.object: expected the Pod being created/],
    ['no namespace', { namespace: '' }, /request.namespace "" is not valid: expected the pod's namespace/],
    ['a namespace that is no name', { namespace: 'a,b=c' }, /request.namespace "a,b=c" is not valid/],
    ['containers not a list', { object: { spec: { containers: 'app' } } }, /request.object.spec.containers: expected a list of containers/],
    ['a container without a name', { object: { spec: { containers: [{}] } } }, /request.object.spec.containers\[0\].name: expected a string/],
    ['labels not strings', { object: { ...pod, metadata: { labels: { a: 1 } } } }, /request.object.metadata.labels: expected a map of strings/],
    ['a probe port object', { object: { spec: { containers: [{ name: 'a', livenessProbe: { httpGet: { port: {} } } }] } } }, /livenessProbe.httpGet.port: expected a port number or name/],
    ['dryRun not a boolean', { dryRun: 'yes' }, /request.dryRun: expected true or false/],
  ];
  for (const [what, request, message] of denials) {
    it(`denies ${what}, naming the field`, () => {
      const r = readAdmissionReview(review(request));
      assert.ok(!r.ok && 'uid' in r, JSON.stringify(r));
      assert.equal(r.uid, 'u-1');
      assert.match(r.message, message);
    });
  }

  // The kind label of osm_admission_webhook_response_total: the request's kind as sent.
  const kinds: [string, unknown, string][] = [
    ['a Service denied', review({ kind: { group: '', version: 'v1', kind: 'Service' } }), 'Service'],
    ['a pod denied', review({ object: null }), 'Pod'],
    ['a review without uid', review({ uid: '' }), 'Pod'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, ''],
    ['not an object', 'hello', ''],
    ['a kind that is no kind name', review({ kind: { kind: 'Pod"} 1\nfake_metric{' } }), ''],
  ];
  for (const [what, body, kind] of kinds) {
    it(`reports the request's kind: ${what} -> ${JSON.stringify(kind)}`, () => {
      const r = readAdmissionReview(body);
      assert.ok(!r.ok);
      assert.equal(r.kind, kind);
    });
  }

  it('never throws, whatever the body (fuzz)', () => {
    const anyReview = fc.record({
      apiVersion: fc.oneof(fc.constant('admission.k8s.io/v1'), fc.string()),
      kind: fc.oneof(fc.constant('AdmissionReview'), fc.string()),
      request: fc.oneof(fc.jsonValue(), fc.record({ uid: fc.string(), kind: fc.jsonValue(), namespace: fc.jsonValue(), object: fc.jsonValue() })),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), anyReview), (body) => {
        const r = readAdmissionReview(body);
        assert.ok(r.ok || ('status' in r && r.status === 400) || ('uid' in r && typeof r.message === 'string'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('admissionReview', () => {
  it('carries the patch base64-encoded with its type, and warnings', () => {
    const r = admissionReview('u', { allowed: true, patch: [{ op: 'add', path: '/a', value: 'ü' }], warnings: ['w'] }) as { response: Record<string, unknown> };
    assert.equal(r.response['patchType'], 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(String(r.response['patch']), 'base64').toString('utf8')), [{ op: 'add', path: '/a', value: 'ü' }]);
    assert.deepEqual(r.response['warnings'], ['w']);
  });

  it('allows unchanged without a patch', () => {
    assert.deepEqual(admissionReview('u', { allowed: true }), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } });
  });

  it('denies with a status code and message', () => {
    assert.deepEqual(admissionReview('u', { allowed: false, code: 400, message: 'm' }), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u', allowed: false, status: { code: 400, message: 'm' } },
    });
  });
});

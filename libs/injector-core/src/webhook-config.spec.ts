import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutatingWebhookConfiguration } from './webhook-config.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const base = { name: 'osm-webhook-osm', meshName: 'osm', osmNamespace: 'osm-system', caBundlePem: 'PEM', failurePolicy: 'Fail', timeoutSeconds: 10 } as const;

describe('mutatingWebhookConfiguration', () => {
  it("targets the injector's Service by default, with the root as caBundle", () => {
    const w = (mutatingWebhookConfiguration({ ...base, target: { serviceName: 'osm-injector' } }) as Json)['webhooks'][0];
    assert.deepEqual(w.clientConfig, { service: { namespace: 'osm-system', name: 'osm-injector', path: '/mutate-pod-creation', port: 9090 }, caBundle: Buffer.from('PEM').toString('base64') });
    assert.equal(w.name, 'osm-inject.k8s.io');
    assert.deepEqual(w.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    assert.equal(w.sideEffects, 'NoneOnDryRun');
    assert.equal(w.reinvocationPolicy, 'IfNeeded');
    assert.equal(w.failurePolicy, 'Fail');
    assert.equal(w.timeoutSeconds, 10);
  });

  it('selects monitored namespaces, never ignored or system ones nor control-plane pods', () => {
    const w = (mutatingWebhookConfiguration({ ...base, meshName: 'blue', osmNamespace: 'blue-system', target: { url: 'https://127.0.0.1:9443/mutate-pod-creation' } }) as Json)['webhooks'][0];
    assert.deepEqual(w.clientConfig.url, 'https://127.0.0.1:9443/mutate-pod-creation');
    assert.deepEqual(w.namespaceSelector, {
      matchLabels: { 'openservicemesh.io/monitored-by': 'blue' },
      matchExpressions: [
        { key: 'openservicemesh.io/ignore', operator: 'DoesNotExist' },
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'blue-system'] },
      ],
    });
    assert.deepEqual(w.objectSelector, { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['openservicemesh.io'] }] });
  });
});

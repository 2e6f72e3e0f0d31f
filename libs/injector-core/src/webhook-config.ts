// The injector's MutatingWebhookConfiguration, as data (OSM: pkg/injector/webhook.go
// createOrUpdateMutatingWebhook). Every replica builds the very same object from the same flags and the
// shared root, and applies it with server-side apply under one field manager, so replicas agree
// instead of overwriting each other (OSM's create-or-update raced, and each replica wrote its own
// certificate's CA). Beyond OSM: the system namespaces are excluded by name, control-plane pods by an
// object selector, and the webhook is reinvoked when a later webhook changes the pod.
import { ignoreLabel, monitoredByLabel } from '@osm/mesh-model';
import { APP_INSTANCE_LABEL, APP_NAME_LABEL, APP_NAME_VALUE, INJECTOR_PORT, SYSTEM_NAMESPACES, WEBHOOK_NAME, WEBHOOK_PATH } from './names.ts';

export const FAILURE_POLICIES = ['Fail', 'Ignore'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

export interface WebhookConfigInput {
  /** `osm-webhook-<mesh>` by default (OSM's). */
  readonly name: string;
  readonly meshName: string;
  readonly osmNamespace: string;
  /** PEM of the mesh root: it signed every replica's serving certificate. */
  readonly caBundlePem: string;
  /** A URL (local runs, tests) or the injector's Service in the control-plane namespace. */
  readonly target: { readonly url: string } | { readonly serviceName: string };
  readonly failurePolicy: FailurePolicy;
  /** 1-30 seconds. */
  readonly timeoutSeconds: number;
}

export function mutatingWebhookConfiguration(input: WebhookConfigInput): { readonly apiVersion: string; readonly kind: string; readonly metadata: { readonly name: string; readonly labels: Record<string, string> }; readonly webhooks: readonly Record<string, unknown>[] } {
  const caBundle = Buffer.from(input.caBundlePem, 'utf8').toString('base64');
  const clientConfig =
    'url' in input.target
      ? { url: input.target.url, caBundle }
      : { service: { namespace: input.osmNamespace, name: input.target.serviceName, path: WEBHOOK_PATH, port: INJECTOR_PORT }, caBundle };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: input.name,
      labels: { [APP_NAME_LABEL]: APP_NAME_VALUE, [APP_INSTANCE_LABEL]: input.meshName, app: 'osm-injector' },
    },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        clientConfig,
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        failurePolicy: input.failurePolicy,
        matchPolicy: 'Exact',
        namespaceSelector: {
          matchLabels: { [monitoredByLabel]: input.meshName },
          matchExpressions: [
            { key: ignoreLabel, operator: 'DoesNotExist' },
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES, input.osmNamespace] },
          ],
        },
        objectSelector: { matchExpressions: [{ key: APP_NAME_LABEL, operator: 'NotIn', values: [APP_NAME_VALUE] }] },
        sideEffects: 'NoneOnDryRun',
        timeoutSeconds: input.timeoutSeconds,
        admissionReviewVersions: ['v1'],
        reinvocationPolicy: 'IfNeeded',
      },
    ],
  };
}

// AdmissionReview (admission.k8s.io/v1) in and out. Reading returns data: a body that is no review at
// all is answered with HTTP 400 (there is no request uid to answer to); a review that is not about a
// pod being created, or whose pod is malformed, is answered with a denial saying what was wrong.
import { isDnsLabel } from '@osm/mesh-model';
import type { PatchOperation } from './inject.ts';
import { isObject, validatePod, type Pod } from './types.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  readonly uid: string;
  readonly namespace: string;
  /** The pod's name when it has one yet (generateName pods get theirs later). */
  readonly name: string | undefined;
  readonly operation: string;
  readonly dryRun: boolean;
  readonly pod: Pod;
}

/**
 * When the reading fails, `kind` is the request's `request.kind.kind` as sent, '' when there is none or it
 * is no Kubernetes kind name: the `kind` label of osm_admission_webhook_response_total (OSM:
 * pkg/webhook/webhook.go RecordAdmissionMetrics records the request's kind, whatever it is).
 */
export type ReviewReading =
  | { readonly ok: true; readonly request: AdmissionRequest }
  /** Not a review: answer with this HTTP status and message. */
  | { readonly ok: false; readonly status: 400; readonly kind: string; readonly message: string }
  /** A review that cannot be admitted: deny it with this message. */
  | { readonly ok: false; readonly uid: string; readonly kind: string; readonly message: string };

// Kinds are CamelCase identifiers; anything else (a client sending junk) is not made a metric label value.
const KIND_NAME = /^[A-Za-z][A-Za-z0-9]{0,62}$/;

function requestKind(request: unknown): string {
  const kind = isObject(request) && isObject(request['kind']) ? request['kind']['kind'] : undefined;
  return typeof kind === 'string' && KIND_NAME.test(kind) ? kind : '';
}

/** Reads a parsed JSON body as an AdmissionReview for creating a pod. */
export function readAdmissionReview(body: unknown): ReviewReading {
  const notAReview = (message: string): ReviewReading => ({ ok: false, status: 400, kind: isObject(body) ? requestKind(body['request']) : '', message });
  if (!isObject(body)) return notAReview('the body is not an AdmissionReview: expected a JSON object with apiVersion, kind and request');
  if (body['kind'] !== 'AdmissionReview') return notAReview(`kind ${JSON.stringify(body['kind'])} is not valid: expected AdmissionReview`);
  if (body['apiVersion'] !== ADMISSION_API_VERSION) return notAReview(`apiVersion ${JSON.stringify(body['apiVersion'])} is not supported: expected ${ADMISSION_API_VERSION}`);
  const request = body['request'];
  if (!isObject(request)) return notAReview('request: expected an object (an AdmissionReview with a request)');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') return notAReview('request.uid: expected a non-empty string');

  const deny = (message: string): ReviewReading => ({ ok: false, uid, kind: requestKind(request), message });
  const kind = request['kind'];
  if (!isObject(kind) || kind['kind'] !== 'Pod' || (kind['group'] ?? '') !== '' || kind['version'] !== 'v1') {
    return deny(`request.kind ${JSON.stringify(kind)} is not valid: this webhook admits only Pods (group "", version v1)`);
  }
  const operation = request['operation'];
  if (typeof operation !== 'string') return deny('request.operation: expected a string such as CREATE');
  const namespace = request['namespace'];
  if (typeof namespace !== 'string' || !isDnsLabel(namespace)) return deny(`request.namespace ${JSON.stringify(namespace)} is not valid: expected the pod's namespace (a DNS label)`);
  if (request['object'] === undefined || request['object'] === null) return deny('request.object: expected the Pod being created');
  const pod = validatePod(request['object']);
  if (!pod.ok) return deny(pod.message);
  const dryRun = request['dryRun'];
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') return deny('request.dryRun: expected true or false');
  const name = request['name'];
  return { ok: true, request: { uid, namespace, name: typeof name === 'string' && name !== '' ? name : undefined, operation, dryRun: dryRun === true, pod: pod.pod } };
}

export type Admission =
  | { readonly allowed: true; readonly patch?: readonly PatchOperation[]; readonly warnings?: readonly string[] }
  | { readonly allowed: false; readonly code: number; readonly message: string };

/** The AdmissionReview answering request `uid`. */
export function admissionReview(uid: string, admission: Admission): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: admission.allowed };
  if (admission.allowed) {
    if (admission.patch && admission.patch.length > 0) {
      response['patchType'] = 'JSONPatch';
      response['patch'] = Buffer.from(JSON.stringify(admission.patch), 'utf8').toString('base64');
    }
    if (admission.warnings && admission.warnings.length > 0) response['warnings'] = admission.warnings;
  } else {
    response['status'] = { code: admission.code, message: admission.message };
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

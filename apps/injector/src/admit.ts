// One admission: read the review, decide with @osm/injector-core, and for a pod that gets a sidecar
// (unless the request is a dry run) issue its bootstrap certificate and create its bootstrap Secret
// before answering with the patch. Failures become a denial that says what failed (the edge where
// errors turn into an AdmissionResponse); nothing is half-written: the Secret is one create, and a
// Secret whose pod never appears is removed by the sweep.
import type { NewSecret } from '@osm/certificates';
import {
  admissionReview,
  bootstrapSecretData,
  bootstrapSecretLabels,
  bootstrapSecretName,
  injectPod,
  readAdmissionReview,
  type Admission,
  type BootstrapCertificate,
  type InjectorOptions,
  type Namespace,
  type SidecarSettings,
} from '@osm/injector-core';
import type { IncomingHttpHeaders } from 'node:http';
import { failSpan, traceContextFromHeaders, withSpan, type Counter, type Histogram, type Logger, type Span, type Tracer } from '@osm/observability';
import type { JsonReply } from './server.ts';

export type InjectorErrorCode = 'CertificateIssueFailed' | 'SecretWriteFailed' | 'SecretExists' | 'Timeout';

export class InjectorError extends Error {
  override name = 'InjectorError';
  readonly code: InjectorErrorCode;
  constructor(code: InjectorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface AdmitMetrics {
  /** osm_admission_webhook_response_total{kind, success} (OSM's labels). */
  readonly responses: Counter<'kind' | 'success'>;
  readonly certIssued: Counter;
  readonly certIssuedTime: Histogram;
}

export interface AdmitDeps {
  readonly logger: Logger;
  readonly options: InjectorOptions;
  /** The current MeshConfig settings. */
  readonly settings: () => SidecarSettings;
  /** The namespace object, or undefined when it does not exist. */
  readonly namespace: (name: string) => Promise<Namespace | undefined>;
  readonly newUuid: () => string;
  readonly issueBootstrap: (subject: { readonly proxyUuid: string; readonly serviceAccount: string; readonly namespace: string }) => Promise<BootstrapCertificate>;
  readonly createSecret: (secret: NewSecret) => Promise<'created' | 'exists'>;
  /** The Secret write must finish within this, so the API server hears our reason before its own timeout. */
  readonly secretTimeoutMs: number;
  readonly metrics: AdmitMetrics;
}

function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InjectorError('Timeout', `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Issues the bootstrap certificate and creates the Secret; throws InjectorError. */
async function writeBootstrapSecret(deps: AdmitDeps, namespace: string, proxyUuid: string, serviceAccount: string, files: Readonly<Record<string, string>>): Promise<void> {
  const started = performance.now();
  let certificate: BootstrapCertificate;
  try {
    certificate = await deps.issueBootstrap({ proxyUuid, serviceAccount, namespace });
  } catch (err) {
    throw new InjectorError('CertificateIssueFailed', `issuing the bootstrap certificate failed: ${(err as Error).message}`, { cause: err });
  }
  deps.metrics.certIssued.inc();
  deps.metrics.certIssuedTime.record((performance.now() - started) / 1000);
  const name = bootstrapSecretName(proxyUuid);
  const data = bootstrapSecretData(files, certificate);
  const secret: NewSecret = {
    namespace,
    name,
    labels: bootstrapSecretLabels(deps.options.meshName, proxyUuid),
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
  };
  let outcome: 'created' | 'exists';
  try {
    outcome = await within(deps.secretTimeoutMs, `creating Secret ${namespace}/${name}`, deps.createSecret(secret));
  } catch (err) {
    if (err instanceof InjectorError) throw err;
    throw new InjectorError('SecretWriteFailed', `creating the bootstrap Secret ${namespace}/${name} failed: ${(err as Error).message}`, { cause: err });
  }
  // A fresh random uuid never names an existing Secret; if one does, it is not ours to reuse.
  if (outcome === 'exists') throw new InjectorError('SecretExists', `the bootstrap Secret ${namespace}/${name} already exists`);
}

/** The admission's outcome on its span: allowed, denied (the pod or the request), or error (ours: the pod is denied too). */
function traceResult(span: Span | undefined, result: 'allowed' | 'denied' | 'error', message?: string): void {
  if (!span) return;
  span.setAttribute('osm.admission.result', result);
  if (result === 'error') failSpan(span, message);
}

/** Answers one webhook request body; with `span` (tracing on), its attributes say what happened. */
export async function admit(body: unknown, deps: AdmitDeps, span?: Span): Promise<JsonReply> {
  span?.setAttribute('osm.admission.secret_written', false);
  const reading = readAdmissionReview(body);
  if (!reading.ok) {
    deps.metrics.responses.inc({ kind: reading.kind, success: false });
    deps.logger.warn({ problem: reading.message }, 'refused a webhook request');
    traceResult(span, 'denied');
    if ('status' in reading) return { status: reading.status, body: { code: reading.status, message: reading.message } };
    return { status: 200, body: admissionReview(reading.uid, { allowed: false, code: 400, message: reading.message }) };
  }
  const { request } = reading;
  const pod = `${request.namespace}/${request.name ?? request.pod.metadata?.generateName ?? ''}`;
  span?.setAttributes({
    'k8s.namespace.name': request.namespace,
    'osm.admission.uid': request.uid,
    'osm.admission.operation': request.operation,
    'osm.admission.dry_run': request.dryRun,
    ...(request.name ? { 'k8s.pod.name': request.name } : {}),
    ...(request.pod.metadata?.generateName ? { 'osm.admission.pod_generate_name': request.pod.metadata.generateName } : {}),
  });
  const answer = (admission: Admission, error?: 'error'): JsonReply => {
    traceResult(span, error ?? (admission.allowed ? 'allowed' : 'denied'), admission.allowed ? undefined : admission.message);
    // A request read successfully is about a Pod (anything else was refused above).
    deps.metrics.responses.inc({ kind: 'Pod', success: admission.allowed });
    return { status: 200, body: admissionReview(request.uid, admission) };
  };
  // Only creation is mutated (that is all the configuration registers); anything else passes unchanged.
  if (request.operation !== 'CREATE') return answer({ allowed: true });

  let namespaceObject: Namespace | undefined;
  try {
    namespaceObject = await deps.namespace(request.namespace);
  } catch (err) {
    deps.logger.error({ pod, err }, 'reading the namespace failed; pod denied');
    return answer({ allowed: false, code: 500, message: `osm-injector could not read namespace ${request.namespace}: ${(err as Error).message}` }, 'error');
  }
  const proxyUuid = deps.newUuid();
  const result = injectPod({
    pod: request.pod,
    namespace: request.namespace,
    namespaceObject,
    settings: deps.settings(),
    proxyUuid,
    options: deps.options,
  });
  if (result.outcome === 'skip') {
    deps.logger.debug({ pod, reason: result.reason }, 'pod not meshed');
    return answer({ allowed: true });
  }
  if (result.outcome === 'deny') {
    deps.logger.warn({ pod, reason: result.reason }, 'pod denied');
    return answer({ allowed: false, code: 400, message: result.reason });
  }
  if (!request.dryRun) {
    try {
      await writeBootstrapSecret(deps, request.namespace, proxyUuid, result.serviceAccount, result.bootstrapFiles);
    } catch (err) {
      const code = err instanceof InjectorError ? err.code : 'SecretWriteFailed';
      deps.logger.error({ pod, proxyUuid, code, err }, 'bootstrap Secret not written; pod denied');
      return answer({ allowed: false, code: 500, message: `osm-injector could not mesh the pod: ${(err as Error).message}` }, 'error');
    }
    span?.setAttribute('osm.admission.secret_written', true);
  }
  span?.setAttributes({ 'osm.admission.injected': true, 'osm.proxy.uuid': proxyUuid });
  deps.logger.info({ pod, proxyUuid, serviceAccount: result.serviceAccount, dryRun: request.dryRun, reason: result.reason }, 'sidecar injected');
  return answer({ allowed: true, patch: result.patch, warnings: result.warnings });
}

/**
 * The webhook's handler. With a tracer (tracing on) each admission is a span `admission`, continuing
 * the caller's trace when the API server sends a W3C `traceparent`; without one no span is made.
 */
export function admissionHandler(deps: AdmitDeps, tracer?: Tracer): (body: unknown, headers: IncomingHttpHeaders) => Promise<JsonReply> {
  if (!tracer) return (body) => admit(body, deps);
  return (body, headers) => withSpan(tracer, 'admission', {}, (span) => admit(body, deps, span), traceContextFromHeaders(headers));
}

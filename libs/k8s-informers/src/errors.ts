// The one error type of this lib: what went wrong talking to the Kubernetes API, with a code.

export type KubeApiErrorCode =
  /** 410: the resourceVersion is too old (compacted); the informer relists. */
  | 'Gone'
  /** Any other HTTP status, or an ERROR watch event carrying a Status. */
  | 'Status'
  /** The connection failed or broke. */
  | 'Network'
  /** The server sent something that is not the JSON we expect. */
  | 'Decode';

export class KubeApiError extends Error {
  readonly code: KubeApiErrorCode;
  /** The HTTP status (or the Status object's code), when there was one. */
  readonly statusCode: number | undefined;

  constructor(code: KubeApiErrorCode, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubeApiError';
    this.code = code;
    this.statusCode = options.statusCode;
  }
}

/** A metav1.Status (from an error response body or an ERROR watch event) as a KubeApiError. */
export function errorFromStatus(status: unknown, httpStatus?: number): KubeApiError {
  const s = (typeof status === 'object' && status !== null ? status : {}) as { code?: unknown; message?: unknown; reason?: unknown };
  const code = typeof s.code === 'number' ? s.code : httpStatus;
  const message = typeof s.message === 'string' ? s.message : `HTTP ${httpStatus ?? 'error'}`;
  const reason = typeof s.reason === 'string' ? ` (${s.reason})` : '';
  const full = `${message}${reason}`;
  return code === 410
    ? new KubeApiError('Gone', full, { statusCode: 410 })
    : new KubeApiError('Status', full, code === undefined ? {} : { statusCode: code });
}

export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 'Gone';
}

/** A bad informer option: the message names the option and what it allows. Nothing was started. */
export class InformerOptionError extends Error {
  readonly code = 'InvalidOption' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InformerOptionError';
  }
}

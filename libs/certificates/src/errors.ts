// One small error hierarchy: a code and a cause. Converted to HTTP/gRPC status only at the edge.

export type CertificateErrorCode =
  | 'InvalidArgument'
  | 'InvalidCertificate'
  | 'InvalidPrivateKey'
  | 'KeyMismatch'
  | 'NotACertificateAuthority'
  | 'Expired'
  | 'NotYetValid'
  | 'UntrustedIssuer'
  | 'UnsupportedKey'
  | 'MissingKey'
  | 'NotFound'
  | 'IssuanceFailed'
  | 'Timeout';

export class CertificateError extends Error {
  readonly code: CertificateErrorCode;

  constructor(code: CertificateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateError';
    this.code = code;
  }
}

/** Validation returns data: either the value or the reason it was refused. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CertificateError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T>(code: CertificateErrorCode, message: string, cause?: unknown): Result<T> => ({
  ok: false,
  error: new CertificateError(code, message, cause === undefined ? undefined : { cause }),
});

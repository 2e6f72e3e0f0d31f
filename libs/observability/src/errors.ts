/** Codes of the errors this lib throws; stable strings an app can switch on. */
export type ObservabilityErrorCode = 'invalid-argument' | 'already-exists' | 'shutting-down';

/** The one error type of @osm/observability: a code, a message naming the field, and an optional cause. */
export class ObservabilityError extends Error {
  readonly code: ObservabilityErrorCode;

  constructor(code: ObservabilityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObservabilityError';
    this.code = code;
  }
}

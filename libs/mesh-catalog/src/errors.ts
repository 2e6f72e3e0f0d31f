export type CatalogErrorCode = 'InvalidOption';

/** The catalog's error type: a code and a message naming the field and what it allows. */
export class CatalogError extends Error {
  readonly code: CatalogErrorCode;
  constructor(code: CatalogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CatalogError';
    this.code = code;
  }
}

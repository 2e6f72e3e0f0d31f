// Keeps secrets out of log lines. Applied to every argument of every log call and to child-logger
// bindings, so that a certificate bundle, a Kubernetes Secret or a PEM string logged by mistake shows
// up as "[REDACTED]" instead of key material. Copy-on-write: values without secrets are passed
// through untouched (same object), so the common case costs one walk and no allocation.
import { KeyObject } from 'node:crypto';

export const REDACTED = '[REDACTED]';

/**
 * Field names whose values are never logged, compared lower-cased with `.`, `_` and `-` removed.
 * `key` and `secret` are not among them: they name store keys and Secret names all the time; what
 * they hold is still checked by content (PEM, base64 PEM, binary, KeyObject).
 */
const SECRET_FIELDS = new Set([
  'privatekey',
  'privatekeypem',
  'privatekeyder',
  'keypem',
  'tlskey',
  'cakey',
  'rootkey',
  'signingkey',
  'password',
  'passwd',
  'clientsecret',
  'token',
  'accesstoken',
  'bearertoken',
  'authorization',
  'apikey',
  'stringdata',
]);


const MAX_DEPTH = 12;

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
/** base64 of "-----BEGIN": how a PEM looks inside a Kubernetes Secret's `data`. */
const BASE64_PEM_PREFIX = 'LS0tLS1CRUdJT';

// Field names repeat (a process logs the same few hundred): remember the verdict per name.
const fieldVerdicts = new Map<string, boolean>();
const MAX_REMEMBERED_FIELDS = 4096;

function isSecretFieldName(name: string): boolean {
  let verdict = fieldVerdicts.get(name);
  if (verdict === undefined) {
    verdict = SECRET_FIELDS.has(name.toLowerCase().replace(/[._-]/g, ''));
    if (fieldVerdicts.size >= MAX_REMEMBERED_FIELDS) fieldVerdicts.clear();
    fieldVerdicts.set(name, verdict);
  }
  return verdict;
}

function isBinary(value: unknown): value is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function isPrivateKeyObject(value: object): boolean {
  if (value instanceof KeyObject) return value.type !== 'public';
  if (typeof CryptoKey !== 'undefined' && value instanceof CryptoKey) return value.type !== 'public';
  return false;
}

/** Replaces PEM private keys (plain or base64-wrapped) inside a string; returns the same string if none. */
export function redactString(value: string): string {
  let out = value;
  if (out.includes('PRIVATE KEY')) out = out.replace(PEM_PRIVATE_KEY, REDACTED);
  if (out.includes(BASE64_PEM_PREFIX)) out = redactBase64Pems(out);
  return out;
}

/** Inside a JSON text: a PEM private key ends at its END line or, truncated, at the end of its JSON string. */
const JSON_PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[^"\\]|\\.)*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|(?="))/g;

/** Replaces PEM private keys (plain or base64-wrapped) inside serialized JSON, keeping it valid JSON. */
export function redactJsonLine(line: string): string {
  let out = line;
  if (out.includes('PRIVATE KEY')) out = out.replace(JSON_PEM_PRIVATE_KEY, REDACTED);
  if (out.includes(BASE64_PEM_PREFIX)) out = redactBase64Pems(out);
  return out;
}

function redactBase64Pems(value: string): string {
  return value.replace(/LS0tLS1CRUdJT[A-Za-z0-9+/=]*/g, (match) => {
    const head = Buffer.from(match.slice(0, 200), 'base64').toString('latin1');
    return head.includes('PRIVATE KEY') ? REDACTED : match;
  });
}

function isSecretField(name: string, value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  return isSecretFieldName(name);
}

/**
 * Returns `value` with secrets replaced by "[REDACTED]": values of secret-named fields (privateKey,
 * `private.key`, `tls.key`, password, token, ...), PEM private keys anywhere in a string (also
 * base64-encoded as in a Secret's `data`), private KeyObjects/CryptoKeys, and binary buffers (shown as
 * their length). A Kubernetes Secret keeps its data keys but loses every value.
 */
export function redactSecrets(value: unknown): unknown {
  return redactValue(value, 0, []);
}

function redactValue(value: unknown, depth: number, ancestors: object[]): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH || ancestors.includes(value)) return value;
  if (isBinary(value)) return `[${value.byteLength} bytes]`;
  if (isPrivateKeyObject(value)) return REDACTED;
  if (value instanceof Error) return redactError(value, depth, ancestors);
  if (value instanceof Date || value instanceof RegExp) return value;
  ancestors.push(value);
  try {
    if (Array.isArray(value)) return redactArray(value, depth, ancestors);
    return redactObject(value as Record<string, unknown>, depth, ancestors);
  } finally {
    ancestors.pop();
  }
}

function redactArray(value: unknown[], depth: number, ancestors: object[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const redacted = redactValue(item, depth + 1, ancestors);
    if (redacted !== item) {
      copy ??= value.slice();
      copy[i] = redacted;
    }
  }
  return copy ?? value;
}

function redactObject(value: Record<string, unknown>, depth: number, ancestors: object[]): Record<string, unknown> {
  const isSecretObject = value['kind'] === 'Secret' && typeof value['apiVersion'] === 'string';
  let copy: Record<string, unknown> | undefined;
  for (const field of Object.keys(value)) {
    const item = value[field];
    let redacted: unknown;
    if (isSecretObject && (field === 'data' || field === 'stringData') && typeof item === 'object' && item !== null) {
      redacted = Object.fromEntries(Object.keys(item).map((k) => [k, REDACTED]));
    } else if (isSecretField(field, item)) {
      redacted = REDACTED;
    } else {
      redacted = redactValue(item, depth + 1, ancestors);
    }
    if (redacted !== item) {
      copy ??= { ...value };
      copy[field] = redacted;
    }
  }
  return copy ?? value;
}

function redactError(error: Error, depth: number, ancestors: object[]): unknown {
  const message = redactString(error.message);
  const stack = error.stack === undefined ? undefined : redactString(error.stack);
  const cause = error.cause === undefined ? undefined : redactValue(error.cause, depth + 1, ancestors);
  const own = redactObject(error as unknown as Record<string, unknown>, depth, ancestors);
  if (message === error.message && stack === error.stack && cause === error.cause && own === (error as unknown)) return error;
  // A copy with the same prototype, so that pino's err serializer still sees the error's type.
  const copy = Object.create(Object.getPrototypeOf(error) as object | null) as Error;
  Object.assign(copy, own);
  const hidden = (value: unknown): PropertyDescriptor => ({ value, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(copy, 'message', hidden(message));
  if (stack !== undefined) Object.defineProperty(copy, 'stack', hidden(stack));
  if (cause !== undefined) Object.defineProperty(copy, 'cause', hidden(cause));
  return copy;
}

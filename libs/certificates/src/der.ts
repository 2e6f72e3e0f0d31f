// A minimal DER encoder for the leaf hot path only (x509.ts createLeafTemplate): plain Buffers, no
// intermediate object trees. Parsing, roots and CSRs use @peculiar/x509 instead.

/** Encodes a DER length. */
function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  if (length < 0x10000) return Buffer.from([0x82, length >> 8, length & 0xff]);
  if (length < 0x1000000) return Buffer.from([0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  throw new RangeError(`DER length ${length} is too large`);
}

/** Tag-length-value with the given contents (already DER). */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const c of contents) length += c.length;
  return Buffer.concat([Buffer.from([tag]), lengthBytes(length), ...contents]);
}

export const sequence = (...items: readonly Uint8Array[]): Buffer => tlv(0x30, ...items);
export const set = (...items: readonly Uint8Array[]): Buffer => tlv(0x31, ...items);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const utf8String = (value: string): Buffer => tlv(0x0c, Buffer.from(value, 'utf8'));
export const boolean = (value: boolean): Buffer => Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
/** Context-specific constructed tag [n]. */
export const explicit = (n: number, ...contents: readonly Uint8Array[]): Buffer => tlv(0xa0 | n, ...contents);
/** Context-specific primitive tag [n] (IMPLICIT over a primitive type). */
export const implicitPrimitive = (n: number, bytes: Uint8Array): Buffer => tlv(0x80 | n, bytes);

/** BIT STRING with the given number of unused bits in the last byte. */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Buffer => tlv(0x03, Buffer.from([unusedBits]), bytes);

/** A non-negative INTEGER from big-endian magnitude bytes, minimally encoded. */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return Buffer.from([0x02, 0x01, 0x00]);
  return (trimmed[0] ?? 0) & 0x80 ? tlv(0x02, Buffer.from([0]), trimmed) : tlv(0x02, trimmed);
}

export const smallInteger = (value: number): Buffer => {
  if (!Number.isInteger(value) || value < 0 || value > 0x7f) throw new RangeError(`smallInteger ${value}`);
  return Buffer.from([0x02, 0x01, value]);
};

/** OBJECT IDENTIFIER from dotted notation. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new RangeError(`bad OID ${dotted}`);
  const bytes: number[] = [];
  const push = (value: number): void => {
    const stack = [value & 0x7f];
    let v = Math.floor(value / 128);
    while (v > 0) {
      stack.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    for (let i = stack.length - 1; i >= 0; i--) bytes.push(stack[i] ?? 0);
  };
  push((arcs[0] ?? 0) * 40 + (arcs[1] ?? 0));
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(0x06, Buffer.from(bytes));
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** X.509 Time (RFC 5280 4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
export function x509Time(epochMs: number): Buffer {
  const d = new Date(epochMs);
  const year = d.getUTCFullYear();
  const rest = `${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(`${pad2(year % 100)}${rest}`, 'ascii'));
  return tlv(0x18, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'ascii'));
}

// Protobuf wire format written by hand, for the few xDS messages whose encoding is on a hot path (the
// ADS server's responses around already-encoded resources, the fleet simulator's requests): sizes are
// computed first, then one pre-sized buffer is filled, so nothing is copied twice. Keys here are one
// byte (field numbers up to 15), which covers every field these messages use.

/** Wire types (https://protobuf.dev/programming-guides/encoding/). */
export const WIRE_VARINT = 0;
export const WIRE_LEN = 2;

/** The one-byte key of field `field` with wire type `wire` (length-delimited unless told). */
export const fieldKey = (field: number, wire = WIRE_LEN): number => (field << 3) | wire;

/** Bytes of `n` (0 ≤ n < 2^32) as a varint. */
export const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** Bytes of a length-delimited field (one-byte key) whose content is `n` bytes. */
export const fieldSize = (n: number): number => 1 + varintSize(n) + n;

/** Fills one buffer of a size computed beforehand. */
export class ProtoWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** `n` as a varint (0 ≤ n < 2^32). */
  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  /** A field's key and, for a length-delimited field, the length that follows it. */
  header(key: number, length: number): void {
    this.buf[this.pos++] = key;
    this.varint(length);
  }

  /** A string field of `length` UTF-8 bytes (written even when empty). */
  string(key: number, value: string, length: number): void {
    this.header(key, length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  bytes(key: number, value: Uint8Array): void {
    this.header(key, value.length);
    this.raw(value);
  }

  /** Bytes that are already encoded fields. */
  raw(value: Uint8Array): void {
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }
}

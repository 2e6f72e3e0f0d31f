// The few xDS messages a simulated proxy sends, written straight to protobuf bytes, and the SotW
// response read without materialising its resources. At thousands of proxies the generated codecs'
// per-message objects dominate the simulator's CPU; these do one allocation per request and none per
// resource on the common path (a response whose resources the process has seen before).
import { envoy, fieldKey, fieldSize, ProtoWriter, varintSize, WIRE_LEN as LEN, WIRE_VARINT as VARINT } from '@osm/envoy-api';

/** google.rpc.Status as Envoy fills it in a NACK. */
export interface ErrorDetail {
  readonly code: number;
  readonly message: string;
}

/** A state-of-the-world DiscoveryRequest. */
export interface SotwRequest {
  readonly kind: 'sotw';
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly resourceNames: readonly string[];
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
  /** Whether this request carries the node (the first of a stream, or every one). */
  readonly node: boolean;
}

/** An incremental DeltaDiscoveryRequest. */
export interface DeltaRequest {
  readonly kind: 'delta';
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  /** Versions of the resources held, sent on the first request of a stream. */
  readonly initialVersions?: ReadonlyMap<string, string>;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
  readonly node: boolean;
}

export type AdsRequest = SotwRequest | DeltaRequest;

/** A SotW DiscoveryResponse with its resources left encoded. */
export interface RawSotwResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** control_plane.identifier ('' when absent). */
  readonly controlPlane: string;
  /** The resources' field encodings (tag, length, Any), back to back; parse with `forEachAny`. */
  readonly resources: Uint8Array;
  readonly resourceCount: number;
}

// Encoded repeated-string fields by list identity: sessions intern their name lists, so thousands of
// proxies subscribing to the same names share one encoding.
const encodedLists = new WeakMap<readonly string[], Map<number, Buffer>>();

function encodeStrings(field: number, list: readonly string[]): Buffer {
  let byField = encodedLists.get(list);
  if (!byField) {
    byField = new Map();
    encodedLists.set(list, byField);
  }
  let out = byField.get(field);
  if (out) return out;
  const lens = list.map((s) => Buffer.byteLength(s));
  const w = new ProtoWriter(lens.reduce((n, len) => n + fieldSize(len), 0));
  list.forEach((s, i) => w.string(fieldKey(field), s, lens[i] as number));
  out = w.buf;
  byField.set(field, out);
  return out;
}

function statusSize(e: ErrorDetail): { size: number; messageLen: number } {
  const messageLen = Buffer.byteLength(e.message);
  const size = (e.code !== 0 ? 1 + varintSize(e.code) : 0) + (messageLen > 0 ? fieldSize(messageLen) : 0);
  return { size, messageLen };
}

function writeStatus(w: ProtoWriter, field: number, e: ErrorDetail, sizes: { size: number; messageLen: number }): void {
  w.header(fieldKey(field), sizes.size);
  // A varint field: its key, then the value.
  if (e.code !== 0) w.header(fieldKey(1, VARINT), e.code);
  if (sizes.messageLen > 0) w.string(fieldKey(2), e.message, sizes.messageLen);
}

/** The node a proxy presents, encoded once per proxy. */
export function encodeNode(node: { readonly id: string; readonly cluster: string }): Uint8Array {
  return envoy.config.core.v3.Node.encode(
    envoy.config.core.v3.Node.fromPartial({ id: node.id, cluster: node.cluster, userAgentName: 'envoy', userAgentVersion: 'osm-ts-fleet' }),
  ).finish();
}

/** envoy.service.discovery.v3.DiscoveryRequest bytes. */
export function encodeSotwRequest(r: SotwRequest, node: Uint8Array): Buffer {
  const versionLen = Buffer.byteLength(r.versionInfo);
  const typeLen = Buffer.byteLength(r.typeUrl);
  const nonceLen = Buffer.byteLength(r.responseNonce);
  const names = r.resourceNames.length > 0 ? encodeStrings(3, r.resourceNames) : undefined;
  const status = r.errorDetail ? statusSize(r.errorDetail) : undefined;
  const size =
    (versionLen > 0 ? fieldSize(versionLen) : 0) +
    (r.node ? fieldSize(node.length) : 0) +
    (names?.length ?? 0) +
    fieldSize(typeLen) +
    (nonceLen > 0 ? fieldSize(nonceLen) : 0) +
    (status ? fieldSize(status.size) : 0);
  const w = new ProtoWriter(size);
  if (versionLen > 0) w.string(fieldKey(1), r.versionInfo, versionLen);
  if (r.node) w.bytes(fieldKey(2), node);
  if (names) w.raw(names);
  w.string(fieldKey(4), r.typeUrl, typeLen);
  if (nonceLen > 0) w.string(fieldKey(5), r.responseNonce, nonceLen);
  if (r.errorDetail && status) writeStatus(w, 6, r.errorDetail, status);
  return w.buf;
}

/** envoy.service.discovery.v3.DeltaDiscoveryRequest bytes. */
export function encodeDeltaRequest(r: DeltaRequest, node: Uint8Array): Buffer {
  const typeLen = Buffer.byteLength(r.typeUrl);
  const nonceLen = Buffer.byteLength(r.responseNonce);
  const subscribe = r.subscribe.length > 0 ? encodeStrings(3, r.subscribe) : undefined;
  const unsubscribe = r.unsubscribe.length > 0 ? encodeStrings(4, r.unsubscribe) : undefined;
  const entries: { key: string; keyLen: number; value: string; valueLen: number; size: number }[] = [];
  for (const [key, value] of r.initialVersions ?? []) {
    const keyLen = Buffer.byteLength(key);
    const valueLen = Buffer.byteLength(value);
    entries.push({ key, keyLen, value, valueLen, size: fieldSize(keyLen) + fieldSize(valueLen) });
  }
  const status = r.errorDetail ? statusSize(r.errorDetail) : undefined;
  const size =
    (r.node ? fieldSize(node.length) : 0) +
    fieldSize(typeLen) +
    (subscribe?.length ?? 0) +
    (unsubscribe?.length ?? 0) +
    entries.reduce((n, e) => n + fieldSize(e.size), 0) +
    (nonceLen > 0 ? fieldSize(nonceLen) : 0) +
    (status ? fieldSize(status.size) : 0);
  const w = new ProtoWriter(size);
  if (r.node) w.bytes(fieldKey(1), node);
  w.string(fieldKey(2), r.typeUrl, typeLen);
  if (subscribe) w.raw(subscribe);
  if (unsubscribe) w.raw(unsubscribe);
  for (const e of entries) {
    w.header(fieldKey(5), e.size);
    w.string(fieldKey(1), e.key, e.keyLen);
    w.string(fieldKey(2), e.value, e.valueLen);
  }
  if (nonceLen > 0) w.string(fieldKey(6), r.responseNonce, nonceLen);
  if (r.errorDetail && status) writeStatus(w, 7, r.errorDetail, status);
  return w.buf;
}

// ---- reading

/** A malformed message: the proxy treats it like Envoy treats an undecodable response (stream reset). */
export class WireError extends Error {
  readonly code = 'MALFORMED_MESSAGE';
}

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    throw new WireError('varint too long');
  }
  /** Skips a field's value of wire type `wire`; returns [start, end) of a length-delimited body. */
  body(wire: number): [number, number] {
    switch (wire) {
      case VARINT:
        this.varint();
        return [this.pos, this.pos];
      case 1:
        this.pos += 8;
        break;
      case LEN: {
        const len = this.varint();
        const start = this.pos;
        this.pos += len;
        if (this.pos > this.end) throw new WireError('truncated field');
        return [start, this.pos];
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new WireError('truncated field');
    return [this.pos, this.pos];
  }
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Reads a DiscoveryResponse; the resources stay encoded (a view when they are contiguous, as every encoder writes them). */
export function parseSotwResponse(bytes: Uint8Array): RawSotwResponse {
  const buf = asBuffer(bytes);
  const r = new Reader(buf);
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  let controlPlane = '';
  let count = 0;
  // [start, end) runs of resource fields; one run unless an encoder interleaved other fields.
  const runs: [number, number][] = [];
  while (r.pos < r.end) {
    const fieldStart = r.pos;
    const key = r.varint();
    const [start, end] = r.body(key & 7);
    const wireOk = (key & 7) === LEN;
    switch (key >>> 3) {
      case 1:
        if (wireOk) versionInfo = buf.toString('utf8', start, end);
        break;
      case 2: {
        if (!wireOk) break;
        count++;
        const run = runs[runs.length - 1];
        if (run && run[1] === fieldStart) run[1] = end;
        else runs.push([fieldStart, end]);
        break;
      }
      case 4:
        if (wireOk) typeUrl = buf.toString('utf8', start, end);
        break;
      case 5:
        if (wireOk) nonce = buf.toString('utf8', start, end);
        break;
      case 6:
        if (wireOk) controlPlane = readIdentifier(buf, start, end);
        break;
    }
  }
  const only = runs.length === 1 ? runs[0] : undefined;
  const resources = only ? buf.subarray(only[0], only[1]) : Buffer.concat(runs.map(([s, e]) => buf.subarray(s, e)));
  return { versionInfo, typeUrl, nonce, controlPlane, resources, resourceCount: count };
}

function readIdentifier(buf: Buffer, start: number, end: number): string {
  const r = new Reader(buf, start, end);
  let id = '';
  while (r.pos < r.end) {
    const key = r.varint();
    const [s, e] = r.body(key & 7);
    if (key >>> 3 === 1 && (key & 7) === LEN) id = buf.toString('utf8', s, e);
  }
  return id;
}

/** Calls `fn` with each Any's type URL and value in a run of resource field encodings. */
export function forEachAny(resources: Uint8Array, fn: (typeUrl: string, value: Uint8Array) => void): void {
  const buf = asBuffer(resources);
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const key = r.varint();
    const [start, end] = r.body(key & 7);
    if ((key & 7) !== LEN) continue;
    const any = new Reader(buf, start, end);
    let typeUrl = '';
    let value: Uint8Array = new Uint8Array(0);
    while (any.pos < any.end) {
      const k = any.varint();
      const [s, e] = any.body(k & 7);
      if ((k & 7) !== LEN) continue;
      if (k >>> 3 === 1) typeUrl = buf.toString('utf8', s, e);
      else if (k >>> 3 === 2) value = buf.subarray(s, e);
    }
    fn(typeUrl, value);
  }
}

/** The first length-delimited field 1 of a message as a string: the name of every Envoy resource type. */
export function readName(value: Uint8Array): string {
  const buf = asBuffer(value);
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const key = r.varint();
    const [s, e] = r.body(key & 7);
    if (key >>> 3 === 1 && (key & 7) === LEN) return buf.toString('utf8', s, e);
  }
  return '';
}

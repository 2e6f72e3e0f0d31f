// DiscoveryResponse and DeltaDiscoveryResponse written by hand around resources that xds-snapshot has
// already encoded: each resource's bytes are copied once into the response, never decoded and encoded
// again (a ts-proto encode of one proxy's resources on every push costs milliseconds of CPU). Field
// numbers are those of envoy/service/discovery/v3/discovery.proto, written in the order the generated
// ts-proto codecs write them, so wire.spec.ts compares the output with theirs byte for byte.
import { fieldKey as tag, fieldSize, ProtoWriter } from '@osm/envoy-api';
import type { EncodedResource } from '@osm/xds-snapshot';

// DiscoveryResponse
const RESPONSE_VERSION_INFO = tag(1);
const RESPONSE_RESOURCES = tag(2);
const RESPONSE_TYPE_URL = tag(4);
const RESPONSE_NONCE = tag(5);
const RESPONSE_CONTROL_PLANE = tag(6);
// DeltaDiscoveryResponse
const DELTA_SYSTEM_VERSION_INFO = tag(1);
const DELTA_RESOURCES = tag(2);
const DELTA_TYPE_URL = tag(4);
const DELTA_NONCE = tag(5);
const DELTA_REMOVED_RESOURCES = tag(6);
const DELTA_CONTROL_PLANE = tag(7);
// Resource (delta)
const RESOURCE_VERSION = tag(1);
const RESOURCE_RESOURCE = tag(2);
const RESOURCE_NAME = tag(3);
// google.protobuf.Any
const ANY_TYPE_URL = tag(1);
const ANY_VALUE = tag(2);
// envoy.config.core.v3.ControlPlane
const CONTROL_PLANE_IDENTIFIER = tag(1);

/** Size of a string field: proto3 leaves an empty string out. */
const stringSize = (n: number): number => (n === 0 ? 0 : fieldSize(n));

/** A string field, left out when empty (as stringSize counts it). */
function writeString(w: ProtoWriter, key: number, value: string, length: number): void {
  if (length > 0) w.string(key, value, length);
}

/** Strings of a response with their UTF-8 lengths, measured once. */
const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

function anySize(typeUrlLength: number, resource: EncodedResource): number {
  return stringSize(typeUrlLength) + fieldSize(resource.bytes.length);
}

function writeAny(w: ProtoWriter, typeUrl: string, typeUrlLength: number, resource: EncodedResource): void {
  writeString(w, ANY_TYPE_URL, typeUrl, typeUrlLength);
  w.bytes(ANY_VALUE, resource.bytes);
}

export interface ResponseFields {
  readonly typeUrl: string;
  readonly version: string;
  readonly resources: readonly EncodedResource[];
  readonly nonce: string;
  /** `control_plane.identifier`: the replica that sent it. */
  readonly controlPlane: string;
}

/** A state-of-the-world DiscoveryResponse. */
export function encodeDiscoveryResponse(r: ResponseFields): Buffer {
  const urlLen = utf8(r.typeUrl);
  const versionLen = utf8(r.version);
  const nonceLen = utf8(r.nonce);
  const cpLen = utf8(r.controlPlane);
  const cpMessage = stringSize(cpLen);
  let size = stringSize(versionLen) + stringSize(urlLen) + stringSize(nonceLen) + fieldSize(cpMessage);
  for (const res of r.resources) size += fieldSize(anySize(urlLen, res));
  const w = new ProtoWriter(size);
  writeString(w, RESPONSE_VERSION_INFO, r.version, versionLen);
  for (const res of r.resources) {
    w.header(RESPONSE_RESOURCES, anySize(urlLen, res));
    writeAny(w, r.typeUrl, urlLen, res);
  }
  writeString(w, RESPONSE_TYPE_URL, r.typeUrl, urlLen);
  writeString(w, RESPONSE_NONCE, r.nonce, nonceLen);
  w.header(RESPONSE_CONTROL_PLANE, cpMessage);
  writeString(w, CONTROL_PLANE_IDENTIFIER, r.controlPlane, cpLen);
  return w.buf;
}

export interface DeltaResponseFields extends ResponseFields {
  /** Names the client should drop. */
  readonly removed: readonly string[];
}

/** An incremental DeltaDiscoveryResponse: each resource with its name and version, then the removed names. */
export function encodeDeltaDiscoveryResponse(r: DeltaResponseFields): Buffer {
  const urlLen = utf8(r.typeUrl);
  const versionLen = utf8(r.version);
  const nonceLen = utf8(r.nonce);
  const cpLen = utf8(r.controlPlane);
  const cpMessage = stringSize(cpLen);
  const entries = r.resources.map((res) => {
    const nameLen = utf8(res.name);
    const resVersionLen = utf8(res.version);
    const any = anySize(urlLen, res);
    return { res, nameLen, resVersionLen, any, size: stringSize(nameLen) + stringSize(resVersionLen) + fieldSize(any) };
  });
  const removed = r.removed.map((name) => ({ name, length: utf8(name) }));
  let size = stringSize(versionLen) + stringSize(urlLen) + stringSize(nonceLen) + fieldSize(cpMessage);
  for (const e of entries) size += fieldSize(e.size);
  for (const x of removed) size += stringSize(x.length);
  const w = new ProtoWriter(size);
  writeString(w, DELTA_SYSTEM_VERSION_INFO, r.version, versionLen);
  for (const e of entries) {
    w.header(DELTA_RESOURCES, e.size);
    writeString(w, RESOURCE_NAME, e.res.name, e.nameLen);
    writeString(w, RESOURCE_VERSION, e.res.version, e.resVersionLen);
    w.header(RESOURCE_RESOURCE, e.any);
    writeAny(w, r.typeUrl, urlLen, e.res);
  }
  writeString(w, DELTA_TYPE_URL, r.typeUrl, urlLen);
  for (const x of removed) writeString(w, DELTA_REMOVED_RESOURCES, x.name, x.length);
  writeString(w, DELTA_NONCE, r.nonce, nonceLen);
  w.header(DELTA_CONTROL_PLANE, cpMessage);
  writeString(w, CONTROL_PLANE_IDENTIFIER, r.controlPlane, cpLen);
  return w.buf;
}

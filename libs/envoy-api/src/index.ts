// Public entry of the generated Envoy v3 API. Everything under gen/ is written by
// tools/envoy-api/generate.ts (npx nx run envoy-api:generate); do not edit it by hand.
// Types are namespaced by proto package, e.g. envoy.config.listener.v3.Listener.
export * as envoy from './gen/index.envoy.ts';
export * as google from './gen/index.google.ts';
export * as xds from './gen/index.xds.ts';
export { packAny, typeUrlOf, unpackAny, type MessageType } from './any.ts';
export { fieldKey, fieldSize, ProtoWriter, varintSize, WIRE_LEN, WIRE_VARINT } from './wire.ts';

import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import * as envoy from './gen/index.envoy.ts';
import * as google from './gen/index.google.ts';
import * as xds from './gen/index.xds.ts';

const { Any } = google.protobuf;
type Any = google.protobuf.Any;

/** What every generated message type offers: its full proto name and binary codec. */
export interface MessageType<M = unknown> {
  readonly $type: string;
  encode(message: M, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): M;
}

const typeUrlPrefix = 'type.googleapis.com/';

/** The type URL Envoy expects for a message type, e.g. `type.googleapis.com/envoy.config.listener.v3.Listener`. */
export function typeUrlOf(type: { readonly $type: string }): string {
  return typeUrlPrefix + type.$type;
}

/** Wraps an encoded message in `google.protobuf.Any` with its type URL. */
export function packAny<M>(type: MessageType<M>, message: M): Any {
  return Any.create({ typeUrl: typeUrlOf(type), value: type.encode(message).finish() });
}

let registry: Map<string, MessageType> | undefined;

// Built on first use by walking the generated namespaces, rather than by import side effects.
function messageTypes(): Map<string, MessageType> {
  if (registry) return registry;
  registry = new Map();
  const seen = new Set<object>();
  const walk = (ns: object): void => {
    if (seen.has(ns)) return;
    seen.add(ns);
    for (const value of Object.values(ns) as unknown[]) {
      if (typeof value !== 'object' || value === null) continue;
      const candidate = value as Partial<MessageType>;
      if (typeof candidate.$type === 'string' && typeof candidate.decode === 'function') {
        registry?.set(candidate.$type, candidate as MessageType);
      } else {
        walk(value);
      }
    }
  };
  for (const ns of [envoy, google, xds]) walk(ns);
  return registry;
}

/** Decodes an `Any` by its type URL; undefined when the type is not part of the generated API. */
export function unpackAny(any: Any): unknown {
  return messageTypes().get(any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1))?.decode(any.value);
}

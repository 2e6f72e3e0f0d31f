import type { Protocol } from './types.ts';

/** Every protocol a service port may have, in the order the port-name prefixes are tried. */
const PROTOCOLS: readonly Protocol[] = ['tcp-server-first', 'http', 'tcp', 'grpc'];

/** True for a Protocol value. */
function isProtocol(value: string): value is Protocol {
  return (PROTOCOLS as readonly string[]).includes(value);
}

/**
 * The protocol of a Service port: `appProtocol` when it names one, else the port name prefix
 * (`http-`, `tcp-`, `grpc-`, `tcp-server-first-`), else `http` (OSM's rule).
 */
export function protocolOfPort(portName: string | undefined, appProtocol: string | undefined): Protocol {
  const app = appProtocol?.toLowerCase();
  if (app !== undefined && isProtocol(app)) return app;
  const name = portName?.toLowerCase() ?? '';
  // tcp-server-first- before tcp-: the longer prefix wins.
  for (const p of PROTOCOLS) if (name.startsWith(`${p}-`)) return p;
  return 'http';
}

// The Kubernetes objects the injector reads, as JSON on the wire: only the fields it uses. An admission
// review is untrusted input, so `validatePod` checks the shape of every field the injector touches
// before any rule looks at it; everything past that point may rely on these types.

export type StringMap = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort?: number;
}

export interface HttpGetAction {
  readonly path?: string;
  readonly port?: number | string;
  readonly host?: string;
  readonly scheme?: string;
  readonly httpHeaders?: readonly { readonly name: string; readonly value: string }[];
}

export interface Probe {
  readonly httpGet?: HttpGetAction;
  readonly tcpSocket?: { readonly port?: number | string; readonly host?: string };
  readonly grpc?: unknown;
  readonly exec?: unknown;
  readonly timeoutSeconds?: number;
  readonly [field: string]: unknown;
}

export interface Container {
  readonly name: string;
  readonly ports?: readonly ContainerPort[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly [field: string]: unknown;
}

export interface Volume {
  readonly name?: string;
  readonly secret?: { readonly secretName?: string };
  readonly [field: string]: unknown;
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly volumes?: readonly Volume[];
  readonly hostNetwork?: boolean;
  readonly serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName, still filled in by old clients. */
  readonly serviceAccount?: string;
  readonly [field: string]: unknown;
}

export interface Pod {
  readonly metadata?: ObjectMeta;
  readonly spec: PodSpec;
}

export interface Namespace {
  readonly metadata: { readonly name: string; readonly labels?: StringMap; readonly annotations?: StringMap };
}

export type PodCheck = { readonly ok: true; readonly pod: Pod } | { readonly ok: false; readonly field: string; readonly message: string };

/** A JSON object (not null, not an array): the shape check every reader of untrusted JSON here starts with. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringMap = (v: unknown): boolean => isObject(v) && Object.values(v).every((x) => typeof x === 'string');
const isPort = (v: unknown): boolean => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'string';

function checkProbe(probe: unknown, field: string): string | undefined {
  if (probe === undefined || probe === null) return undefined;
  if (!isObject(probe)) return `${field}: expected an object`;
  const httpGet = probe['httpGet'];
  if (httpGet !== undefined && httpGet !== null) {
    if (!isObject(httpGet)) return `${field}.httpGet: expected an object`;
    if (!isPort(httpGet['port'])) return `${field}.httpGet.port: expected a port number or name`;
    for (const key of ['path', 'host', 'scheme'] as const) {
      if (httpGet[key] !== undefined && typeof httpGet[key] !== 'string') return `${field}.httpGet.${key}: expected a string`;
    }
    const headers = httpGet['httpHeaders'];
    if (headers !== undefined && !(Array.isArray(headers) && headers.every((h) => isObject(h) && typeof h['name'] === 'string' && typeof h['value'] === 'string'))) {
      return `${field}.httpGet.httpHeaders: expected a list of {name, value} strings`;
    }
  }
  const tcpSocket = probe['tcpSocket'];
  if (tcpSocket !== undefined && tcpSocket !== null && !(isObject(tcpSocket) && isPort(tcpSocket['port']))) return `${field}.tcpSocket.port: expected a port number or name`;
  const timeout = probe['timeoutSeconds'];
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isInteger(timeout))) return `${field}.timeoutSeconds: expected an integer`;
  return undefined;
}

function checkContainers(list: unknown, field: string, required: boolean): string | undefined {
  if (list === undefined || list === null) return required ? `${field}: expected a list of containers` : undefined;
  if (!Array.isArray(list)) return `${field}: expected a list of containers`;
  for (const [i, c] of list.entries()) {
    const at = `${field}[${i}]`;
    if (!isObject(c)) return `${at}: expected an object`;
    if (typeof c['name'] !== 'string') return `${at}.name: expected a string`;
    const ports = c['ports'];
    if (ports !== undefined && ports !== null && !(Array.isArray(ports) && ports.every(isObject))) return `${at}.ports: expected a list of objects`;
    for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const problem = checkProbe(c[kind], `${at}.${kind}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Checks the shape of what the injector reads from a pod; the message names the offending field. */
export function validatePod(value: unknown): PodCheck {
  const fail = (message: string): PodCheck => ({ ok: false, field: message.slice(0, message.indexOf(':')), message });
  if (!isObject(value)) return fail('request.object: expected a Pod object');
  const metadata = value['metadata'];
  if (metadata !== undefined && metadata !== null) {
    if (!isObject(metadata)) return fail('request.object.metadata: expected an object');
    for (const key of ['labels', 'annotations'] as const) {
      const map = metadata[key];
      if (map !== undefined && map !== null && !isStringMap(map)) return fail(`request.object.metadata.${key}: expected a map of strings`);
    }
    for (const key of ['name', 'generateName', 'namespace'] as const) {
      if (metadata[key] !== undefined && typeof metadata[key] !== 'string') return fail(`request.object.metadata.${key}: expected a string`);
    }
  }
  const spec = value['spec'];
  if (!isObject(spec)) return fail('request.object.spec: expected an object');
  const problem =
    checkContainers(spec['containers'], 'request.object.spec.containers', true) ?? checkContainers(spec['initContainers'], 'request.object.spec.initContainers', false);
  if (problem) return fail(problem);
  const volumes = spec['volumes'];
  if (volumes !== undefined && volumes !== null && !(Array.isArray(volumes) && volumes.every(isObject))) return fail('request.object.spec.volumes: expected a list of objects');
  if (spec['hostNetwork'] !== undefined && typeof spec['hostNetwork'] !== 'boolean') return fail('request.object.spec.hostNetwork: expected a boolean');
  for (const key of ['serviceAccountName', 'serviceAccount'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'string') return fail(`request.object.spec.${key}: expected a string`);
  }
  return { ok: true, pod: value as unknown as Pod };
}

/** The pod's service account: spec.serviceAccountName, its deprecated alias, else `default` (what ServiceAccount admission would set). */
export function serviceAccountOf(pod: Pod): string {
  return pod.spec.serviceAccountName || pod.spec.serviceAccount || 'default';
}

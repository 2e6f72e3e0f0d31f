// A simulator process (entry: worker.ts): runs its share of the fleet's proxies, each an ADS client
// over mTLS with its own connection, and reports their status to the parent; exits when the parent goes.
import { isIPv4, isIPv6 } from 'node:net';
import { Client, connectivityState, credentials, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { envoy } from '@osm/envoy-api';
import { compileNackRules, rejectFor, type CompiledRule } from './nack-rules.ts';
import { ResourceDecoder } from './resources.ts';
import { ProxySession, SessionCache, type AdsResponse, type DeltaResponse, type SotwResponse, type TypeState } from './session.ts';
import { encodeDeltaRequest, encodeNode, encodeSotwRequest, parseSotwResponse, type AdsRequest } from './wire.ts';
import { monotonicNow, type FromWorker, type HeldResource, type SimulatedProxySpec, type ToWorker, type WireStatus, type WireTypeStatus, type WorkerConfig } from './ipc.ts';

const ADS = envoy.service.discovery.v3.AggregatedDiscoveryServiceService;
const { DeltaDiscoveryResponse } = envoy.service.discovery.v3;

function send(message: FromWorker): void {
  // Once the parent is gone the process exits (see main); until then a send may race its leaving.
  if (process.connected) process.send?.(message);
}

class Worker {
  readonly config: WorkerConfig;
  readonly cache = new SessionCache();
  readonly decoder: ResourceDecoder;
  readonly channelOptions: ChannelOptions;
  readonly proxies: SimulatedProxy[];
  servers: readonly string[];
  rules: CompiledRule[];
  stopping = false;
  readonly #dirty = new Set<SimulatedProxy>();
  readonly #listIds = new WeakMap<readonly string[], number>();
  #nextListId = 0;
  readonly #flushTimer: NodeJS.Timeout;

  constructor(config: WorkerConfig) {
    this.config = config;
    this.servers = config.servers;
    this.rules = compileNackRules(config.nackRules);
    this.decoder = new ResourceDecoder({ keepBytes: config.keepResources });
    this.channelOptions = {
      'grpc.ssl_target_name_override': config.serverName,
      'grpc.default_authority': config.serverName,
      // One connection per proxy, as each Envoy has its own; no channelz bookkeeping per channel.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.enable_channelz': 0,
      'grpc.enable_retries': 0,
      'grpc.max_receive_message_length': -1,
    };
    const rootCredentials = Buffer.from(config.rootPem);
    this.proxies = config.proxies.map((spec, i) => new SimulatedProxy(this, i, spec, credentialsFor(rootCredentials, spec)));
    this.#flushTimer = setInterval(() => this.flush(), config.statusIntervalMs);
  }

  start(): void {
    const { rampMs } = this.config;
    if (rampMs > 0) {
      for (const p of this.proxies) setTimeout(() => p.connect(), Math.random() * rampMs);
      return;
    }
    // All at once, a slice per turn of the event loop so that streams already open are served meanwhile.
    let next = 0;
    const slice = (): void => {
      const end = Math.min(next + 200, this.proxies.length);
      for (; next < end; next++) this.proxies[next]?.connect();
      if (next < this.proxies.length) setImmediate(slice);
    };
    slice();
  }

  pickServer(): string {
    return this.servers[Math.floor(Math.random() * this.servers.length)] ?? '';
  }

  changed(p: SimulatedProxy): void {
    this.#dirty.add(p);
  }

  #listId(list: readonly string[]): number {
    let id = this.#listIds.get(list);
    if (id === undefined) {
      id = this.#nextListId++;
      this.#listIds.set(list, id);
      send({ t: 'names', id, names: list });
    }
    return id;
  }

  flush(): void {
    if (this.#dirty.size === 0) return;
    const statuses: WireStatus[] = [];
    for (const p of this.#dirty) statuses.push(p.status((t) => this.#typeStatus(t)));
    this.#dirty.clear();
    send({ t: 'status', statuses });
  }

  #typeStatus(t: TypeState): WireTypeStatus {
    return {
      typeUrl: t.typeUrl,
      version: t.version,
      nonce: t.nonce,
      names: this.#listId(this.cache.heldNames(t.held)),
      subscribed: this.#listId(t.subscribed),
      responses: t.responses,
      nacks: t.nacks,
      lastNack: t.lastNack,
      ackedAt: t.ackedAt ?? -1,
      responseAt: t.responseAt ?? -1,
    };
  }

  stop(): void {
    this.stopping = true;
    for (const p of this.proxies) p.stop();
    this.flush();
    clearInterval(this.#flushTimer);
  }
}

function credentialsFor(root: Buffer, spec: SimulatedProxySpec): ChannelCredentials {
  if (spec.certificatePem && spec.privateKeyPem) return credentials.createSsl(root, Buffer.from(spec.privateKeyPem), Buffer.from(spec.certificatePem));
  return credentials.createSsl(root);
}

type Stream = ClientDuplexStream<AdsRequest, AdsResponse>;

/**
 * The grpc-js target of `host:port`: an IP address goes to grpc-js's IP resolver, since its default DNS
 * resolver sets up a resolver channel for every new channel, the largest cost of a connect after TLS.
 */
function channelTarget(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  if (isIPv4(host)) return `ipv4:${address}`;
  if (host.startsWith('[') && isIPv6(host.slice(1, -1))) return `ipv6:${address}`;
  return address;
}

class SimulatedProxy {
  readonly #worker: Worker;
  readonly index: number;
  readonly spec: SimulatedProxySpec;
  readonly session: ProxySession;
  readonly #credentials: ChannelCredentials;
  readonly #serialize: (r: AdsRequest) => Buffer;
  readonly #deserialize: (b: Buffer) => AdsResponse;
  #client: Client | undefined;
  #stream: Stream | undefined;
  #retry: NodeJS.Timeout | undefined;
  #warmTimer: NodeJS.Timeout | undefined;
  /** Envoy's JitteredExponentialBackOffStrategy: the next wait is random below this, which then doubles. */
  #backoff: number;
  connected = false;
  server = '';
  connects = 0;
  attempts = 0;
  lastError = '';
  lastAckAt = -1;
  lastResponseAt = -1;

  constructor(worker: Worker, index: number, spec: SimulatedProxySpec, creds: ChannelCredentials) {
    this.#worker = worker;
    this.index = index;
    this.spec = spec;
    this.#credentials = creds;
    this.#backoff = worker.config.backoffBaseMs;
    const rules = (): readonly CompiledRule[] => worker.rules;
    this.session = new ProxySession({
      mode: worker.config.mode,
      cache: worker.cache,
      nodeOnFirstMessageOnly: worker.config.nodeOnFirstMessageOnly,
      reject: rejectFor(spec.uuid, rules),
    });
    const node = encodeNode({ id: spec.nodeId ?? spec.uuid, cluster: spec.cluster ?? '' });
    this.#serialize = (r) => (r.kind === 'sotw' ? encodeSotwRequest(r, node) : encodeDeltaRequest(r, node));
    const decoder = worker.decoder;
    this.#deserialize =
      worker.config.mode === 'sotw'
        ? (b): SotwResponse => {
            const raw = parseSotwResponse(b);
            return { kind: 'sotw', typeUrl: raw.typeUrl, versionInfo: raw.versionInfo, nonce: raw.nonce, controlPlane: raw.controlPlane, resources: decoder.list(raw.typeUrl, raw.resources) };
          }
        : (b): DeltaResponse => {
            const m = DeltaDiscoveryResponse.decode(b);
            return {
              kind: 'delta',
              typeUrl: m.typeUrl,
              systemVersionInfo: m.systemVersionInfo,
              nonce: m.nonce,
              controlPlane: m.controlPlane?.identifier ?? '',
              resources: m.resources.map((r) => ({ name: r.name, version: r.version, resource: decoder.decode(r.resource?.typeUrl ?? m.typeUrl, r.resource?.value ?? new Uint8Array(0)) })),
              removed: m.removedResources,
            };
          };
  }

  connect(): void {
    this.#retry = undefined;
    if (this.#worker.stopping) return;
    this.attempts++;
    this.server = this.#worker.pickServer();
    // A new connection per attempt: behind a Kubernetes Service each new connection may land on another replica.
    const client = new Client(channelTarget(this.server), this.#credentials, this.#worker.channelOptions);
    const path = this.session.mode === 'sotw' ? ADS.streamAggregatedResources.path : ADS.deltaAggregatedResources.path;
    const stream: Stream = client.makeBidiStreamRequest(path, this.#serialize, this.#deserialize);
    this.#client = client;
    this.#stream = stream;
    // Established, as Envoy's connected_state says, once the connection is up with the stream on it:
    // a server with nothing new to send (a reconnect with current versions) sends nothing, not even headers.
    const channel = client.getChannel();
    const watch = (state: connectivityState): void =>
      channel.watchConnectivityState(state, Infinity, () => {
        if (stream !== this.#stream) return;
        const now = channel.getConnectivityState(false);
        if (now === connectivityState.READY) this.#established(stream);
        else watch(now);
      });
    watch(channel.getConnectivityState(true));
    stream.on('data', (r: AdsResponse) => this.#onResponse(stream, r));
    stream.on('status', (s: StatusObject) => this.#ended(stream, `${s.code} ${s.details}`));
    // The status event follows every error; errors are reported through it.
    stream.on('error', () => undefined);
    for (const r of this.session.open()) stream.write(r);
    this.#worker.changed(this);
  }

  #established(stream: Stream): void {
    if (stream !== this.#stream || this.connected) return;
    this.connected = true;
    this.connects++;
    this.#worker.changed(this);
  }

  #onResponse(stream: Stream, response: AdsResponse): void {
    if (stream !== this.#stream) return;
    this.#established(stream);
    // Envoy resets its backoff when a message arrives on the stream.
    this.#backoff = this.#worker.config.backoffBaseMs;
    const now = monotonicNow();
    this.lastResponseAt = now;
    const received = this.session.receive(response, now);
    if (received.outcome === 'ack') this.lastAckAt = now;
    for (const r of received.requests) stream.write(r);
    this.#armWarmTimer();
    this.#worker.changed(this);
  }

  #armWarmTimer(): void {
    const timeout = this.#worker.config.initialFetchTimeoutMs;
    if (timeout <= 0 || this.#warmTimer || !this.session.warming) return;
    this.#warmTimer = setTimeout(() => {
      const requests = this.session.warmTimeout();
      if (this.#stream && this.connected) for (const r of requests) this.#stream.write(r);
      this.#worker.changed(this);
    }, timeout);
  }

  #ended(stream: Stream, reason: string): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    this.#client?.close();
    this.#client = undefined;
    this.connected = false;
    this.lastError = reason;
    this.#worker.changed(this);
    if (this.#worker.stopping) return;
    const wait = Math.floor(Math.random() * this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, this.#worker.config.backoffMaxMs);
    this.#retry = setTimeout(() => this.connect(), wait);
  }

  stop(): void {
    clearTimeout(this.#retry);
    clearTimeout(this.#warmTimer);
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
    this.#client?.close();
    this.#client = undefined;
    if (this.connected) {
      this.connected = false;
      this.lastError = 'stopped';
      this.#worker.changed(this);
    }
  }

  status(typeStatus: (t: TypeState) => WireTypeStatus): WireStatus {
    return {
      i: this.index,
      connected: this.connected,
      server: this.server,
      replica: this.session.replica,
      connects: this.connects,
      attempts: this.attempts,
      lastError: this.lastError,
      lastAckAt: this.lastAckAt,
      lastResponseAt: this.lastResponseAt,
      types: this.session.types().map(typeStatus),
    };
  }

  held(): Record<string, HeldResource[]> {
    const out: Record<string, HeldResource[]> = {};
    for (const t of this.session.types()) {
      out[t.typeUrl] = t.held.map((r) => ({ typeUrl: r.typeUrl, name: r.name, ...(t.heldVersions ? { version: t.heldVersions.get(r.name) ?? '' } : {}), bytes: r.bytes ?? new Uint8Array(0) }));
    }
    return out;
  }
}

export function main(): void {
  let worker: Worker | undefined;
  // The parent is gone (it exited or was killed): nothing of the fleet may outlive it.
  process.on('disconnect', () => process.exit(0));
  // A send that lost the race with the parent's exit (EPIPE): the disconnect above follows.
  process.on('error', () => undefined);
  process.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'start':
        worker = new Worker(message.config);
        send({ t: 'ready' });
        worker.start();
        break;
      case 'servers':
        if (worker) worker.servers = message.servers;
        break;
      case 'nack-rules':
        if (worker) worker.rules = compileNackRules(message.rules);
        break;
      case 'flush':
        worker?.flush();
        send({ t: 'done', id: message.id });
        break;
      case 'resources': {
        const proxy = worker?.proxies[message.i];
        send({ t: 'resources', id: message.id, resources: proxy ? proxy.held() : {} });
        break;
      }
      case 'stop':
        worker?.stop();
        // Disconnect once the last status and the reply are written.
        process.send?.({ t: 'stopped' } satisfies FromWorker, () => process.disconnect());
        break;
    }
  });
}

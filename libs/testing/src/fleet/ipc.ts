// Messages between the fleet (parent) and its simulator processes: over Node's IPC for the node
// engine, as JSON lines on stdin/stdout for the go engine (tools/xds-go/cmd/xds-fleet, which reads and
// writes these same shapes). Name lists travel once each, by number, since thousands of proxies report
// the same lists.
import type { NackRule } from './nack-rules.ts';
import type { AdsMode } from './session.ts';

/** Monotonic milliseconds of the system (CLOCK_MONOTONIC): comparable across the processes of one machine. */
export const monotonicNow = (): number => Number(process.hrtime.bigint()) / 1e6;

/** One simulated sidecar: its identity and the bootstrap certificate it presents. */
export interface SimulatedProxySpec {
  /** The proxy uuid (the bootstrap certificate's CN starts with it). */
  readonly uuid: string;
  /** node.id; default the uuid. A different one simulates a proxy lying about who it is. */
  readonly nodeId?: string;
  /** node.cluster; default ''. */
  readonly cluster?: string;
  /** Bootstrap certificate and key (PEM); absent: the proxy presents no client certificate. */
  readonly certificatePem?: string;
  readonly privateKeyPem?: string;
}

export interface WorkerConfig {
  readonly index: number;
  readonly mode: AdsMode;
  readonly servers: readonly string[];
  readonly serverName: string;
  readonly rootPem: string;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly nodeOnFirstMessageOnly: boolean;
  readonly initialFetchTimeoutMs: number;
  readonly rampMs: number;
  readonly keepResources: boolean;
  readonly statusIntervalMs: number;
  readonly nackRules: readonly NackRule[];
  readonly proxies: readonly SimulatedProxySpec[];
}

/** One type URL of one proxy, as reported. Lists are name-list ids. Times: monotonic ms, -1 = never. */
export interface WireTypeStatus {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly names: number;
  readonly subscribed: number;
  readonly responses: number;
  readonly nacks: number;
  readonly lastNack: string;
  readonly ackedAt: number;
  readonly responseAt: number;
}

export interface WireStatus {
  /** Index of the proxy in its process's list. */
  readonly i: number;
  readonly connected: boolean;
  readonly server: string;
  readonly replica: string;
  readonly connects: number;
  readonly attempts: number;
  readonly lastError: string;
  readonly lastAckAt: number;
  readonly lastResponseAt: number;
  readonly types: readonly WireTypeStatus[];
}

/** A resource a proxy holds (the shape the Envoy checks of tools/xds-go take). */
export interface HeldResource {
  readonly typeUrl: string;
  readonly name: string;
  /** Delta only: the resource's version. */
  readonly version?: string;
  readonly bytes: Uint8Array;
}

export type ToWorker =
  | { readonly t: 'start'; readonly config: WorkerConfig }
  | { readonly t: 'servers'; readonly servers: readonly string[] }
  | { readonly t: 'nack-rules'; readonly rules: readonly NackRule[] }
  | { readonly t: 'flush'; readonly id: number }
  | { readonly t: 'resources'; readonly id: number; readonly i: number }
  | { readonly t: 'stop' };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'names'; readonly id: number; readonly names: readonly string[] }
  | { readonly t: 'status'; readonly statuses: readonly WireStatus[] }
  | { readonly t: 'done'; readonly id: number }
  | { readonly t: 'resources'; readonly id: number; readonly resources: Readonly<Record<string, readonly HeldResource[]>> }
  | { readonly t: 'stopped' };

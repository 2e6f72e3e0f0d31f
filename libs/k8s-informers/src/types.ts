// Shapes shared by the informer, its client and its callers.

/** The metadata every Kubernetes object carries (as JSON on the wire). */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
  readonly ownerReferences?: readonly unknown[];
  readonly managedFields?: unknown;
}

/** Any Kubernetes object as JSON. Objects handed out by an informer are deeply frozen. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
}

/** One page of a list response. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** Set when more pages follow. */
  readonly continueToken?: string;
}

export interface ListRequest {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continueToken?: string;
  /**
   * With `resourceVersionMatch: 'NotOlderThan'`, a state of the collection at this resourceVersion or
   * later (the API server's watch cache may answer). Never together with `continueToken`: later
   * pages carry it in the token.
   */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan';
}

export interface WatchRequest {
  readonly resourceVersion: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly allowWatchBookmarks: boolean;
  /** The server ends the watch after this many seconds (a clean close). */
  readonly timeoutSeconds?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  readonly type: WatchEventType;
  /** The object; for ERROR a metav1.Status. */
  readonly object: unknown;
}

export interface WatchHandle {
  /** Closes the watch; `onDone` is not called after abort. */
  abort(): void;
}

export interface WatchCallbacks {
  onEvent(event: WatchEvent): void;
  /** The watch ended: `error` undefined for a clean close by the server. Called at most once. */
  onDone(error: Error | undefined): void;
}

/**
 * List and watch one collection path (`/api/v1/pods`, `/apis/group/version/plural`). The informer
 * needs nothing else from Kubernetes; `kubeListWatchClient` implements it over a KubeConfig, tests
 * implement it in a few lines.
 */
export interface ListWatchClient {
  list(path: string, request: ListRequest, signal: AbortSignal): Promise<ListPage>;
  /** Resolves once the server accepted the watch (HTTP 200); rejects if it did not. */
  watch(path: string, request: WatchRequest, callbacks: WatchCallbacks): Promise<WatchHandle>;
}

/** The logger methods used (pino's Logger satisfies it). */
export interface InformerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

// The controller's metrics, with OSM's names and labels (pkg/metricsstore/metricsstore.go in OSM):
// proxies connected, xDS requests and responses per proxy and type, config update time, certificates
// issued, Kubernetes events, plus what OSM lacked: NACKs per proxy and type, streams refused by code,
// and catalog problems. The names OSM lacked follow Prometheus's conventions (counters end in _total).
import type { CertificateAuthority } from '@osm/certificates';
import type { Clock } from '@osm/clock';
import type { MeshInformers } from '@osm/k8s-informers';
import { keyOf, type Proxy } from '@osm/mesh-model';
import type { Gauge, LabelSet, Metrics } from '@osm/observability';
import { SHORT_NAMES, type AdsEvents } from '@osm/xds-server';
import { TYPE_URLS, type ResourceType, type Snapshot } from '@osm/xds-snapshot';

/** OSM's event topics by informer (`pod-added`, `traffictarget-deleted`, ...). */
const TOPICS: Readonly<Record<string, string>> = {
  namespaces: 'namespace',
  services: 'service',
  pods: 'pod',
  endpointSlices: 'endpointslice',
  serviceAccounts: 'serviceaccount',
  trafficTargets: 'traffictarget',
  httpRouteGroups: 'httproutegroup',
  tcpRoutes: 'tcproute',
  trafficSplits: 'trafficsplit',
  meshConfigs: 'meshconfig',
};

/** OSM's event topic of an informer's objects. */
export const topicOf = (informerName: string): string => TOPICS[informerName] ?? informerName.toLowerCase();

export interface ControllerMetrics {
  /** ADS events counted (requests, responses, ACK/NACK, streams). */
  readonly ads: AdsEvents;
  /** Wraps a push after a build: the responses it sends are timed from the build's start (others from their request's arrival). */
  publish(snapshot: Snapshot, startedAt: number, push: () => void): void;
  readonly problems: Gauge<'kind' | 'reason'>;
  /** Counts each informer event (osm_k8s_api_event_count). */
  countKubeEvents(informers: MeshInformers): void;
  /** Reports, at each scrape, how many ADS streams wait for their pod to reach the informers (osm_proxies_waiting_for_pod). */
  observeWaitingForPod(count: () => number): void;
  /** The authority with issuance counted and timed. */
  timed(authority: Pick<CertificateAuthority, 'issue'>): Pick<CertificateAuthority, 'issue'>;
}

/** OSM's buckets of osm_proxy_config_update_time, in seconds. */
const CONFIG_UPDATE_BUCKETS_SECONDS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 90];

type ProxyLabel = 'proxy_uuid' | 'identity' | 'type';

/**
 * A counter per proxy and type (OSM's proxy_uuid, identity, type labels), bumped on every xDS request
 * and response. The totals are kept here and read at scrape time: an SDK Counter sorts and serializes
 * the labels on every call, which cost ~7 % of the controller's CPU while a policy change went out to
 * 1,000 proxies (B1 profile); here a call is two map lookups.
 */
function perProxyCounter(metrics: Metrics, name: string, help: string): { inc(proxy: Proxy, type: ResourceType | undefined): void } {
  interface Entry {
    readonly labels: LabelSet<ProxyLabel>;
    value: number;
  }
  // By label set, so a proxy whose model object is replaced (a pod update) continues its series.
  const entries = new Map<string, Entry>();
  // The model's proxy objects are long-lived: the fast path.
  const byProxy = new WeakMap<Proxy, Map<ResourceType | undefined, Entry>>();
  metrics.observableCounter(name, { help, labels: ['proxy_uuid', 'identity', 'type'] }, (observe) => {
    for (const entry of entries.values()) observe(entry.value, entry.labels);
  });
  return {
    inc(proxy, type) {
      let byType = byProxy.get(proxy);
      if (!byType) {
        byType = new Map();
        byProxy.set(proxy, byType);
      }
      let entry = byType.get(type);
      if (!entry) {
        const labels = { proxy_uuid: proxy.uuid, identity: keyOf(proxy.identity), type: type ? SHORT_NAMES[type] : 'unknown' };
        const key = `${labels.proxy_uuid}\n${labels.identity}\n${labels.type}`;
        entry = entries.get(key);
        if (!entry) {
          entry = { labels, value: 0 };
          entries.set(key, entry);
        }
        byType.set(type, entry);
      }
      entry.value++;
    },
  };
}

export function controllerMetrics(metrics: Metrics, clock: Pick<Clock, 'now'>): ControllerMetrics {
  const requests = perProxyCounter(metrics, 'osm_proxy_xds_request_count', 'Represents the number of XDS requests made by proxies');
  const sent = perProxyCounter(metrics, 'osm_proxy_response_send_success_count', 'Represents the number of responses successfully sent to proxies');
  const failed = perProxyCounter(metrics, 'osm_proxy_response_send_error_count', 'Represents the number of responses that errored when being set to proxies');
  const nacks = perProxyCounter(metrics, 'osm_proxy_xds_nack_total', 'Responses proxies rejected (NACK); they keep their last good config');
  // Sends practically never fail (a broken stream ends as cancelled); the ADS errors an operator meets
  // are streams refused before they are served: a certificate from another root, an unknown pod.
  const refused = metrics.counter('osm_proxy_xds_refused_total', { help: 'ADS streams refused before they were served, by gRPC status code', labels: ['code'] });
  const updateTime = metrics.histogram('osm_proxy_config_update_time', {
    help: 'Histogram to track time spent for proxy configuration: to the response handed to the stream, from the start of the build (a push) or the request (an answer)',
    labels: ['resource_type', 'success'],
    // OSM's buckets (pkg/metricsstore/metricsstore.go, ProxyConfigUpdateTime), so dashboards and
    // queries written for OSM read the same series.
    buckets: CONFIG_UPDATE_BUCKETS_SECONDS,
  });
  const issued = metrics.counter('osm_cert_issued_count', { help: 'Represents the total number of XDS certificates issued to proxies' });
  const issueTime = metrics.histogram('osm_cert_issued_time', { help: 'Histogram to track time spent to issue xds certificate' });
  const kubeEvents = metrics.counter('osm_k8s_api_event_count', { help: 'Represents the number of events received from the Kubernetes API Server', labels: ['type', 'namespace'] });
  const problems = metrics.gauge('osm_policy_problems', { help: 'Objects (or parts) the mesh catalog could not apply, by kind and reason', labels: ['kind', 'reason'] });
  let connected = 0;
  metrics.observableGauge('osm_proxy_connect_count', { help: 'Represents the number of proxies connected to OSM controller' }, (observe) => observe(connected));

  let buildStartedAt: number | undefined;
  // OSM observes every response it generates (pkg/envoy/generator/profile.go, xdsPathTimeTrack), also
  // those answering a proxy's request from the config it already has (its first CDS, then EDS, LDS,
  // RDS, SDS in turn): such a response is timed from the request's arrival.
  const requestedAt = new WeakMap<Proxy, Map<ResourceType, number>>();

  return {
    ads: {
      streamOpened: () => void connected++,
      streamClosed: () => void connected--,
      request: (proxy, type) => {
        requests.inc(proxy, type);
        if (!type) return;
        let byType = requestedAt.get(proxy);
        if (!byType) {
          byType = new Map();
          requestedAt.set(proxy, byType);
        }
        byType.set(type, clock.now());
      },
      response: (proxy, type, ok) => {
        (ok ? sent : failed).inc(proxy, type);
        const byType = requestedAt.get(proxy);
        const startedAt = buildStartedAt ?? byType?.get(type);
        // A request is answered once; an ACK that no response follows leaves a time a push never reads.
        byType?.delete(type);
        if (startedAt !== undefined) updateTime.record((clock.now() - startedAt) / 1000, { resource_type: TYPE_URLS[type], success: String(ok) });
      },
      nack: (proxy, type) => nacks.inc(proxy, type),
      refused: (_peer, error) => refused.inc({ code: error.code }),
    },
    publish(_snapshot, startedAt, push) {
      buildStartedAt = startedAt;
      try {
        push();
      } finally {
        buildStartedAt = undefined;
      }
    },
    problems,
    countKubeEvents(informers) {
      for (const informer of informers.all()) {
        const topic = topicOf(informer.name);
        const count = (what: string) => (obj: { metadata: { namespace?: string } }) => kubeEvents.inc({ type: `${topic}-${what}`, namespace: obj.metadata.namespace ?? '' });
        informer.addHandler({ onAdd: count('added'), onUpdate: count('updated'), onDelete: count('deleted') });
      }
    },
    observeWaitingForPod(count) {
      metrics.observableGauge('osm_proxies_waiting_for_pod', { help: 'ADS streams waiting for their pod to reach the controller\'s informers; refused with NotFound when the bounded wait ends' }, (observe) => observe(count()));
    },
    timed(authority) {
      return {
        issue: async (request) => {
          const done = issueTime.startTimer();
          const certificate = await authority.issue(request);
          done();
          issued.inc();
          return certificate;
        },
      };
    },
  };
}

// The controller's metrics, with OSM's names and labels (pkg/metricsstore/metricsstore.go in OSM):
// proxies connected, xDS requests and responses per proxy and type, config update time, certificates
// issued, Kubernetes events, plus what OSM lacked: NACKs per proxy and type, streams refused by code,
// and catalog problems. The names OSM lacked follow Prometheus's conventions (counters end in _total).
import type { CertificateAuthority } from '@osm/certificates';
import type { Clock } from '@osm/clock';
import type { MeshInformers } from '@osm/k8s-informers';
import { keyOf, type Proxy } from '@osm/mesh-model';
import type { Gauge, Metrics } from '@osm/observability';
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

export interface ControllerMetrics {
  /** ADS events counted (requests, responses, ACK/NACK, streams). */
  readonly ads: AdsEvents;
  /** Wraps a push after a build: the responses it sends are timed from the build's start. */
  publish(snapshot: Snapshot, startedAt: number, push: () => void): void;
  readonly problems: Gauge<'kind' | 'reason'>;
  /** Counts each informer event (osm_k8s_api_event_count). */
  countKubeEvents(informers: MeshInformers): void;
  /** The authority with issuance counted and timed. */
  timed(authority: Pick<CertificateAuthority, 'issue'>): Pick<CertificateAuthority, 'issue'>;
}

export function controllerMetrics(metrics: Metrics, clock: Pick<Clock, 'now'>): ControllerMetrics {
  const proxyLabels = ['proxy_uuid', 'identity', 'type'] as const;
  const requests = metrics.counter('osm_proxy_xds_request_count', { help: 'Represents the number of XDS requests made by proxies', labels: proxyLabels });
  const sent = metrics.counter('osm_proxy_response_send_success_count', { help: 'Represents the number of responses successfully sent to proxies', labels: proxyLabels });
  const failed = metrics.counter('osm_proxy_response_send_error_count', { help: 'Represents the number of responses that errored when being set to proxies', labels: proxyLabels });
  const nacks = metrics.counter('osm_proxy_xds_nack_total', { help: 'Responses proxies rejected (NACK); they keep their last good config', labels: proxyLabels });
  // Sends practically never fail (a broken stream ends as cancelled); the ADS errors an operator meets
  // are streams refused before they are served: a certificate from another root, an unknown pod.
  const refused = metrics.counter('osm_proxy_xds_refused_total', { help: 'ADS streams refused before they were served, by gRPC status code', labels: ['code'] });
  const updateTime = metrics.histogram('osm_proxy_config_update_time', {
    help: 'Histogram to track time spent for proxy configuration: from the start of the build to the response handed to the stream',
    labels: ['resource_type', 'success'],
  });
  const issued = metrics.counter('osm_cert_issued_count', { help: 'Represents the total number of XDS certificates issued to proxies' });
  const issueTime = metrics.histogram('osm_cert_issued_time', { help: 'Histogram to track time spent to issue xds certificate' });
  const kubeEvents = metrics.counter('osm_k8s_api_event_count', { help: 'Represents the number of events received from the Kubernetes API Server', labels: ['type', 'namespace'] });
  const problems = metrics.gauge('osm_policy_problems', { help: 'Objects (or parts) the mesh catalog could not apply, by kind and reason', labels: ['kind', 'reason'] });
  let connected = 0;
  metrics.observableGauge('osm_proxy_connect_count', { help: 'Represents the number of proxies connected to OSM controller' }, (observe) => observe(connected));

  const labels = (proxy: Proxy, type: ResourceType | undefined): { proxy_uuid: string; identity: string; type: string } => ({
    proxy_uuid: proxy.uuid,
    identity: keyOf(proxy.identity),
    type: type ? SHORT_NAMES[type] : 'unknown',
  });
  let buildStartedAt: number | undefined;

  return {
    ads: {
      streamOpened: () => void connected++,
      streamClosed: () => void connected--,
      request: (proxy, type) => requests.inc(labels(proxy, type)),
      response: (proxy, type, ok) => {
        (ok ? sent : failed).inc(labels(proxy, type));
        if (buildStartedAt !== undefined) updateTime.record((clock.now() - buildStartedAt) / 1000, { resource_type: TYPE_URLS[type], success: String(ok) });
      },
      nack: (proxy, type) => nacks.inc(labels(proxy, type)),
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
        const topic = TOPICS[informer.name] ?? informer.name.toLowerCase();
        const count = (what: string) => (obj: { metadata: { namespace?: string } }) => kubeEvents.inc({ type: `${topic}-${what}`, namespace: obj.metadata.namespace ?? '' });
        informer.addHandler({ onAdd: count('added'), onUpdate: count('updated'), onDelete: count('deleted') });
      }
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

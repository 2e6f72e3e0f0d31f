// The init container's script: one `iptables-restore --noflush` of the nat table that sends inbound TCP
// to the sidecar's inbound listener and outbound TCP to its outbound listener (OSM:
// pkg/injector/iptables.go, same chains and rule order). Differences from OSM, each a fix:
// - OSM's `-A OSM_PROXY_OUT_REDIRECT -p tcp --dport 15000 -j ACCEPT` came after an unconditional
//   REDIRECT in the same chain and never matched; it is left out.
// - iptables' multiport match takes at most 15 ports; OSM put every excluded port in one rule, so a
//   16th made iptables-restore fail and the pod never start. Longer lists are split into rules of 15.
import { ENVOY_INBOUND_PORT, ENVOY_OUTBOUND_PORT, ENVOY_PROBE_PORTS, ENVOY_PROMETHEUS_PORT } from '@osm/mesh-model';
import type { Exclusions } from './exclusions.ts';
import { ENVOY_UID } from './names.ts';
import { HEALTHCHECK_PORT } from './probes.ts';
import type { LocalProxyMode } from './settings.ts';

const MULTIPORT_MAX = 15;

function multiport(chain: string, ports: readonly number[], action: string, insert: boolean): string[] {
  const rules: string[] = [];
  for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
    rules.push(`${insert ? '-I' : '-A'} ${chain} -p tcp --match multiport --dports ${ports.slice(i, i + MULTIPORT_MAX).join(',')} -j ${action}`);
  }
  return rules;
}

/** The `iptables-restore` rules (the nat table, from `*nat` to `COMMIT`). */
export function iptablesRules(exclusions: Exclusions, proxyMode: LocalProxyMode): string {
  const rules = ['*nat', ':OSM_PROXY_INBOUND - [0:0]', ':OSM_PROXY_IN_REDIRECT - [0:0]', ':OSM_PROXY_OUTBOUND - [0:0]', ':OSM_PROXY_OUT_REDIRECT - [0:0]'];

  // Inbound: everything to the inbound listener except the Prometheus listener, the probe listeners and
  // the health-check port, which the sidecar or osm-healthcheck serve directly.
  rules.push(
    `-A OSM_PROXY_IN_REDIRECT -p tcp -j REDIRECT --to-port ${ENVOY_INBOUND_PORT}`,
    '-A PREROUTING -p tcp -j OSM_PROXY_INBOUND',
    ...[ENVOY_PROMETHEUS_PORT, ...Object.values(ENVOY_PROBE_PORTS), HEALTHCHECK_PORT].map((port) => `-A OSM_PROXY_INBOUND -p tcp --dport ${port} -j RETURN`),
    '-A OSM_PROXY_INBOUND -p tcp -j OSM_PROXY_IN_REDIRECT',
  );
  // Inserted (-I) so that they come before the final redirect.
  for (const iface of exclusions.networkInterfaces) rules.push(`-I OSM_PROXY_INBOUND -i ${iface} -j RETURN`);
  rules.push(...multiport('OSM_PROXY_INBOUND', exclusions.inboundPorts, 'RETURN', true));

  // Outbound: the sidecar's own traffic (UID 1500) and loopback pass, except the sidecar talking to the
  // app through a Service address, which goes back through the inbound listener.
  rules.push(
    `-A OSM_PROXY_OUT_REDIRECT -p tcp -j REDIRECT --to-port ${ENVOY_OUTBOUND_PORT}`,
    '-A OUTPUT -p tcp -j OSM_PROXY_OUTBOUND',
    `-A OSM_PROXY_OUTBOUND -o lo ! -d 127.0.0.1/32 -m owner --uid-owner ${ENVOY_UID} -j OSM_PROXY_IN_REDIRECT`,
    `-A OSM_PROXY_OUTBOUND -o lo -m owner ! --uid-owner ${ENVOY_UID} -j RETURN`,
    `-A OSM_PROXY_OUTBOUND -m owner --uid-owner ${ENVOY_UID} -j RETURN`,
    '-A OSM_PROXY_OUTBOUND -d 127.0.0.1/32 -j RETURN',
  );
  if (proxyMode === 'PodIP') {
    // The sidecar reaches the app on the pod IP instead of localhost; the shell expands $POD_IP.
    rules.push(`-I OUTPUT -p tcp -o lo -d 127.0.0.1/32 -m owner --uid-owner ${ENVOY_UID} -j DNAT --to-destination $POD_IP`);
  }
  for (const iface of exclusions.networkInterfaces) rules.push(`-A OSM_PROXY_OUTBOUND -o ${iface} -j RETURN`);
  // Exclusions before inclusions: the first matching rule wins.
  for (const cidr of exclusions.outboundIPRangeExclusions) rules.push(`-A OSM_PROXY_OUTBOUND -d ${cidr} -j RETURN`);
  rules.push(...multiport('OSM_PROXY_OUTBOUND', exclusions.outboundPorts, 'RETURN', false));
  if (exclusions.outboundIPRangeInclusions.length > 0) {
    for (const cidr of exclusions.outboundIPRangeInclusions) rules.push(`-A OSM_PROXY_OUTBOUND -d ${cidr} -j OSM_PROXY_OUT_REDIRECT`);
    rules.push('-A OSM_PROXY_OUTBOUND -j RETURN');
  } else {
    rules.push('-A OSM_PROXY_OUTBOUND -j OSM_PROXY_OUT_REDIRECT');
  }
  rules.push('COMMIT');
  return rules.join('\n');
}

/** The init container's `sh -c` script (OSM's: a here-document fed to iptables-restore). */
export function iptablesScript(exclusions: Exclusions, proxyMode: LocalProxyMode): string {
  return `iptables-restore --noflush <<EOF\n# OSM sidecar interception rules\n${iptablesRules(exclusions, proxyMode)}\nEOF\n`;
}

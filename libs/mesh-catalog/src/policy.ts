// SMI policies to the mesh model, checked field by field. What cannot be applied is left out and
// reported as a MeshProblem (field, reason, allowed values); everything else is still served, so one bad
// object never breaks another's config. Semantics follow OSM (pkg/smi/smi.go, pkg/catalog/traffictarget.go,
// pkg/catalog/inbound_traffic_policies.go) where OSM and the SMI specification differ.
import { RE2JS } from 're2js';
import { compareNamespacedNames, compareStrings } from '@osm/mesh-model';
import type { HTTPRouteGroup, HttpRouteMatch, IdentityRef, TCPRoute, TrafficSplit, TrafficTarget, TrafficTargetRule } from '@osm/mesh-model';
import type { K8sHTTPRouteGroup, K8sTCPRoute, K8sTrafficSplit, K8sTrafficTarget } from './kube-types.ts';
import type { ProblemList } from './problems.ts';
import { RegexSizeUnknownError, re2ProgramSize } from './re2-program-size.ts';
import { isPort, isString, uniqueSorted } from './values.ts';

type Report = (field: string, reason: string, message: string) => void;

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Envoy rejects a regex whose RE2 program is larger than this (runtime `re2.max_program_size.error_level`, default 100). */
export const MAX_REGEX_PROGRAM_SIZE = 100;

/**
 * Why Envoy's RE2 engine would reject `regex` (which would make it reject the whole route configuration,
 * for every proxy sharing it), or undefined when it accepts it. The syntax is checked with re2js (RE2
 * has no lookaround and no backreferences). The size is `RE2::ProgramSize()` as C++ RE2 counts it, over
 * UTF-8 bytes (re2-program-size.ts), not re2js' own count, which is Go's and several times smaller.
 */
export function re2Problem(regex: string): string | undefined {
  try {
    RE2JS.compile(regex);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return `${show(regex)} is not an RE2 regular expression (${detail}); RE2 has no lookahead, lookbehind or backreferences`;
  }
  let size: number;
  try {
    size = re2ProgramSize(regex);
  } catch (err) {
    if (!(err instanceof RegexSizeUnknownError)) throw err;
    return `${show(regex)} uses ${err.message}, whose RE2 program size is not computed here; it is left out rather than risk Envoy rejecting the route configuration (limit ${MAX_REGEX_PROGRAM_SIZE})`;
  }
  if (size > MAX_REGEX_PROGRAM_SIZE) return `${show(regex)} compiles to an RE2 program of size ${size} (Envoy's count, over UTF-8 bytes); Envoy allows at most ${MAX_REGEX_PROGRAM_SIZE}`;
  return undefined;
}

// HTTP tokens (RFC 9110): what a method or a header name may be.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Method names we put into the `:method` regex: letters, digits, '-' and '_' (no regex syntax).
const METHOD = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** One match of an HTTPRouteGroup, or the problems that keep it out. */
function routeMatch(m: NonNullable<NonNullable<K8sHTTPRouteGroup['spec']>['matches']>[number], field: string, report: Report): HttpRouteMatch | undefined {
  let ok = true;
  const bad = (f: string, reason: string, message: string): void => {
    ok = false;
    report(f, reason, `${message}; the match is not applied, the rest of the group is`);
  };
  if (m.pathRegex !== undefined && typeof m.pathRegex !== 'string') bad(`${field}.pathRegex`, 'InvalidPathRegex', `pathRegex must be a string, not ${show(m.pathRegex)}`);
  else if (isString(m.pathRegex)) {
    const why = re2Problem(m.pathRegex);
    if (why) bad(`${field}.pathRegex`, 'InvalidPathRegex', `pathRegex ${why}`);
  }
  const methods: string[] = [];
  (Array.isArray(m.methods) ? m.methods : []).forEach((method: unknown, i) => {
    if (method === '*' || (typeof method === 'string' && METHOD.test(method))) methods.push(method);
    else bad(`${field}.methods[${i}]`, 'InvalidMethod', `method ${show(method)} is not allowed; use '*' or an HTTP method name (letters, digits, '-', '_'), e.g. GET`);
  });
  // The route builder matches the methods with one `:method` regex, upper case, sorted, joined by '|'
  // (xds-snapshot plan.ts normalizeMethods, encode.ts routeMatch): many long names can exceed Envoy's
  // program size limit like any regex.
  const methodRegex = methods.includes('*') ? '' : uniqueSorted(methods.map((x) => x.toUpperCase())).join('|');
  const methodsWhy = methodRegex === '' ? undefined : re2Problem(methodRegex);
  if (methodsWhy) bad(`${field}.methods`, 'InvalidMethod', `the methods together make the :method regex ${methodsWhy}; split them over several matches`);
  const headers: Record<string, string> = {};
  for (const name of Object.keys(m.headers ?? {}).sort(compareStrings)) {
    const value: unknown = m.headers?.[name];
    if (!TOKEN.test(name)) bad(`${field}.headers.${name}`, 'InvalidHeaderMatch', `header name ${show(name)} is not an HTTP header name (letters, digits and !#$%&'*+.^_\`|~-)`);
    else if (typeof value !== 'string') bad(`${field}.headers.${name}`, 'InvalidHeaderMatch', `header ${name} must match a string regex, not ${show(value)}`);
    else {
      const why = re2Problem(value);
      if (why) bad(`${field}.headers.${name}`, 'InvalidHeaderMatch', `header ${name}: ${why}`);
      else headers[name] = value;
    }
  }
  if (!ok || !isString(m.name)) return undefined;
  return { name: m.name, ...(isString(m.pathRegex) ? { pathRegex: m.pathRegex } : {}), methods: uniqueSorted(methods), headers };
}

/** An HTTPRouteGroup with its valid matches, and the problems of the others. */
export function translateRouteGroup(g: K8sHTTPRouteGroup, problems: ProblemList): HTTPRouteGroup {
  const report = problems.about('HTTPRouteGroup', g);
  const matches = new Map<string, HttpRouteMatch>();
  (g.spec?.matches ?? []).forEach((m, i) => {
    const field = `spec.matches[${i}]`;
    if (!isString(m.name)) {
      report(`${field}.name`, 'MissingMatchName', 'a match needs a name for TrafficTarget rules to grant it; the match is not applied');
      return;
    }
    if (matches.has(m.name)) {
      report(`${field}.name`, 'DuplicateMatchName', `match name ${show(m.name)} is used twice; only the first match of that name is applied`);
      return;
    }
    const match = routeMatch(m, field, report);
    if (match) matches.set(m.name, match);
  });
  return { namespace: g.metadata.namespace ?? '', name: g.metadata.name, matches: [...matches.values()].sort((a, b) => compareStrings(a.name, b.name)) };
}

/** A TCPRoute; a match with an invalid port is dropped whole, so that the route never grants more than asked. */
export function translateTcpRoute(r: K8sTCPRoute, problems: ProblemList): TCPRoute {
  const m = r.spec?.matches;
  const base = { namespace: r.metadata.namespace ?? '', name: r.metadata.name };
  if (!m) return { ...base, matches: [] };
  const ports = Array.isArray(m.ports) ? m.ports : [];
  const badPort = ports.findIndex((p) => !isPort(p));
  if (badPort >= 0) {
    problems.about('TCPRoute', r)(`spec.matches.ports[${badPort}]`, 'InvalidPort', `port ${show(ports[badPort])} is not a port number 1-65535; the route grants nothing until it is fixed`);
    return { ...base, matches: [] };
  }
  return { ...base, matches: [{ name: isString(m.name) ? m.name : '', ports: [...new Set(ports)].sort((a, b) => a - b) }] };
}

function subject(s: { kind?: string; name?: string; namespace?: string } | undefined, defaultNamespace: string, field: string, report: Report): IdentityRef | undefined {
  if (s?.kind !== 'ServiceAccount') {
    report(`${field}.kind`, 'InvalidSubjectKind', `kind ${show(s?.kind)} is not supported; the only kind is ServiceAccount`);
    return undefined;
  }
  if (!isString(s.name)) {
    report(`${field}.name`, 'MissingName', 'a ServiceAccount subject needs a name');
    return undefined;
  }
  return { kind: 'ServiceAccount', namespace: isString(s.namespace) ? s.namespace : defaultNamespace, name: s.name };
}

/**
 * A TrafficTarget, or undefined when OSM would ignore it whole (pkg/smi/smi.go IsValidTrafficTarget: the
 * destination must be a ServiceAccount of the target's own namespace; every rule must name an
 * HTTPRouteGroup or a TCPRoute). A source of another kind is left out; a rule naming an HTTPRouteGroup
 * without `matches` grants nothing (OSM; the SMI specification would grant every match).
 */
export function translateTrafficTarget(
  tt: K8sTrafficTarget,
  routes: { readonly http: ReadonlyMap<string, HTTPRouteGroup>; readonly tcp: ReadonlyMap<string, TCPRoute> },
  problems: ProblemList,
): TrafficTarget | undefined {
  const report = problems.about('TrafficTarget', tt);
  const ns = tt.metadata.namespace ?? '';
  const ignored = '; the TrafficTarget is not applied';
  const dest = subject(tt.spec?.destination, ns, 'spec.destination', (f, r, m) => report(f, r, m + ignored));
  if (!dest) return undefined;
  if (dest.namespace !== ns) {
    report('spec.destination.namespace', 'InvalidDestinationNamespace', `the destination must be in the TrafficTarget's namespace ${show(ns)}, not ${show(dest.namespace)}${ignored}`);
    return undefined;
  }
  const specRules = tt.spec?.rules ?? [];
  if (specRules.length === 0) {
    report('spec.rules', 'NoRules', `a TrafficTarget needs at least one rule (kind HTTPRouteGroup or TCPRoute)${ignored}`);
    return undefined;
  }
  let valid = true;
  specRules.forEach((r, i) => {
    if (r.kind !== 'HTTPRouteGroup' && r.kind !== 'TCPRoute') {
      report(`spec.rules[${i}].kind`, 'InvalidRuleKind', `rule kind ${show(r.kind)} is not supported; allowed: HTTPRouteGroup, TCPRoute${ignored}`);
      valid = false;
    } else if (!isString(r.name)) {
      report(`spec.rules[${i}].name`, 'MissingName', `a rule needs the name of a ${r.kind} in namespace ${show(ns)}${ignored}`);
      valid = false;
    }
  });
  if (!valid) return undefined;

  const sources = new Map<string, IdentityRef>();
  (tt.spec?.sources ?? []).forEach((s, i) => {
    const ref = subject(s, ns, `spec.sources[${i}]`, (f, r, m) => report(f, r, `${m}; the source is not applied`));
    if (ref) sources.set(`${ref.namespace}/${ref.name}`, ref);
  });
  const rules = new Map<string, TrafficTargetRule>();
  specRules.forEach((r, i) => {
    const kind = r.kind as TrafficTargetRule['kind'];
    const name = r.name as string;
    const field = `spec.rules[${i}]`;
    const named = (r.matches ?? []).filter(isString);
    if (kind === 'HTTPRouteGroup') {
      const group = routes.http.get(`${ns}/${name}`);
      if (!group) report(`${field}.name`, 'RouteNotFound', `HTTPRouteGroup ${show(name)} does not exist in namespace ${show(ns)}; the rule grants nothing until it does`);
      if (named.length === 0) {
        report(`${field}.matches`, 'NoMatches', `the rule names no match of HTTPRouteGroup ${show(name)} and so grants nothing (OSM's semantics); list the match names it allows`);
      } else if (group) {
        (r.matches ?? []).forEach((m, j) => {
          if (isString(m) && !group.matches.some((g) => g.name === m)) {
            report(`${field}.matches[${j}]`, 'MatchNotFound', `HTTPRouteGroup ${show(name)} has no applicable match ${show(m)}; allowed: ${group.matches.map((g) => g.name).join(', ') || 'none'}`);
          }
        });
      }
    } else if (!routes.tcp.has(`${ns}/${name}`)) {
      report(`${field}.name`, 'RouteNotFound', `TCPRoute ${show(name)} does not exist in namespace ${show(ns)}; the rule grants nothing until it does`);
    }
    const key = `${kind}/${name}`;
    rules.set(key, { kind, name, matches: uniqueSorted([...(rules.get(key)?.matches ?? []), ...named]) });
  });
  const port = tt.spec?.destination?.port;
  return {
    namespace: ns,
    name: tt.metadata.name,
    destination: isPort(port) ? { ...dest, port } : dest,
    sources: [...sources.values()].sort(compareNamespacedNames),
    rules: [...rules.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, r]) => r),
  };
}

/**
 * The apex service's name from `spec.service` written `<name>`, `<name>.<namespace>` or
 * `<name>.<namespace>.svc.<clusterDomain>` (the namespace must be the split's own), or a problem.
 */
export function apexName(service: string, namespace: string, clusterDomain: string): { name: string } | { problem: string } {
  const forms = `<name>, <name>.${namespace} or <name>.${namespace}.svc.${clusterDomain}`;
  const dot = service.indexOf('.');
  if (dot < 0) return { name: service };
  const name = service.slice(0, dot);
  const rest = service.slice(dot + 1);
  const ns = rest.split('.')[0] ?? '';
  if (name !== '' && (rest === namespace || rest === `${namespace}.svc.${clusterDomain}`)) return { name };
  if (name !== '' && ns !== namespace && (rest === ns || rest === `${ns}.svc.${clusterDomain}`)) {
    return { problem: `the apex service ${show(service)} is in namespace ${show(ns)}, but a TrafficSplit splits only services of its own namespace ${show(namespace)}; write ${forms}` };
  }
  return { problem: `the apex service ${show(service)} is not a service name; write ${forms}` };
}

/**
 * TrafficSplits, each with its apex resolved to a service name. A split without an applicable apex or
 * without a backend of positive weight is left out (traffic to the apex then goes to the apex itself);
 * a backend that is malformed is left out. Several splits on one apex: only the first by name applies,
 * as in OSM (pkg/catalog/outbound_traffic_policies.go getUpstreamClusters).
 */
export function translateTrafficSplits(
  splits: readonly K8sTrafficSplit[],
  services: ReadonlySet<string>,
  clusterDomain: string,
  problems: ProblemList,
): TrafficSplit[] {
  const out: TrafficSplit[] = [];
  const apexes = new Map<string, string>();
  for (const ts of splits) {
    const report = problems.about('TrafficSplit', ts);
    const ns = ts.metadata.namespace ?? '';
    const service = ts.spec?.service;
    if (!isString(service)) {
      report('spec.service', 'MissingApex', `spec.service must name the apex service (<name>, <name>.${ns} or <name>.${ns}.svc.${clusterDomain}); the TrafficSplit is not applied`);
      continue;
    }
    const apex = apexName(service, ns, clusterDomain);
    if ('problem' in apex) {
      report('spec.service', 'InvalidApex', `${apex.problem}; the TrafficSplit is not applied`);
      continue;
    }
    if (!services.has(`${ns}/${apex.name}`)) {
      report('spec.service', 'ApexNotFound', `the apex service ${show(apex.name)} does not exist in namespace ${show(ns)} (or is not in the mesh); the split applies once it does`);
    }
    const backends = new Map<string, { service: string; weight: number }>();
    (ts.spec?.backends ?? []).forEach((b, i) => {
      const field = `spec.backends[${i}]`;
      if (!isString(b.service)) report(`${field}.service`, 'InvalidBackend', 'a backend needs a service name of the split\'s namespace; the backend is not applied');
      else if (typeof b.weight !== 'number' || !Number.isInteger(b.weight) || b.weight < 0) {
        report(`${field}.weight`, 'InvalidBackend', `weight ${show(b.weight)} is not an integer >= 0; the backend is not applied`);
      } else {
        if (!services.has(`${ns}/${b.service}`)) report(`${field}.service`, 'BackendNotFound', `backend service ${show(b.service)} does not exist in namespace ${show(ns)} (or is not in the mesh); it gets no traffic until it does`);
        backends.set(b.service, { service: b.service, weight: b.weight + (backends.get(b.service)?.weight ?? 0) });
      }
    });
    if (![...backends.values()].some((b) => b.weight > 0)) {
      report('spec.backends', 'NoBackends', 'the split has no backend with a weight above 0; the TrafficSplit is not applied and traffic goes to the apex service itself');
      continue;
    }
    const apexKey = `${ns}/${apex.name}`;
    const first = apexes.get(apexKey);
    if (first !== undefined) {
      report('spec.service', 'DuplicateApex', `TrafficSplit ${show(first)} already splits ${show(apex.name)}; only one split per apex service applies (the first by name)`);
      continue;
    }
    apexes.set(apexKey, ts.metadata.name);
    out.push({ namespace: ns, name: ts.metadata.name, apexService: apex.name, backends: [...backends.values()].sort((a, b) => compareStrings(a.service, b.service)) });
  }
  return out;
}

// NACK rules: the parent tells simulated proxies to reject config they could otherwise accept, the
// way a real Envoy rejects what it cannot apply.
import type { DecodedResource } from './resources.ts';
import type { RejectRule } from './session.ts';

export interface NackRule {
  /** Proxy uuids the rule applies to; absent: every proxy. */
  readonly proxies?: readonly string[];
  /** Only responses of this type URL; absent: any type. */
  readonly typeUrl?: string;
  /** A regular expression (JavaScript source) that some resource name in the response must match; absent: any response. */
  readonly resourceName?: string;
  /** error_detail.message of the NACK; default `rejected by a NACK rule`. */
  readonly detail?: string;
}

export type RulesCheck = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

/** Checks rules before they are sent to the simulator processes; names the field of each problem. */
export function checkNackRules(rules: readonly NackRule[]): RulesCheck {
  const errors: string[] = [];
  rules.forEach((rule, i) => {
    if (rule.proxies !== undefined && (!Array.isArray(rule.proxies) || rule.proxies.some((p) => typeof p !== 'string'))) {
      errors.push(`nackRules[${i}].proxies must be a list of proxy uuids`);
    }
    if (rule.typeUrl !== undefined && !rule.typeUrl.startsWith('type.googleapis.com/')) {
      errors.push(`nackRules[${i}].typeUrl ${JSON.stringify(rule.typeUrl)} must be a type URL such as type.googleapis.com/envoy.config.cluster.v3.Cluster`);
    }
    if (rule.resourceName !== undefined) {
      try {
        new RegExp(rule.resourceName);
      } catch (err) {
        errors.push(`nackRules[${i}].resourceName is not a regular expression: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  });
  return errors.length === 0 ? { valid: true } : { valid: false, errors };
}

// What JavaScript patterns have and Go's RE2 (the go engine) has not: lookaround and back-references.
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

/** The go engine matches resourceName with RE2: the errors of patterns it cannot run as JavaScript would. */
export function checkNackRulesForGo(rules: readonly NackRule[]): string[] {
  return rules.flatMap((rule, i) =>
    rule.resourceName !== undefined && NOT_RE2.test(rule.resourceName)
      ? [`nackRules[${i}].resourceName ${JSON.stringify(rule.resourceName)} uses lookaround or a back-reference, which engine 'go' (RE2) cannot run: use engine 'node'`]
      : [],
  );
}

const DEFAULT_DETAIL = 'rejected by a NACK rule';

/** The reject function of one proxy for the current rules (rules change at run time, so it reads them on each call). */
export function rejectFor(uuid: string, rules: () => readonly CompiledRule[]): RejectRule {
  return (typeUrl, resources) => {
    for (const rule of rules()) {
      if (rule.proxies && !rule.proxies.has(uuid)) continue;
      if (rule.typeUrl !== undefined && rule.typeUrl !== typeUrl) continue;
      if (rule.pattern && !resources.some((r: DecodedResource) => rule.pattern?.test(r.name))) continue;
      return rule.detail;
    }
    return undefined;
  };
}

export interface CompiledRule {
  readonly proxies: ReadonlySet<string> | undefined;
  readonly typeUrl: string | undefined;
  readonly pattern: RegExp | undefined;
  readonly detail: string;
}

export function compileNackRules(rules: readonly NackRule[]): CompiledRule[] {
  return rules.map((r) => ({
    proxies: r.proxies ? new Set(r.proxies) : undefined,
    typeUrl: r.typeUrl,
    pattern: r.resourceName !== undefined ? new RegExp(r.resourceName) : undefined,
    detail: r.detail ?? DEFAULT_DETAIL,
  }));
}

// MeshConfig certificate.serviceCertValidityDuration: a Go duration string (OSM's format).

export const DEFAULT_SERVICE_CERT_VALIDITY_MS = 24 * 3600 * 1000;
export const MIN_SERVICE_CERT_VALIDITY_MS = 10 * 60 * 1000;
const FIELD = 'certificate.serviceCertValidityDuration';

const unitMs: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("24h", "1h30m", "90m", "1.5h", "300ms") to milliseconds; undefined if malformed. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (text === '0') return 0;
  if (!match) return undefined;
  let total = 0;
  for (const part of text.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (unitMs[part[2] ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) return undefined;
  return match[1] === '-' ? -total : total;
}

export interface ResolvedValidity {
  readonly validityMs: number;
  /** Set when the configured value was not used as is; names the field and the allowed values. */
  readonly problem?: string;
}

/** The service certificate validity from MeshConfig: default 24h, floor 10m; bad input gets the default and a message. */
export function resolveServiceCertValidity(value: unknown): ResolvedValidity {
  if (value === undefined || value === null || value === '') return { validityMs: DEFAULT_SERVICE_CERT_VALIDITY_MS };
  const ms = typeof value === 'string' ? parseGoDuration(value.trim()) : undefined;
  if (ms === undefined || ms <= 0) {
    return {
      validityMs: DEFAULT_SERVICE_CERT_VALIDITY_MS,
      problem: `${FIELD} ${JSON.stringify(value)} is not a valid duration: expected a positive Go duration such as "24h", "90m" or "1h30m" (at least 10m); using the default 24h`,
    };
  }
  if (ms < MIN_SERVICE_CERT_VALIDITY_MS) {
    return { validityMs: MIN_SERVICE_CERT_VALIDITY_MS, problem: `${FIELD} ${JSON.stringify(value)} is below the minimum of 10m; using 10m` };
  }
  return { validityMs: ms };
}

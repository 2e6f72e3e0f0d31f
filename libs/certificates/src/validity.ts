// MeshConfig certificate.serviceCertValidityDuration: a Go duration string (OSM's format).
import { parseGoDuration } from '@osm/mesh-model';

export const DEFAULT_SERVICE_CERT_VALIDITY_MS = 24 * 3600 * 1000;
export const MIN_SERVICE_CERT_VALIDITY_MS = 10 * 60 * 1000;
const FIELD = 'certificate.serviceCertValidityDuration';

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

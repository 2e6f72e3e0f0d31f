import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed Kubernetes API call (client-node's ApiException or a plain `{ code }`), if any. */
export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

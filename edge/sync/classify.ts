import { SyncErrorReply, SyncReply } from '../../shared/sync.js';

/** How one delivery attempt ended. Decided once, here, from what came back. */
export type Delivery =
  | { outcome: 'accepted'; reply: SyncReply }
  | { outcome: 'retry'; reason: string; status: number | null; rewindTo?: number; cloudTime?: number }
  | { outcome: 'rejected'; reason: string; status: number };

const RETRY_STATUSES = new Set([408, 425, 429]);

export function classifyResponse(status: number, body: unknown): Delivery {
  if (status === 200) {
    const reply = SyncReply.safeParse(body);
    // A 200 we cannot read (a proxy's page, say) proves nothing was committed: try again.
    return reply.success ? { outcome: 'accepted', reply: reply.data } : { outcome: 'retry', reason: 'unreadable 200 reply', status };
  }
  const err = SyncErrorReply.safeParse(body);
  const reason = err.success ? `${err.data.error.code}: ${err.data.error.message}` : `HTTP ${status}`;
  if (status === 409 && err.success && err.data.acceptedThrough !== undefined) {
    return { outcome: 'retry', reason, status, rewindTo: err.data.acceptedThrough, cloudTime: err.data.cloudTime };
  }
  // The token, not the batch, is wrong: keep the data and keep asking, slowly, until fixed.
  if (status === 401 || status === 403) return { outcome: 'retry', reason: `${reason} (check sync.token)`, status };
  if (status >= 500 || RETRY_STATUSES.has(status)) return { outcome: 'retry', reason, status };
  return { outcome: 'rejected', reason, status };
}

export function classifyNetworkError(err: unknown): Delivery {
  const e = err as { name?: string; code?: string; message?: string; cause?: { name?: string; code?: string; message?: string } };
  const timedOut = e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError';
  // node:http puts the code on the error (ECONNREFUSED, a TLS ERR_...), fetch on its cause.
  const code = e.code ?? e.cause?.code;
  const tls = code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|HOSTNAME|ALTNAME/.test(code);
  const what = timedOut ? 'timed out' : tls ? `TLS: ${e.message ?? code} (check sync.tls)` : code ?? e.cause?.message ?? e.message ?? 'network error';
  return { outcome: 'retry', reason: `cannot reach the cloud: ${what}`, status: null };
}

/**
 * The one place that decides whether a failure while storing a batch is worth retrying. The edge
 * retries 503 with backoff and keeps the batch; 500 means a fault on our side that a retry will
 * likely meet again, but the edge still keeps the batch (nothing is lost either way).
 */
export interface ErrorClass {
  status: 422 | 500 | 503;
  code: 'DB_UNAVAILABLE' | 'DB_RETRY' | 'DB_ERROR' | 'DATA_REJECTED' | 'INTERNAL';
  retry: boolean;
  /** SQLSTATE, when the database gave one */
  sqlState?: string;
}

// PostgreSQL Appendix A: 08 connection exception, 53 insufficient resources,
// 57 operator intervention (admin shutdown, query canceled), 40 transaction rollback
// (serialization failure, deadlock detected).
const RETRY_CLASSES: Record<string, ErrorClass['code']> = { '08': 'DB_UNAVAILABLE', '53': 'DB_UNAVAILABLE', '57': 'DB_UNAVAILABLE', '40': 'DB_RETRY' };

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

// node-postgres reports a lost or unobtainable connection with these messages and no code.
const PG_CONNECTION_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /client has encountered a connection error/i, /cannot use a pool after calling end/i, /connection .* closed/i];

export function classifyStoreError(err: unknown): ErrorClass {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    const retryCode = RETRY_CLASSES[code.slice(0, 2)];
    if (retryCode) return { status: 503, code: retryCode, retry: true, sqlState: code };
    // A unique violation is a race with another writer (two replicas): the retry meets the winner.
    if (code === '23505') return { status: 503, code: 'DB_RETRY', retry: true, sqlState: code };
    // 22 data exception (a NUL in a text, a value out of range), 23 integrity constraint (a check):
    // the batch itself cannot be stored, and sending it again would fail the same way.
    if (code.startsWith('22') || code.startsWith('23')) return { status: 422, code: 'DATA_REJECTED', retry: false, sqlState: code };
    return { status: 500, code: 'DB_ERROR', retry: false, sqlState: code };
  }
  if (code !== undefined && NETWORK_CODES.has(code)) return { status: 503, code: 'DB_UNAVAILABLE', retry: true };
  const message = typeof e.message === 'string' ? e.message : '';
  if (PG_CONNECTION_MESSAGES.some((re) => re.test(message))) return { status: 503, code: 'DB_UNAVAILABLE', retry: true };
  return { status: 500, code: 'INTERNAL', retry: false };
}

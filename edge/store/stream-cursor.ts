import type { SqliteDb } from './db.js';

export interface CursorRow {
  ackedSeq: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/**
 * One sync stream's row of the `outbox` table (migrations/001_init.sql): the seq the cloud has
 * acknowledged, the last success and error, and the batches it refused (`rejected_batches`).
 * Shared by the readings outbox (outbox.ts) and the findings stream (events.ts).
 */
export interface StreamCursor {
  get(): CursorRow;
  settle(ackedSeq: number): void;
  recordError(message: string): void;
  reject(b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): void;
}

export function createStreamCursor(db: SqliteDb, stream: string): StreamCursor {
  const row = db.prepare<[string], { acked_seq: number; last_success_at: number | null; last_error: string | null; last_error_at: number | null }>(
    'SELECT acked_seq, last_success_at, last_error, last_error_at FROM outbox WHERE stream = ?',
  );
  const settle = db.prepare<[number, number, string]>('UPDATE outbox SET acked_seq = ?, last_success_at = ?, last_error = NULL WHERE stream = ?');
  const error = db.prepare<[string, number, string]>('UPDATE outbox SET last_error = ?, last_error_at = ? WHERE stream = ?');
  const reject = db.prepare<[number, string, number, number, number | null, string]>(
    'INSERT INTO rejected_batches (at, stream, first_seq, last_seq, status, reason) VALUES (?, ?, ?, ?, ?, ?)',
  );
  return {
    get() {
      const r = row.get(stream);
      return { ackedSeq: r?.acked_seq ?? 0, lastSuccessAt: r?.last_success_at ?? null, lastError: r?.last_error ?? null, lastErrorAt: r?.last_error_at ?? null };
    },
    settle: (ackedSeq) => void settle.run(ackedSeq, Date.now(), stream),
    recordError: (message) => void error.run(message.slice(0, 1000), Date.now(), stream),
    reject: (b) => void reject.run(Date.now(), stream, b.firstSeq, b.lastSeq, b.status, b.reason.slice(0, 2000)),
  };
}

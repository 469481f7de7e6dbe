import { qualityFromCode } from '../../shared/reading.js';
import type { SequencedReading } from '../../shared/sync-codec.js';
import type { SqliteDb } from './db.js';

export interface OutboxState {
  ackedSeq: number;
  lastSeq: number;
  pending: number;
  /** Gateway receive time of the oldest reading not yet acknowledged by the cloud. */
  oldestPendingAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/**
 * The readings stream's outbox: pending records are the readings above the acknowledged seq.
 * Only the cloud's reply moves the cursor (settle), so a crash between send and reply resends
 * the batch, and the cloud's watermark turns the resend into a no-op.
 */
export interface Outbox {
  next(limit: number): SequencedReading[];
  /**
   * Makes every committed record durable on disk. Called before records leave for the cloud:
   * with synchronous=NORMAL a power cut can roll back the last commits, and the cloud must never
   * hold a seq that the historian could lose and then hand to a different reading.
   */
  makeDurable(): void;
  /** Records the cloud's committed watermark: everything at or below `ackedSeq` is in the cloud. */
  settle(ackedSeq: number): void;
  recordError(message: string): void;
  reject(batch: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): void;
  state(): OutboxState;
}

interface Row {
  seq: number;
  name: string;
  ts: number;
  value: number;
  quality: number;
  received_at: number;
}

export function createOutbox(db: SqliteDb, opts: { synchronous: 'normal' | 'full' }, stream = 'readings'): Outbox {
  const nextStmt = db.prepare<[number, number], Row>(
    `SELECT r.seq, s.name, r.ts, r.value, r.quality, r.received_at
       FROM readings r JOIN sensors s ON s.id = r.sensor_id
      WHERE r.seq > ? ORDER BY r.seq LIMIT ?`,
  );
  const cursor = db.prepare<[string], { acked_seq: number; last_success_at: number | null; last_error: string | null; last_error_at: number | null }>(
    'SELECT acked_seq, last_success_at, last_error, last_error_at FROM outbox WHERE stream = ?',
  );
  const settleStmt = db.prepare<[number, number, string]>(
    'UPDATE outbox SET acked_seq = ?, last_success_at = ?, last_error = NULL WHERE stream = ?',
  );
  const errorStmt = db.prepare<[string, number, string]>('UPDATE outbox SET last_error = ?, last_error_at = ? WHERE stream = ?');
  const rejectStmt = db.prepare<[number, string, number, number, number | null, string]>(
    'INSERT INTO rejected_batches (at, stream, first_seq, last_seq, status, reason) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const lastSeqStmt = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM readings');
  const oldestStmt = db.prepare<[number], { at: number | null }>(
    'SELECT received_at AS at FROM readings WHERE seq > ? ORDER BY seq LIMIT 1',
  );

  const acked = (): number => cursor.get(stream)?.acked_seq ?? 0;

  return {
    next(limit) {
      return nextStmt.all(acked(), limit).map((r) => ({
        seq: r.seq,
        sensor: r.name,
        ts: r.ts,
        value: r.value,
        quality: qualityFromCode(r.quality),
        receivedAt: r.received_at,
      }));
    },
    makeDurable() {
      // A checkpoint fsyncs the WAL before copying it into the database (SQLite "WAL mode":
      // with synchronous=NORMAL the WAL is synced at checkpoints). With FULL each commit is.
      if (opts.synchronous === 'normal') db.pragma('wal_checkpoint(PASSIVE)');
    },
    settle(ackedSeq) {
      settleStmt.run(ackedSeq, Date.now(), stream);
    },
    recordError(message) {
      errorStmt.run(message.slice(0, 1000), Date.now(), stream);
    },
    reject(b) {
      rejectStmt.run(Date.now(), stream, b.firstSeq, b.lastSeq, b.status, b.reason.slice(0, 2000));
    },
    state() {
      const c = cursor.get(stream);
      const ackedSeq = c?.acked_seq ?? 0;
      const lastSeq = lastSeqStmt.get()?.seq ?? 0;
      return {
        ackedSeq,
        lastSeq,
        pending: Math.max(0, lastSeq - ackedSeq),
        oldestPendingAt: oldestStmt.get(ackedSeq)?.at ?? null,
        lastSuccessAt: c?.last_success_at ?? null,
        lastError: c?.last_error ?? null,
        lastErrorAt: c?.last_error_at ?? null,
      };
    },
  };
}

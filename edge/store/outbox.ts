import { qualityFromCode } from '../../shared/reading.js';
import type { SequencedReading } from '../../shared/sync-codec.js';
import type { EvictedRange } from '../../shared/sync.js';
import type { SqliteDb } from './db.js';
import { createStreamCursor } from './stream-cursor.js';

/** What a batch of pending records covers: the envelope's firstSeq, lastSeq and evicted. */
export interface BatchSpan {
  firstSeq: number;
  lastSeq: number;
  /** Seqs of firstSeq..lastSeq that the disk budget dropped; sorted, disjoint, never a record's. */
  evicted: EvictedRange[];
}

export interface OutboxState {
  ackedSeq: number;
  lastSeq: number;
  /**
   * Records still to send: seqs above ackedSeq through lastSeq, less those the budget evicted,
   * plus the landed readings, which get their seq when filed (migrations/007_landing.sql).
   */
  pending: number;
  /** Committed readings not yet filed, so not yet in the stream by seq. */
  landed: number;
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
  /** Pending records in seq order: above the acknowledged seq, or above `after` when given. */
  next(limit: number, after?: number): SequencedReading[];
  /**
   * The span of a batch of `records` from next(): from just above the acknowledged seq through
   * the last record, with the seqs in it that the disk budget evicted (edge/store/budget.ts), so
   * that a thinned stream still covers its span and the cloud moves its watermark past the hole.
   * Throws on an empty batch. Not guaranteed: evicted seqs after the last pending record are
   * reported with the next batch that carries a record, not on their own.
   */
  span(records: readonly SequencedReading[]): BatchSpan;
  /** Seqs within lo..hi that the disk budget evicted: sorted, merged, clipped. */
  evictedBetween(lo: number, hi: number): EvictedRange[];
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
  const cursor = createStreamCursor(db, stream);
  const lastSeqStmt = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM readings');
  const oldestStmt = db.prepare<[number], { at: number | null }>(
    'SELECT received_at AS at FROM readings WHERE seq > ? ORDER BY seq LIMIT 1',
  );
  const landedStmt = db.prepare<[], { n: number; at: number | null }>('SELECT count(*) AS n, min(received_at) AS at FROM landing');

  // Raw-reading evictions whose range reaches above a seq; ranges never hold a stored reading.
  const evictedStmt = db.prepare<[number, number], { from_key: number; to_key: number }>(
    `SELECT from_key, to_key FROM evictions
      WHERE category IN ('raw_synced', 'raw_unsynced') AND to_key >= ? AND from_key <= ?
      ORDER BY from_key`,
  );
  /** Evicted seqs within lo..hi, clipped, merged, sorted. */
  const evictedWithin = (lo: number, hi: number): EvictedRange[] => {
    const out: EvictedRange[] = [];
    if (hi < lo) return out;
    for (const r of evictedStmt.all(lo, hi)) {
      const from = Math.max(r.from_key, lo);
      const to = Math.min(r.to_key, hi);
      const last = out[out.length - 1];
      if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
      else out.push([from, to]);
    }
    return out;
  };
  const countOf = (ranges: readonly EvictedRange[]) => ranges.reduce((n, [from, to]) => n + to - from + 1, 0);

  const acked = (): number => cursor.get().ackedSeq;

  return {
    next(limit, after) {
      return nextStmt.all(after ?? acked(), limit).map((r) => ({
        seq: r.seq,
        sensor: r.name,
        ts: r.ts,
        value: r.value,
        quality: qualityFromCode(r.quality),
        receivedAt: r.received_at,
      }));
    },
    span(records) {
      if (records.length === 0) throw new Error('outbox.span: a batch holds at least one record');
      // The records come from above the acked seq; min() keeps a stale batch (the cursor moved
      // since next()) internally consistent instead of declaring a span it does not cover.
      const lo = Math.min(acked() + 1, records[0]!.seq);
      const lastSeq = records[records.length - 1]!.seq;
      const evicted = withoutRecords(evictedWithin(lo, lastSeq), records);
      // Starting at lo only when the evictions reach down to it: an unexplained hole below the
      // first record is left for the cloud to refuse as a gap, as it always was.
      const firstSeq = evicted.length > 0 && evicted[0]![0] === lo ? lo : Math.min(records[0]!.seq, evicted[0]?.[0] ?? Infinity);
      return { firstSeq, lastSeq, evicted };
    },
    evictedBetween: (lo, hi) => evictedWithin(lo, hi),
    makeDurable() {
      // A checkpoint fsyncs the WAL before copying it into the database (SQLite "WAL mode":
      // with synchronous=NORMAL the WAL is synced at checkpoints). With FULL each commit is.
      if (opts.synchronous === 'normal') db.pragma('wal_checkpoint(PASSIVE)');
    },
    settle: (ackedSeq) => cursor.settle(ackedSeq),
    recordError: (message) => cursor.recordError(message),
    reject: (b) => cursor.reject(b),
    // One read transaction: a filing moves readings from `landing` to `readings` between two
    // statements otherwise, and the counts would miss or double them for that moment.
    state: db.transaction(() => {
      const c = cursor.get();
      const ackedSeq = c.ackedSeq;
      const lastSeq = lastSeqStmt.get()?.seq ?? 0;
      const landed = landedStmt.get()!;
      const filedOldest = oldestStmt.get(ackedSeq)?.at ?? null;
      return {
        ackedSeq,
        lastSeq,
        pending: Math.max(0, lastSeq - ackedSeq - countOf(evictedWithin(ackedSeq + 1, lastSeq))) + landed.n,
        landed: landed.n,
        // Not always the filed ones: a dense commit is filed before readings landed earlier.
        oldestPendingAt: filedOldest === null ? landed.at : landed.at === null ? filedOldest : Math.min(filedOldest, landed.at),
        lastSuccessAt: c.lastSuccessAt,
        lastError: c.lastError,
        lastErrorAt: c.lastErrorAt,
      };
    }),
  };
}

/**
 * Removes the records' seqs from the ranges. A stored reading never lies in an evicted range,
 * but the budget may evict between next() and span() (another turn of the loop, or another
 * thread's connection): the records in hand are still sent, so they must not be declared evicted.
 */
function withoutRecords(ranges: EvictedRange[], records: readonly SequencedReading[]): EvictedRange[] {
  if (ranges.length === 0) return ranges;
  const out: EvictedRange[] = [];
  const seqs = records.map((r) => r.seq).sort((a, b) => a - b);
  let k = 0;
  for (const [from, to] of ranges) {
    let start = from;
    while (k < seqs.length && seqs[k]! < from) k++;
    while (k < seqs.length && seqs[k]! <= to) {
      if (seqs[k]! > start) out.push([start, seqs[k]! - 1]);
      start = seqs[k]! + 1;
      k++;
    }
    if (start <= to) out.push([start, to]);
  }
  return out;
}

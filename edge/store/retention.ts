import type { SqliteDb } from './db.js';

export const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** The clock the ages are measured against (ms since epoch). */
  now: number;
  /** Raw readings whose source timestamp is older than this are evicted (see syncConfigured). */
  rawDays: number;
  rollup1mDays: number;
  rollup1hDays: number;
  /**
   * Sync to a cloud is configured: a raw reading above the outbox's acknowledged seq is not in
   * the cloud yet, and is kept whatever its age (DESIGN guarantee 3: age never drops unsynced
   * data; only the disk budget may, by its own named policy). Deleting only at or below the
   * acked seq also keeps the pending stream dense for exactly-once sync (guarantee 2).
   * Without a cloud, age applies to every raw reading.
   */
  syncConfigured: boolean;
  /** Most index entries one transaction scans (and so deletes); default 5000. */
  batch?: number;
  /** Stops between transactions (the agent stopping); the counts so far are returned. */
  signal?: AbortSignal;
}

export interface RetentionCounts {
  rawEvicted: number;
  rollup1mEvicted: number;
  rollup1hEvicted: number;
  /** Raw readings past their age but not yet acknowledged by the cloud, left in place. */
  keptUnsynced: number;
  transactions: number;
  /** The longest a single retention transaction held the writer, in ms. */
  longestTransactionMs: number;
}

interface Tier {
  name: 'raw' | 'rollup_1m' | 'rollup_1h';
  /** Keys (time column) of one sensor's rows in [from, cutoff), in order, at most `limit`. */
  page: (sensorId: number, from: number, cutoff: number, limit: number) => number[];
  /** Deletes one sensor's rows with from <= t <= to (raw: only at or below maxSeq); returns changes. */
  evict: (sensorId: number, from: number, to: number, maxSeq: number) => number;
}

function tiers(db: SqliteDb): Record<Tier['name'], Tier> {
  // Both statements walk the (sensor_id, ts) index (readings_sensor_ts) or the rollup's primary
  // key, one sensor at a time: the index is covering for the page, and the delete is a range.
  const rawPage = db.prepare<[number, number, number, number], number>(
    'SELECT ts FROM readings WHERE sensor_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?',
  ).pluck();
  const rawEvict = db.prepare<[number, number, number, number]>(
    'DELETE FROM readings WHERE sensor_id = ? AND ts >= ? AND ts <= ? AND seq <= ?',
  );
  const rollup = (table: string): Tier => {
    const page = db.prepare<[number, number, number, number], number>(
      `SELECT bucket_start FROM ${table} WHERE sensor_id = ? AND bucket_start >= ? AND bucket_start < ? ORDER BY bucket_start LIMIT ?`,
    ).pluck();
    const evict = db.prepare<[number, number, number]>(`DELETE FROM ${table} WHERE sensor_id = ? AND bucket_start >= ? AND bucket_start <= ?`);
    return {
      name: table as Tier['name'],
      page: (s, from, cutoff, limit) => page.all(s, from, cutoff, limit),
      evict: (s, from, to) => evict.run(s, from, to).changes,
    };
  };
  return {
    raw: {
      name: 'raw',
      page: (s, from, cutoff, limit) => rawPage.all(s, from, cutoff, limit),
      evict: (s, from, to, maxSeq) => rawEvict.run(s, from, to, maxSeq).changes,
    },
    rollup_1m: rollup('rollup_1m'),
    rollup_1h: rollup('rollup_1h'),
  };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Deletes what is older than each tier's age, in transactions of at most `batch` scanned rows,
 * yielding to the event loop between them, so the ingest writer (same connection, same thread)
 * waits at most one short transaction. Pages walk each sensor's index range by key (keyset, not
 * OFFSET), so kept unsynced rows are scanned once per run, not once per batch.
 *
 * Not guaranteed: the raw tier and its rollups are evicted independently; a rollup bucket is
 * never recomputed, so shortening rawDays never changes the rollups.
 */
export async function applyRetention(db: SqliteDb, opts: RetentionOptions): Promise<RetentionCounts> {
  const batch = Math.max(1, opts.batch ?? 5000);
  const t = tiers(db);
  const counts: RetentionCounts = { rawEvicted: 0, rollup1mEvicted: 0, rollup1hEvicted: 0, keptUnsynced: 0, transactions: 0, longestTransactionMs: 0 };
  // The acked seq only grows; reading it once is conservative (a later ack merely waits a run).
  const maxSeq = opts.syncConfigured
    ? (db.prepare<[], number>("SELECT acked_seq FROM outbox WHERE stream = 'readings'").pluck().get() ?? 0)
    : Number.MAX_SAFE_INTEGER;
  const sensors = db.prepare<[], number>('SELECT id FROM sensors ORDER BY id').pluck().all();

  const plan: [Tier, number, (n: number, kept: number) => void][] = [
    [t.raw, opts.rawDays, (n, kept) => ((counts.rawEvicted += n), (counts.keptUnsynced += kept))],
    [t.rollup_1m, opts.rollup1mDays, (n) => (counts.rollup1mEvicted += n)],
    [t.rollup_1h, opts.rollup1hDays, (n) => (counts.rollup1hEvicted += n)],
  ];
  for (const [tier, days, add] of plan) {
    const cutoff = opts.now - days * DAY_MS;
    let i = 0;
    let from = Number.MIN_SAFE_INTEGER;
    // One transaction: pages from consecutive sensors until `batch` rows were scanned.
    const step = db.transaction(() => {
      let scanned = 0;
      while (scanned < batch && i < sensors.length) {
        const limit = batch - scanned;
        const keys = tier.page(sensors[i]!, from, cutoff, limit);
        if (keys.length > 0) {
          const n = tier.evict(sensors[i]!, from, keys[keys.length - 1]!, maxSeq);
          add(n, keys.length - n);
          scanned += keys.length;
        }
        if (keys.length < limit) {
          i++;
          from = Number.MIN_SAFE_INTEGER;
        } else from = keys[keys.length - 1]! + 1;
      }
    });
    while (i < sensors.length) {
      if (opts.signal?.aborted) return counts;
      const started = performance.now();
      step();
      counts.transactions++;
      counts.longestTransactionMs = Math.max(counts.longestTransactionMs, performance.now() - started);
      await yieldToEventLoop();
    }
  }
  return counts;
}

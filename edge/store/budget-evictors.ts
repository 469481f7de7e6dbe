import type { SqliteDb } from './db.js';
import { DAY_MS } from './retention.js';
import { HOUR_MS, MINUTE_MS } from './rollups.js';

/**
 * What the disk budget may evict, in the order it does (DESIGN guarantee 3):
 *
 * 1. `raw_synced`: raw readings at or below the outbox's acknowledged seq, already in the cloud
 *    (without sync configured every raw reading: there is no cloud to wait for).
 * 2. `dead_letters`: input refused as invalid, kept for diagnosis only. It never goes to the
 *    cloud, and a flood of bad input must not cost real data, so it goes before anything that
 *    cannot be fetched back; the deadLettered counter keeps counting them.
 * 3. `raw_unsynced`: raw readings the cloud has not acknowledged, only if the budget says
 *    `thinUnsynced`. Their 1-minute and 1-hour rollups stay (they are maintained on ingest), so
 *    the thinned period keeps its aggregates on the edge; the seq ranges are recorded so that
 *    the outbox tells the cloud they will never arrive. The cloud gets neither the readings nor
 *    the edge's rollups of them: only its log says what it will never receive.
 * 4. `rollup_1m`, then 5. `rollup_1h`: the edge's own long history (the cloud has its own
 *    aggregates of what it received), only for periods whose raw readings are gone.
 * 6. Findings and alarms, last. The edge has no table for them yet; when it gets one, its evictor
 *    goes after rollup_1h.
 *
 * "Oldest" is the order of arrival for raw readings and dead letters (seq, id: a key range, cheap,
 * and for raw the order the cloud receives them in) and the bucket time for rollups.
 */
export type EvictionCategory = 'raw_synced' | 'dead_letters' | 'raw_unsynced' | 'rollup_1m' | 'rollup_1h';
export const EVICTION_ORDER: readonly EvictionCategory[] = ['raw_synced', 'dead_letters', 'raw_unsynced', 'rollup_1m', 'rollup_1h'];

export type EvictionCounts = Record<EvictionCategory, number>;
export const noEvictions = (): EvictionCounts => ({ raw_synced: 0, dead_letters: 0, raw_unsynced: 0, rollup_1m: 0, rollup_1h: 0 });

/** One transaction's eviction: rows deleted and the key range they spanned (see 004_budget.sql). */
export interface Evicted {
  rows: number;
  fromKey: number;
  toKey: number;
}

export interface Evictor {
  category: EvictionCategory;
  /** Deletes at most `limit` of the oldest rows; null when nothing is left. Call in a transaction. */
  step(limit: number): Evicted | null;
  /** True when nothing still stored lies strictly between two key ranges, so one record covers both. */
  adjacent?(prevToKey: number, fromKey: number): boolean;
  /** Rollup ranges are informative, not exact: one record per run and category. */
  mergesWithinRun?: boolean;
}

const ACKED = "SELECT acked_seq FROM outbox WHERE stream = 'readings'";

/** Raw readings in seq order: at or below the acked seq (synced), or above it (unsynced). */
export function rawEvictor(db: SqliteDb, category: 'raw_synced' | 'raw_unsynced', syncConfigured: boolean): Evictor {
  const acked = db.prepare<[], number>(ACKED).pluck();
  const pick = db.prepare<[number, number], { lo: number | null; hi: number | null; n: number }>(
    category === 'raw_synced'
      ? 'SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM (SELECT seq FROM readings WHERE seq <= ? ORDER BY seq LIMIT ?)'
      : 'SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM (SELECT seq FROM readings WHERE seq > ? ORDER BY seq LIMIT ?)',
  );
  const del = db.prepare<[number, number]>('DELETE FROM readings WHERE seq >= ? AND seq <= ?');
  const between = db.prepare<[number, number], number>('SELECT 1 FROM readings WHERE seq > ? AND seq < ? LIMIT 1').pluck();
  return {
    category,
    step(limit) {
      // Read per transaction: the cloud may acknowledge more while the budget runs.
      const bound = category === 'raw_synced' && !syncConfigured ? Number.MAX_SAFE_INTEGER : (acked.get() ?? 0);
      const p = pick.get(bound, limit);
      if (!p || p.n === 0 || p.lo === null || p.hi === null) return null;
      return { rows: del.run(p.lo, p.hi).changes, fromKey: p.lo, toKey: p.hi };
    },
    adjacent: (prevTo, from) => from > prevTo && between.get(prevTo, from) === undefined,
  };
}

export function deadLetterEvictor(db: SqliteDb): Evictor {
  const pick = db.prepare<[number], { lo: number | null; hi: number | null; n: number }>(
    'SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM (SELECT id FROM dead_letters ORDER BY id LIMIT ?)',
  );
  const del = db.prepare<[number, number]>('DELETE FROM dead_letters WHERE id >= ? AND id <= ?');
  const between = db.prepare<[number, number], number>('SELECT 1 FROM dead_letters WHERE id > ? AND id < ? LIMIT 1').pluck();
  return {
    category: 'dead_letters',
    step(limit) {
      const p = pick.get(limit);
      if (!p || p.n === 0 || p.lo === null || p.hi === null) return null;
      return { rows: del.run(p.lo, p.hi).changes, fromKey: p.lo, toKey: p.hi };
    },
    adjacent: (prevTo, from) => from > prevTo && between.get(prevTo, from) === undefined,
  };
}

/**
 * Rollup buckets oldest first, and only those whose raw readings are all gone: a bucket that
 * starts before its sensor's oldest stored reading's bucket. While the readings are stored the
 * rollup is what long history queries read (edge/store/queries.ts), and it is 1-2% of their
 * size, so evicting it would break answers for little room; once they are gone (synced and
 * evicted, or thinned) it is the period's only record on the edge, and goes in this order.
 *
 * In time slices across sensors: the primary key is (sensor, bucket_start), so a global
 * ORDER BY bucket_start would scan and sort the whole table per transaction. Instead: find the
 * oldest evictable bucket (index probes per sensor), delete every sensor's evictable buckets
 * below oldest + slice, repeat. Oldest first to within one slice.
 */
export function rollupEvictor(db: SqliteDb, table: 'rollup_1m' | 'rollup_1h'): Evictor {
  const widthMs = table === 'rollup_1m' ? MINUTE_MS : HOUR_MS;
  const sliceMs = table === 'rollup_1m' ? HOUR_MS : DAY_MS;
  const sensors = db.prepare<[], number>('SELECT id FROM sensors ORDER BY id').pluck().all();
  const oldestRaw = db.prepare<[number], number | null>('SELECT min(ts) FROM readings WHERE sensor_id = ?').pluck();
  const oldestOf = db.prepare<[number], number | null>(`SELECT min(bucket_start) FROM ${table} WHERE sensor_id = ?`).pluck();
  const page = db
    .prepare<[number, number, number], number>(
      `SELECT bucket_start FROM ${table} WHERE sensor_id = ? AND bucket_start < ? ORDER BY bucket_start LIMIT ?`,
    )
    .pluck();
  // The page is the sensor's oldest buckets, so "at or below its last key" is exactly the page.
  const del = db.prepare<[number, number]>(`DELETE FROM ${table} WHERE sensor_id = ? AND bucket_start <= ?`);
  /** Per sensor, this slice's exclusive upper bound on bucket_start (refreshed every slice). */
  let below: number[] = [];
  let i = sensors.length;
  return {
    category: table,
    mergesWithinRun: true,
    step(limit) {
      let rows = 0;
      let fromKey = Number.MAX_SAFE_INTEGER;
      let toKey = Number.MIN_SAFE_INTEGER;
      while (rows < limit) {
        if (i >= sensors.length) {
          const keep = sensors.map((s) => {
            const t = oldestRaw.get(s) ?? null;
            return t === null ? Number.MAX_SAFE_INTEGER : t - (t % widthMs);
          });
          let oldest: number | null = null;
          for (let k = 0; k < sensors.length; k++) {
            const m = oldestOf.get(sensors[k]!) ?? null;
            if (m !== null && m < keep[k]! && (oldest === null || m < oldest)) oldest = m;
          }
          if (oldest === null) break;
          const cutoff = oldest + sliceMs;
          below = keep.map((k) => Math.min(k, cutoff));
          i = 0;
        }
        const want = limit - rows;
        const keys = page.all(sensors[i]!, below[i]!, want);
        if (keys.length > 0) {
          rows += del.run(sensors[i]!, keys[keys.length - 1]!).changes;
          fromKey = Math.min(fromKey, keys[0]!);
          toKey = Math.max(toKey, keys[keys.length - 1]!);
        }
        if (keys.length < want) i++;
      }
      return rows === 0 ? null : { rows, fromKey, toKey };
    },
  };
}

/** Records evictions in the evictions table (migrations/004_budget.sql), merging where exact. */
export function createEvictionLog(db: SqliteDb) {
  const latest = db.prepare<[string], { id: number; to_key: number }>(
    'SELECT id, to_key FROM evictions WHERE category = ? ORDER BY to_key DESC, id DESC LIMIT 1',
  );
  const extend = db.prepare<[number, number, number, number, number]>(
    'UPDATE evictions SET rows = rows + ?, from_key = min(from_key, ?), to_key = max(to_key, ?), last_at = ? WHERE id = ?',
  );
  const insert = db.prepare<[string, number, number, number, number, number]>(
    'INSERT INTO evictions (category, first_at, last_at, rows, from_key, to_key) VALUES (?, ?, ?, ?, ?, ?)',
  );
  return {
    /** Call in the transaction that evicted; returns the row used, to pass back as `runRow`. */
    record(ev: Evictor, e: Evicted, at: number, runRow: number | undefined): number {
      if (ev.mergesWithinRun && runRow !== undefined) {
        extend.run(e.rows, e.fromKey, e.toKey, at, runRow);
        return runRow;
      }
      const prev = latest.get(ev.category);
      if (prev && ev.adjacent?.(prev.to_key, e.fromKey)) {
        extend.run(e.rows, e.fromKey, e.toKey, at, prev.id);
        return prev.id;
      }
      return Number(insert.run(ev.category, at, at, e.rows, e.fromKey, e.toKey).lastInsertRowid);
    },
  };
}

/** Everything the budget has evicted since the historian was created (survives restarts). */
export function evictionTotals(db: SqliteDb): EvictionCounts {
  const totals = noEvictions();
  const rows = db.prepare<[], { category: string; n: number }>('SELECT category, sum(rows) AS n FROM evictions GROUP BY category').all();
  for (const r of rows) if (r.category in totals) totals[r.category as EvictionCategory] = r.n;
  return totals;
}

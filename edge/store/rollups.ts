import type { SqliteDb } from './db.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** The rollup tables (migrations/002_rollups.sql) and their UTC-aligned bucket widths. */
export const ROLLUPS = [
  { table: 'rollup_1m', widthMs: MINUTE_MS },
  { table: 'rollup_1h', widthMs: HOUR_MS },
] as const;

/** One bucket's aggregate; the same columns as a rollup row. */
interface Agg {
  count: number;
  bad: number;
  min: number | null;
  max: number | null;
  sum: number;
  firstTs: number;
  lastTs: number;
  lastValue: number;
}

const BAD = 2;

/**
 * Aggregates the readings of one batch in memory, per sensor and minute, so the batch costs one
 * upsert per sensor-minute and sensor-hour touched, not one per reading. Add only readings that
 * were actually inserted (a duplicate skipped by the unique (sensor_id, ts) index is not).
 */
export class RollupBatch {
  private readonly minutes = new Map<number, Map<number, Agg>>();

  add(sensorId: number, ts: number, value: number, quality: number): void {
    let bySensor = this.minutes.get(sensorId);
    if (bySensor === undefined) this.minutes.set(sensorId, (bySensor = new Map()));
    const start = ts - (ts % MINUTE_MS);
    const a = bySensor.get(start);
    const good = quality < BAD;
    if (a === undefined) {
      bySensor.set(start, {
        count: 1,
        bad: good ? 0 : 1,
        min: good ? value : null,
        max: good ? value : null,
        sum: good ? value : 0,
        firstTs: ts,
        lastTs: ts,
        lastValue: value,
      });
      return;
    }
    a.count++;
    if (good) {
      a.sum += value;
      if (a.min === null || value < a.min) a.min = value;
      if (a.max === null || value > a.max) a.max = value;
    } else a.bad++;
    if (ts < a.firstTs) a.firstTs = ts;
    if (ts > a.lastTs) {
      a.lastTs = ts;
      a.lastValue = value;
    }
  }

  /** Sensors with at least one reading added. */
  get sensors(): number {
    return this.minutes.size;
  }

  get size(): number {
    let n = 0;
    for (const m of this.minutes.values()) n += m.size;
    return n;
  }

  /** Minute aggregates, then the same folded into hours. */
  *buckets(): Generator<{ widthMs: number; sensorId: number; start: number; agg: Agg }> {
    for (const [sensorId, byMinute] of this.minutes) {
      const hours = new Map<number, Agg>();
      for (const [start, a] of byMinute) {
        yield { widthMs: MINUTE_MS, sensorId, start, agg: a };
        const h = start - (start % HOUR_MS);
        const acc = hours.get(h);
        if (acc === undefined) hours.set(h, { ...a });
        else merge(acc, a);
      }
      for (const [start, a] of hours) yield { widthMs: HOUR_MS, sensorId, start, agg: a };
    }
  }
}

function merge(into: Agg, a: Agg): void {
  into.count += a.count;
  into.bad += a.bad;
  into.sum += a.sum;
  if (a.min !== null && (into.min === null || a.min < into.min)) into.min = a.min;
  if (a.max !== null && (into.max === null || a.max > into.max)) into.max = a.max;
  if (a.firstTs < into.firstTs) into.firstTs = a.firstTs;
  if (a.lastTs > into.lastTs) {
    into.lastTs = a.lastTs;
    into.lastValue = a.lastValue;
  }
}

export interface RollupWriter {
  /** Upserts a batch's aggregates; call inside the transaction that inserted its readings. */
  apply(batch: RollupBatch): number;
}

export function createRollupWriter(db: SqliteDb): RollupWriter {
  // SQLite's two-argument min()/max() return NULL if either is NULL, hence the coalesce: a bucket
  // whose readings so far were all bad has NULL min/max.
  const upsert = (table: string) =>
    db.prepare<[number, number, number, number, number | null, number | null, number, number, number, number]>(
      `INSERT INTO ${table} (sensor_id, bucket_start, count, bad, min, max, sum, first_ts, last_ts, last_value)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sensor_id, bucket_start) DO UPDATE SET
         count = count + excluded.count,
         bad = bad + excluded.bad,
         min = min(coalesce(min, excluded.min), coalesce(excluded.min, min)),
         max = max(coalesce(max, excluded.max), coalesce(excluded.max, max)),
         sum = sum + excluded.sum,
         first_ts = min(first_ts, excluded.first_ts),
         last_value = CASE WHEN excluded.last_ts > last_ts THEN excluded.last_value ELSE last_value END,
         last_ts = max(last_ts, excluded.last_ts)`,
    );
  const stmts = new Map<number, ReturnType<typeof upsert>>(ROLLUPS.map((r) => [r.widthMs, upsert(r.table)]));
  return {
    apply(batch) {
      let rows = 0;
      for (const { widthMs, sensorId, start, agg: a } of batch.buckets()) {
        stmts.get(widthMs)!.run(sensorId, start, a.count, a.bad, a.min, a.max, a.sum, a.firstTs, a.lastTs, a.lastValue);
        rows++;
      }
      return rows;
    },
  };
}

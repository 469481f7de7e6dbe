import type { HistoryBucket, HistoryPoint } from '../../shared/mcp/history.js';
import { qualityFromCode, type Quality } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';
import { HOUR_MS, MINUTE_MS } from './rollups.js';

export interface SensorSummary {
  sensor: string;
  firstSeen: number;
  latest: { ts: number; value: number; quality: Quality } | null;
}

export type History =
  | { sensor: string; from: number; to: number; count: number; downsampled: false; points: HistoryPoint[] }
  | { sensor: string; from: number; to: number; count: number; downsampled: true; bucketMs: number; buckets: HistoryBucket[] };

/** Read-only queries for the edge MCP server; every statement is parameterised. */
export interface HistorianQueries {
  listSensors(opts: { prefix?: string; limit: number; after?: string }): SensorSummary[];
  sensorExists(sensor: string): boolean;
  /**
   * Absent from/to: the sensor's first/last reading, so "all of it" needs no guess at clocks.
   * Longer than maxPoints: buckets of `bucketWidth(span, maxPoints)` from `from`.
   *
   * A width that is a multiple of 1 h, with `from` on an hour, reads rollup_1h; a width that is
   * a multiple of 1 min reads rollup_1m; any other width reads raw readings. The buckets are the
   * same as the raw aggregation's: a rollup bucket that a range edge or a bucket boundary cuts
   * (a partial first/last minute or hour, or every boundary when `from` is not on the grain) is
   * not used; its readings inside the range are aggregated raw instead, so at most one rollup
   * width of raw readings per bucket boundary is read. avg may differ from the raw one in the
   * last bits, since the sum is added up in another order.
   */
  history(opts: { sensor: string; from?: number; to?: number; maxPoints: number; bucketWidth: (spanMs: number, maxBuckets: number) => number }): History;
  /** Spans in [from, to] in which the source this sensor comes from could read nothing (gap markers). */
  gaps(sensor: string, from: number, to: number): SourceGap[];
}

export interface SourceGap {
  source: string;
  start: number;
  /** null: still open (nothing read since `start`). */
  end: number | null;
  reason: string;
  /** What was read back from the server's history afterwards; null if nothing was tried. */
  backfill: { outcome: string; values: number } | null;
}

interface BucketRow {
  b: number;
  n: number;
  bad: number;
  min: number | null;
  max: number | null;
  /** of the readings that are not bad */
  sum: number;
}

function addRow(acc: Map<number, BucketRow>, r: BucketRow): void {
  const a = acc.get(r.b);
  if (a === undefined) return void acc.set(r.b, { ...r });
  a.n += r.n;
  a.bad += r.bad;
  a.sum += r.sum;
  if (r.min !== null && (a.min === null || r.min < a.min)) a.min = r.min;
  if (r.max !== null && (a.max === null || r.max > a.max)) a.max = r.max;
}

export function createHistorianQueries(db: SqliteDb): HistorianQueries {
  const list = db.prepare<[string, number, string, number], { id: number; name: string; first_seen: number }>(
    `SELECT id, name, first_seen FROM sensors
      WHERE name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?`,
  );
  // Committed readings are in `readings` or, until the writer files them, in `landing`
  // (migrations/007_landing.sql); every query below reads both. A reading is never in both.
  const latest = db.prepare<{ id: number }, { ts: number; value: number; quality: number }>(
    `SELECT ts, value, quality FROM (SELECT ts, value, quality FROM readings WHERE sensor_id = @id ORDER BY ts DESC LIMIT 1)
     UNION ALL SELECT ts, value, quality FROM (SELECT ts, value, quality FROM landing WHERE sensor_id = @id ORDER BY ts DESC LIMIT 1)
     ORDER BY ts DESC LIMIT 1`,
  );
  const idOf = db.prepare<[string], { id: number }>('SELECT id FROM sensors WHERE name = ?');
  const bounds = db.prepare<{ id: number }, { lo: number | null; hi: number | null }>(
    `SELECT min(lo) AS lo, max(hi) AS hi FROM (
       SELECT min(ts) AS lo, max(ts) AS hi FROM readings WHERE sensor_id = @id
       UNION ALL SELECT min(ts), max(ts) FROM landing WHERE sensor_id = @id)`,
  );
  // Rollups outlive raw readings (age retention, the disk budget), so they bound "all of it" too.
  const rollupBounds = db.prepare<[number, number], { lo: number | null; hi: number | null }>(
    `SELECT min(lo) AS lo, max(hi) AS hi FROM (
       SELECT min(bucket_start) AS lo, max(bucket_start) + 59999 AS hi FROM rollup_1m WHERE sensor_id = ?
       UNION ALL SELECT min(bucket_start), max(bucket_start) + 3599999 FROM rollup_1h WHERE sensor_id = ?)`,
  );
  const rolledCount = db.prepare<[number, number, number], number>(
    'SELECT coalesce(sum(count), 0) FROM rollup_1m WHERE sensor_id = ? AND bucket_start >= ? AND bucket_start <= ?',
  ).pluck();
  /** First and last reading, or the rollups' bounds where they reach past the raw readings left. */
  const extent = (id: number): { lo: number | null; hi: number | null } => {
    const r = bounds.get({ id })!;
    const g = rollupBounds.get(id, id)!;
    const lo = r.lo === null || (g.lo !== null && g.lo < r.lo - (r.lo % MINUTE_MS)) ? g.lo : r.lo;
    return { lo, hi: r.hi ?? g.hi };
  };
  /**
   * Whether raw readings in [from, to] were evicted while their rollups stay: the whole minutes
   * in the range hold fewer raw readings than their 1-minute rollups counted.
   */
  const rawEvictedIn = (id: number, from: number, to: number): boolean => {
    const lo = Math.ceil(from / MINUTE_MS) * MINUTE_MS;
    const lastStart = Math.floor((to + 1) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
    if (lastStart < lo) return false;
    const rolled = rolledCount.get(id, lo, lastStart) ?? 0;
    // Filed readings only: landed ones are in no rollup yet.
    return rolled > 0 && rolled > countFiled.get(id, lo, lastStart + MINUTE_MS - 1, rolled)!.n;
  };
  const raw = db.prepare<{ id: number; from: number; to: number }, { ts: number; value: number; quality: number }>(
    `SELECT ts, value, quality FROM (
       SELECT ts, value, quality FROM readings WHERE sensor_id = @id AND ts >= @from AND ts <= @to
       UNION ALL SELECT ts, value, quality FROM landing WHERE sensor_id = @id AND ts >= @from AND ts <= @to)
     ORDER BY ts`,
  );
  // Parameters bind as REAL, so the division is floored by hand (every operand is >= 0 here).
  const bucketedIn = (table: 'readings' | 'landing') =>
    db.prepare<[number, number, number, number, number, number], BucketRow>(
      `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) AS n, sum(quality = 2) AS bad,
              min(CASE WHEN quality < 2 THEN value END) AS min,
              max(CASE WHEN quality < 2 THEN value END) AS max,
              coalesce(sum(CASE WHEN quality < 2 THEN value END), 0.0) AS sum
         FROM ${table} WHERE sensor_id = ? AND ts >= ? AND ts <= ?
        GROUP BY b ORDER BY b LIMIT ?`,
    );
  const bucketedFiled = bucketedIn('readings');
  const bucketedLanded = bucketedIn('landing');
  // Counts up to limit rows only, so deciding "raw or buckets" never scans a long range.
  const countIn = (table: 'readings' | 'landing') =>
    db.prepare<[number, number, number, number], { n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE sensor_id = ? AND ts >= ? AND ts <= ? LIMIT ?)`,
    );
  const countFiled = countIn('readings');
  const countLanded = countIn('landing');
  const countUpTo = (id: number, from: number, to: number, limit: number): number => {
    const n = countFiled.get(id, from, to, limit)!.n;
    return n >= limit ? n : n + countLanded.get(id, from, to, limit - n)!.n;
  };
  /** Raw buckets of width w from `from` over [a, b], of filed and landed readings. */
  const bucketed = (from: number, w: number, id: number, a: number, b: number): BucketRow[] => {
    const acc = new Map<number, BucketRow>();
    for (const r of bucketedFiled.all(from, w, id, a, b, Number.MAX_SAFE_INTEGER)) addRow(acc, r);
    for (const r of bucketedLanded.all(from, w, id, a, b, Number.MAX_SAFE_INTEGER)) addRow(acc, r);
    return [...acc.values()].sort((x, y) => x.b - y.b);
  };
  // The rollup buckets that lie wholly in [lo, to] and in one query bucket.
  const fromRollup = (table: string) =>
    db.prepare<{ from: number; w: number; g: number; id: number; lo: number; to: number }, BucketRow>(
      `SELECT CAST((bucket_start - @from) / @w AS INTEGER) AS b, sum(count) AS n, sum(bad) AS bad,
              min(min) AS min, max(max) AS max, sum(sum) AS sum
         FROM ${table}
        WHERE sensor_id = @id AND bucket_start >= @lo AND bucket_start <= @to AND bucket_start + @g - 1 <= @to
          AND CAST((bucket_start - @from) / @w AS INTEGER) = CAST((bucket_start + @g - 1 - @from) / @w AS INTEGER)
        GROUP BY b`,
    );
  const rollups = [
    { widthMs: HOUR_MS, stmt: fromRollup('rollup_1h') },
    { widthMs: MINUTE_MS, stmt: fromRollup('rollup_1m') },
  ];

  /** Buckets of width w from `from`, read from the rollup of grain g plus raw readings where it cannot serve. */
  const rolledUp = (id: number, from: number, to: number, w: number, g: number, stmt: (typeof rollups)[number]['stmt']): BucketRow[] => {
    const acc = new Map<number, BucketRow>();
    const fold = (r: BucketRow) => addRow(acc, r);
    const floorG = (t: number) => t - (((t % g) + g) % g);
    const lo = floorG(from) === from ? from : floorG(from) + g;
    for (const r of stmt.all({ from, w, g, id, lo, to })) fold(r);
    // The rollup buckets left out above: the partial ones at both range edges, and, when `from`
    // is off the grain, the one each query bucket boundary cuts.
    const cut = new Set<number>();
    if (lo !== from) cut.add(floorG(from));
    if ((to + 1) % g !== 0) cut.add(floorG(to));
    if (lo !== from) for (let p = from + w; p <= to; p += w) cut.add(floorG(p));
    for (const start of cut) {
      const a = Math.max(start, from);
      const b = Math.min(start + g - 1, to);
      if (a <= b) for (const r of bucketedFiled.all(from, w, id, a, b, Number.MAX_SAFE_INTEGER)) fold(r);
    }
    // Landed readings are in no rollup: all of them in the range, wherever they fall.
    for (const r of bucketedLanded.all(from, w, id, from, to, Number.MAX_SAFE_INTEGER)) fold(r);
    return [...acc.values()].sort((x, y) => x.b - y.b);
  };

  const gapsOf = db.prepare<
    [string, number, number],
    { source: string; start_ms: number; end_ms: number | null; reason: string; backfill: string | null; backfilled_values: number | null }
  >(
    `SELECT g.source, g.start_ms, g.end_ms, g.reason, g.backfill, g.backfilled_values FROM gaps g JOIN sensors s ON s.source = g.source
      WHERE s.name = ? AND g.start_ms <= ? AND (g.end_ms IS NULL OR g.end_ms >= ?) ORDER BY g.start_ms LIMIT 100`,
  );

  return {
    gaps: (sensor, from, to) =>
      gapsOf.all(sensor, to, from).map((g) => ({
        source: g.source,
        start: g.start_ms,
        end: g.end_ms,
        reason: g.reason,
        backfill: g.backfill === null ? null : { outcome: g.backfill, values: g.backfilled_values ?? 0 },
      })),
    listSensors({ prefix = '', limit, after = '' }) {
      return list.all(after, prefix.length, prefix, limit).map((r) => {
        const l = latest.get({ id: r.id });
        return {
          sensor: r.name,
          firstSeen: r.first_seen,
          latest: l ? { ts: l.ts, value: l.value, quality: qualityFromCode(l.quality) } : null,
        };
      });
    },
    sensorExists: (sensor) => idOf.get(sensor) !== undefined,
    // One read transaction, so that a filing committed meanwhile (readings moving from `landing`
    // to `readings`) is seen either wholly or not at all by the several statements below.
    history: (opts) => db.transaction(() => history(opts))(),
  };

  function history({ sensor, maxPoints, bucketWidth, ...range }: Parameters<HistorianQueries['history']>[0]): History {
    const id = idOf.get(sensor)?.id;
    const b = id === undefined ? undefined : extent(id);
    const from = range.from ?? b?.lo ?? 0;
    const to = range.to ?? b?.hi ?? from;
    if (id === undefined) return { sensor, from, to, count: 0, downsampled: false, points: [] };
    const upTo = countUpTo(id, from, to, maxPoints + 1);
    // Raw readings evicted while their rollups stay: answer from the rollups, whole minutes.
    const rawEvicted = upTo <= maxPoints && rawEvictedIn(id, from, to);
    if (upTo <= maxPoints && !rawEvicted) {
      const points = raw.all({ id, from, to }).map((r) => ({ ts: r.ts, value: r.value, quality: qualityFromCode(r.quality) }));
      return { sensor, from, to, count: upTo, downsampled: false, points };
    }
    const width = bucketWidth(to - from + 1, maxPoints);
    const bucketMs = rawEvicted ? Math.ceil(width / MINUTE_MS) * MINUTE_MS : width;
    const rollup = rollups.find((r) => bucketMs % r.widthMs === 0 && (r.widthMs === MINUTE_MS || from % r.widthMs === 0));
    const rows = (rollup ? rolledUp(id, from, to, bucketMs, rollup.widthMs, rollup.stmt) : bucketed(from, bucketMs, id, from, to)).slice(0, maxPoints);
    const buckets = rows.map((r) => ({
      start: from + r.b * bucketMs,
      count: r.n,
      bad: r.bad,
      min: r.min,
      max: r.max,
      avg: r.n > r.bad ? r.sum / (r.n - r.bad) : null,
    }));
    const count = rows.reduce((n, r) => n + r.n, 0);
    return { sensor, from, to, count, downsampled: true, bucketMs, buckets };
  }
}

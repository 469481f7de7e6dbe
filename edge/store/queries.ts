import type { HistoryBucket, HistoryPoint } from '../../shared/mcp/history.js';
import { qualityFromCode, type Quality } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';

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
   */
  history(opts: { sensor: string; from?: number; to?: number; maxPoints: number; bucketWidth: (spanMs: number, maxBuckets: number) => number }): History;
}

export function createHistorianQueries(db: SqliteDb): HistorianQueries {
  const list = db.prepare<[string, number, string, number], { id: number; name: string; first_seen: number }>(
    `SELECT id, name, first_seen FROM sensors
      WHERE name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?`,
  );
  const latest = db.prepare<[number], { ts: number; value: number; quality: number }>(
    'SELECT ts, value, quality FROM readings WHERE sensor_id = ? ORDER BY ts DESC LIMIT 1',
  );
  const idOf = db.prepare<[string], { id: number }>('SELECT id FROM sensors WHERE name = ?');
  const bounds = db.prepare<[number], { lo: number | null; hi: number | null }>(
    'SELECT min(ts) AS lo, max(ts) AS hi FROM readings WHERE sensor_id = ?',
  );
  const countIn = db.prepare<[number, number, number], { n: number }>(
    'SELECT count(*) AS n FROM readings WHERE sensor_id = ? AND ts >= ? AND ts <= ?',
  );
  const raw = db.prepare<[number, number, number], { ts: number; value: number; quality: number }>(
    'SELECT ts, value, quality FROM readings WHERE sensor_id = ? AND ts >= ? AND ts <= ? ORDER BY ts, seq',
  );
  // Parameters bind as REAL, so the division is floored by hand.
  const bucketed = db.prepare<[number, number, number, number, number, number], { b: number; min: number | null; max: number | null; avg: number | null; n: number; bad: number }>(
    `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) AS n, sum(quality = 2) AS bad,
            min(CASE WHEN quality < 2 THEN value END) AS min,
            max(CASE WHEN quality < 2 THEN value END) AS max,
            avg(CASE WHEN quality < 2 THEN value END) AS avg
       FROM readings WHERE sensor_id = ? AND ts >= ? AND ts <= ?
      GROUP BY b ORDER BY b LIMIT ?`,
  );

  return {
    listSensors({ prefix = '', limit, after = '' }) {
      return list.all(after, prefix.length, prefix, limit).map((r) => {
        const l = latest.get(r.id);
        return {
          sensor: r.name,
          firstSeen: r.first_seen,
          latest: l ? { ts: l.ts, value: l.value, quality: qualityFromCode(l.quality) } : null,
        };
      });
    },
    sensorExists: (sensor) => idOf.get(sensor) !== undefined,
    history({ sensor, maxPoints, bucketWidth, ...range }) {
      const id = idOf.get(sensor)?.id;
      const b = id === undefined ? undefined : bounds.get(id);
      const from = range.from ?? b?.lo ?? 0;
      const to = range.to ?? b?.hi ?? from;
      if (id === undefined) return { sensor, from, to, count: 0, downsampled: false, points: [] };
      const count = countIn.get(id, from, to)!.n;
      if (count <= maxPoints) {
        const points = raw.all(id, from, to).map((r) => ({ ts: r.ts, value: r.value, quality: qualityFromCode(r.quality) }));
        return { sensor, from, to, count, downsampled: false, points };
      }
      const bucketMs = bucketWidth(to - from + 1, maxPoints);
      const buckets = bucketed.all(from, bucketMs, id, from, to, maxPoints).map((r) => ({
        start: from + r.b * bucketMs,
        count: r.n,
        bad: r.bad,
        min: r.min,
        max: r.max,
        avg: r.avg,
      }));
      return { sensor, from, to, count, downsampled: true, bucketMs, buckets };
    },
  };
}

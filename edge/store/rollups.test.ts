import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { chooseBucketWidth } from '../../shared/mcp/time-range.js';
import type { Quality, Reading } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';
import { createHistorianQueries } from './queries.js';
import { openStore } from './store.js';

const T0 = Date.UTC(2026, 10, 22, 0); // on an hour
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'mw-rollup-')), 'historian.sqlite');

// Values are multiples of 0.25, so every sum is exact and rollup averages equal raw ones bit for bit.
const quality = (i: number): Quality => (i % 97 === 0 ? 'bad' : i % 13 === 0 ? 'uncertain' : 'good');
const reading = (sensor: string, ts: number, i: number): Reading => ({
  sensor,
  ts,
  value: ((i * 7919) % 4001) * 0.25 - 300,
  quality: quality(i),
  receivedAt: ts + 5,
});

/** Rollup rows recomputed from the raw readings with one GROUP BY. */
function recompute(db: SqliteDb, widthMs: number) {
  return db
    .prepare(
      `SELECT g.*, (SELECT value FROM readings r WHERE r.sensor_id = g.sensor_id AND r.ts = g.last_ts) AS last_value
         FROM (SELECT sensor_id, ts - ts % ${widthMs} AS bucket_start, count(*) AS count, sum(quality = 2) AS bad,
                      min(CASE WHEN quality < 2 THEN value END) AS min, max(CASE WHEN quality < 2 THEN value END) AS max,
                      coalesce(sum(CASE WHEN quality < 2 THEN value END), 0.0) AS sum, min(ts) AS first_ts, max(ts) AS last_ts
                 FROM readings GROUP BY sensor_id, bucket_start) g
        ORDER BY sensor_id, bucket_start`,
    )
    .all();
}
const rollup = (db: SqliteDb, table: string) =>
  db.prepare(`SELECT sensor_id, bucket_start, count, bad, min, max, sum, first_ts, last_ts, last_value FROM ${table} ORDER BY sensor_id, bucket_start`).all();

function expectRollupsMatchReadings(db: SqliteDb) {
  expect(rollup(db, 'rollup_1m')).toEqual(recompute(db, 60_000));
  expect(rollup(db, 'rollup_1h')).toEqual(recompute(db, 3_600_000));
}

/** The history answer computed from raw readings only, as before rollups existed. */
function rawHistory(db: SqliteDb, sensor: string, from: number, to: number, bucketMs: number) {
  const rows = db
    .prepare<[number, number, string, number, number], { b: number; n: number; bad: number; min: number | null; max: number | null; avg: number | null }>(
      `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) AS n, sum(quality = 2) AS bad,
              min(CASE WHEN quality < 2 THEN value END) AS min, max(CASE WHEN quality < 2 THEN value END) AS max,
              avg(CASE WHEN quality < 2 THEN value END) AS avg
         FROM readings JOIN sensors s ON s.id = sensor_id WHERE s.name = ? AND ts >= ? AND ts <= ?
        GROUP BY b ORDER BY b`,
    )
    .all(from, bucketMs, sensor, from, to);
  return rows.map((r) => ({ start: from + r.b * bucketMs, count: r.n, bad: r.bad, min: r.min, max: r.max, avg: r.avg }));
}

describe('rollups', () => {
  it('equal a raw recomputation after batches with duplicates, bad readings and out-of-order times', () => {
    const store = openStore({ file: dbFile() });
    const sensors = ['a/x', 'a/y', 'b/z'];
    let i = 0;
    const earlier: Reading[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const rs: Reading[] = [];
      for (let k = 0; k < 500; k++, i++) rs.push(reading(sensors[i % 3]!, T0 + 20_000 + Math.floor(i / 3) * 7_000, i));
      // Redelivered readings (same sensor and ts, another value): skipped and not counted again.
      if (batch > 0) rs.push(...earlier.slice(-500, -450).map((r) => ({ ...r, value: 1e6 })));
      earlier.push(...rs);
      rs.reverse();
      expect(store.readings.write(rs).duplicates).toBe(batch > 0 ? 50 : 0);
    }
    // A whole redelivered batch, and a bucket holding only bad readings.
    expect(store.readings.write([reading('a/x', T0 + 20_000, 0)]).duplicates).toBe(1);
    store.readings.write([{ sensor: 'c/bad', ts: T0 + 5, value: 1, quality: 'bad', receivedAt: T0 }]);
    store.readings.write([{ sensor: 'c/bad', ts: T0 + 6, value: 2, quality: 'bad', receivedAt: T0 }]);
    store.readings.write([{ sensor: 'c/bad', ts: T0 + 7, value: 3, quality: 'good', receivedAt: T0 }]);
    expectRollupsMatchReadings(store.db);
    const cBad = store.db.prepare(`SELECT count, bad, min, max, sum, last_value FROM rollup_1m r JOIN sensors s ON s.id = r.sensor_id WHERE s.name = 'c/bad'`).get();
    expect(cBad).toEqual({ count: 3, bad: 2, min: 3, max: 3, sum: 3, last_value: 3 });
    store.close();
  });

  it('are folded from the readings of an upgraded historian by the migration', () => {
    const file = dbFile();
    const old = new Database(file);
    old.exec(readFileSync(new URL('./migrations/001_init.sql', import.meta.url), 'utf8'));
    old.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    old.prepare("INSERT INTO schema_migrations VALUES ('001_init.sql', 0)").run();
    old.prepare("INSERT INTO sensors (id, name, first_seen) VALUES (1, 'a/x', 0), (2, 'a/y', 0)").run();
    const ins = old.prepare('INSERT INTO readings (sensor_id, ts, value, quality, received_at) VALUES (?, ?, ?, ?, ?)');
    old.transaction(() => {
      for (let i = 0; i < 9000; i++) {
        const r = reading('', T0 + i * 1_700, i);
        ins.run(1 + (i % 2), r.ts, r.value, { good: 0, uncertain: 1, bad: 2 }[r.quality], r.receivedAt);
      }
    })();
    old.close();

    const store = openStore({ file });
    expect(store.db.prepare('SELECT count(*) AS n FROM rollup_1h').get()).toEqual({ n: 10 });
    expectRollupsMatchReadings(store.db);
    // Ingest after the upgrade adds to the folded buckets.
    store.readings.write(Array.from({ length: 3000 }, (_, k) => reading(k % 2 ? 'a/x' : 'a/new', T0 + 4 * 3_600_000 + k * 999 + 1, k)));
    expectRollupsMatchReadings(store.db);
    store.close();
  });

  it('answer long history queries with the same buckets as the raw readings (3 days at 1 Hz)', () => {
    const store = openStore({ file: dbFile() });
    const start = T0 + 17_250; // off the minute, like most sensors' first reading
    const n = 3 * 86_400;
    for (let k = 0; k < n; k += 20_000) {
      store.readings.write(Array.from({ length: Math.min(20_000, n - k) }, (_, j) => reading('p/t', start + (k + j) * 1000, k + j)));
    }
    const q = createHistorianQueries(store.db);
    const last = start + (n - 1) * 1000;
    const cases: { from?: number; to?: number; maxPoints: number }[] = [
      { maxPoints: 1000 }, // all of it, from off the minute: 5 min buckets
      { maxPoints: 100 }, // 1 h multiple, from off the hour: rollup_1m plus cut edges
      { from: T0, to: T0 + 2 * 86_400_000 - 1, maxPoints: 48 }, // aligned: rollup_1h only
      { from: T0 + 3 * 3_600_000, to: T0 + 2 * 86_400_000 + 1_805_000, maxPoints: 100 }, // aligned from, cut last hour
      { from: T0 + 12_345, to: T0 + 86_400_000 + 999, maxPoints: 500 }, // off the second
      { from: T0 + 60_000, to: last, maxPoints: 10 }, // 12 h buckets
      { from: T0, to: T0 + 600_000, maxPoints: 100 }, // 6 s buckets: raw
    ];
    for (const c of cases) {
      const h = q.history({ sensor: 'p/t', ...c, bucketWidth: chooseBucketWidth });
      const from = c.from ?? start;
      const to = c.to ?? last;
      expect(h.downsampled).toBe(true);
      if (!h.downsampled) continue;
      const want = rawHistory(store.db, 'p/t', from, to, h.bucketMs);
      expect({ ...c, buckets: h.buckets }).toEqual({ ...c, buckets: want });
      expect(h.count).toBe(want.reduce((s, b) => s + b.count, 0));
      expect({ from: h.from, to: h.to }).toEqual({ from, to });
    }
    store.close();
  }, 60_000);

  it('answer from the rollups where the raw readings were evicted (retention, disk budget)', () => {
    const store = openStore({ file: dbFile() });
    // 2 hours at 1 Hz from the hour; then the first hour's raw readings go.
    store.readings.write(Array.from({ length: 7200 }, (_, i) => reading('p/t', T0 + i * 1000, i)));
    store.db.prepare('DELETE FROM readings WHERE ts < ?').run(T0 + 3_600_000);
    const q = createHistorianQueries(store.db);
    // 30 minutes of the evicted hour: no raw reading left, 30 one-minute buckets from the rollups.
    const h = q.history({ sensor: 'p/t', from: T0, to: T0 + 1_800_000 - 1, maxPoints: 1000, bucketWidth: chooseBucketWidth });
    expect(h.downsampled).toBe(true);
    if (!h.downsampled) return;
    expect(h.bucketMs).toBe(60_000);
    expect(h.count).toBe(1800);
    expect(h.buckets).toHaveLength(30);
    expect(h.buckets.every((b, k) => b.start === T0 + k * 60_000 && b.count === 60)).toBe(true);
    // "All of it" starts at the rollups' first bucket, not at the first raw reading left.
    const all = q.history({ sensor: 'p/t', maxPoints: 200, bucketWidth: chooseBucketWidth });
    expect(all.from).toBe(T0);
    expect(all.count).toBe(7200);
    store.close();
  });
});

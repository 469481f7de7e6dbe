import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Quality } from '../../shared/reading.js';
import { silentLogger } from '../../shared/log.js';
import type { SequencedReading } from '../../shared/sync-codec.js';
import { openDatabase, type Database } from './connect.js';
import { registerGateway } from './gateways.js';
import { migrate } from './migrate.js';
import { insertReadings } from './readings.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

// Cloud rollups (migrations 003 on TimescaleDB, 004 on plain PostgreSQL): the same buckets as
// aggregating the raw readings, whichever the database.

const serverUrl = process.env.MILLWRIGHT_TEST_PG_URL;
let testDb: TestDatabase;
let db: Database;
const T0 = Date.UTC(2026, 10, 20, 0); // on an hour
const GW = 'rollup-gw';

beforeAll(async () => {
  testDb = await createTestDatabase({ serverUrl });
  db = await openDatabase(testDb.config, silentLogger);
  await migrate(db.pool, { timescale: db.timescale, log: silentLogger });
  await registerGateway(db.pool, { id: GW, site: 'plant1', token: 'rollup-token-0123456789abcdef' });
});

afterAll(async () => {
  await db?.close();
  await testDb?.cleanup();
});

/** The buckets computed straight from the raw readings. */
async function raw(width: string) {
  const r = await db.pool.query(
    `SELECT sensor, date_bin(INTERVAL '${width}', time, TIMESTAMPTZ '2000-01-01') AS bucket, count(*)::int AS count,
            (count(*) FILTER (WHERE quality = 2))::int AS bad,
            min(value) FILTER (WHERE quality < 2) AS min, max(value) FILTER (WHERE quality < 2) AS max,
            coalesce(sum(value) FILTER (WHERE quality < 2), 0) AS sum
       FROM readings WHERE gateway = $1 GROUP BY sensor, bucket ORDER BY sensor, bucket`,
    [GW],
  );
  return r.rows;
}
async function rolled(view: string) {
  const r = await db.pool.query(
    `SELECT sensor, bucket, count::int AS count, bad::int AS bad, min, max, sum FROM ${view} WHERE gateway = $1 ORDER BY sensor, bucket`,
    [GW],
  );
  return r.rows;
}

describe(`cloud rollups (${serverUrl ? 'PostgreSQL server' : 'embedded PGlite-TimescaleDB'})`, () => {
  it('readings_1m and readings_1h equal the raw aggregation, before and after a refresh, with late data', async () => {
    // 3 hours of 2 sensors at 10 s, from off the minute; multiples of 0.25 keep the sums exact.
    const rows: SequencedReading[] = [];
    let seq = 1;
    const quality = (i: number): Quality => (i % 17 === 0 ? 'bad' : 'good');
    for (let i = 0; i < 3 * 360; i++) {
      for (const sensor of ['a/x', 'a/y']) {
        const ts = T0 + 7_000 + i * 10_000;
        rows.push({ seq: seq++, sensor, ts, value: ((i * 37) % 400) * 0.25, quality: quality(i), receivedAt: ts });
      }
    }
    await insertReadings(db.pool, GW, rows);
    // Not materialized yet: real-time aggregation (or the plain view) answers all the same.
    expect(await rolled('readings_1m')).toEqual(await raw('1 minute'));
    if (db.timescale) {
      await db.pool.query("CALL refresh_continuous_aggregate('readings_1m', NULL, NULL)");
      await db.pool.query("CALL refresh_continuous_aggregate('readings_1h', NULL, NULL)");
    }
    expect(await rolled('readings_1m')).toEqual(await raw('1 minute'));
    expect(await rolled('readings_1h')).toEqual(await raw('1 hour'));
    expect((await rolled('readings_1h')).length).toBe(2 * 3);

    // A gateway back from an outage sends readings into buckets already materialized.
    await insertReadings(db.pool, GW, [{ seq: seq++, sensor: 'a/x', ts: T0 + 65_500, value: 1000, quality: 'good', receivedAt: Date.now() }]);
    if (db.timescale) await db.pool.query("CALL refresh_continuous_aggregate('readings_1m', NULL, NULL)");
    expect(await rolled('readings_1m')).toEqual(await raw('1 minute'));
  });

  it('on TimescaleDB: compression by gateway and sensor, and the policies are scheduled', async () => {
    if (!db.timescale) {
      // Plain PostgreSQL: the views stand in, and the database says what it lacks.
      const m = await db.pool.query<{ name: string; outcome: string }>("SELECT name, outcome FROM schema_migrations WHERE name IN ('003_rollups.sql', '004_rollups_plain.sql') ORDER BY name");
      expect(m.rows).toEqual([
        { name: '003_rollups.sql', outcome: 'skipped' },
        { name: '004_rollups_plain.sql', outcome: 'applied' },
      ]);
      return;
    }
    const seg = await db.pool.query<{ attname: string; segmentby_column_index: number | null }>(
      "SELECT attname, segmentby_column_index FROM timescaledb_information.compression_settings WHERE hypertable_name = 'readings' AND segmentby_column_index IS NOT NULL ORDER BY segmentby_column_index",
    );
    expect(seg.rows.map((r) => r.attname)).toEqual(['gateway', 'sensor']);
    const jobs = await db.pool.query<{ proc_name: string; hypertable_name: string }>(
      "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs WHERE proc_name IN ('policy_compression', 'policy_retention', 'policy_refresh_continuous_aggregate') ORDER BY proc_name, hypertable_name",
    );
    expect(jobs.rows.map((j) => j.proc_name)).toEqual(['policy_compression', 'policy_refresh_continuous_aggregate', 'policy_refresh_continuous_aggregate', 'policy_retention']);
    // Compressed chunks still answer, and late readings still go in.
    await db.pool.query("SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('readings') c");
    await insertReadings(db.pool, GW, [{ seq: 100_000, sensor: 'a/y', ts: T0 + 125_000, value: 7, quality: 'good', receivedAt: Date.now() }]);
    await db.pool.query("CALL refresh_continuous_aggregate('readings_1m', NULL, NULL)");
    expect(await rolled('readings_1m')).toEqual(await raw('1 minute'));
  });
});

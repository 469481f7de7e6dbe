import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded.js';
import { DataDirInUseError } from './lockfile.js';
import { migrate } from './migrate.js';

let dir: string;
let embedded: EmbeddedDatabase | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mw-embedded-'));
  embedded = await startEmbeddedDatabase(join(dir, 'pglite'), silentLogger);
});

afterAll(async () => {
  await embedded?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function withClient<T>(body: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: embedded!.url });
  await c.connect();
  try {
    return await body(c);
  } finally {
    await c.end();
  }
}

describe('embedded PGlite over a local socket', () => {
  it('refuses a second open of the same data directory', async () => {
    await expect(startEmbeddedDatabase(join(dir, 'pglite'), silentLogger)).rejects.toBeInstanceOf(DataDirInUseError);
  });

  it('serves one connection at a time; the next waits its turn', async () => {
    await withClient((c) => c.query('CREATE TABLE t (v int)'));
    const first = new pg.Client({ connectionString: embedded!.url });
    await first.connect();
    const second = new pg.Client({ connectionString: embedded!.url });
    const secondReady = second.connect().then(() => second.query('SELECT count(*)::int AS n FROM t'));
    await first.query('INSERT INTO t VALUES (1)');
    await first.end();
    expect((await secondReady).rows[0]).toEqual({ n: 1 });
    await second.end();
  });

  it('rolls back a transaction whose client vanished, so the next connection starts clean', async () => {
    const lost = new pg.Client({ connectionString: embedded!.url });
    lost.on('error', () => {}); // the cut below is deliberate
    await lost.connect();
    await lost.query('BEGIN');
    await lost.query('INSERT INTO t VALUES (2)');
    // Cut the socket without COMMIT, as a crashed process would.
    (lost as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await withClient(async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 1 });
      await c.query('BEGIN');
      await c.query('COMMIT');
    });
  });

  it('applies a TimescaleDB migration skipped earlier once TimescaleDB is there, keeping the rows', async () => {
    const pool = new pg.Pool({ connectionString: embedded!.url, max: 1 });
    try {
      const plain = await migrate(pool, { timescale: false, log: silentLogger });
      expect(plain).toEqual({ applied: ['001_init.sql', '004_rollups_plain.sql', '005_gateway_status_alarms.sql', '006_pushback.sql'], skipped: ['002_timescale.sql', '003_rollups.sql'], alreadyApplied: [] });
      await pool.query(`INSERT INTO readings (time, gateway, sensor, value, received_at) VALUES (now(), 'g', 's', 1, now())`);
      await pool.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      const later = await migrate(pool, { timescale: true, log: silentLogger });
      // The plain views give way to continuous aggregates of the same names.
      expect(later).toEqual({ applied: ['002_timescale.sql', '003_rollups.sql'], skipped: [], alreadyApplied: ['001_init.sql', '004_rollups_plain.sql', '005_gateway_status_alarms.sql', '006_pushback.sql'] });
      expect((await pool.query('SELECT sum(count)::int AS n FROM readings_1m')).rows[0]).toEqual({ n: 1 });
      const hyper = await pool.query(`SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'`);
      expect(hyper.rowCount).toBe(1);
      expect((await pool.query('SELECT count(*)::int AS n FROM readings')).rows[0]).toEqual({ n: 1 });
    } finally {
      await pool.end();
    }
  });

  it('keeps the data across a restart', async () => {
    await embedded!.stop();
    embedded = undefined;
    embedded = await startEmbeddedDatabase(join(dir, 'pglite'), silentLogger);
    await withClient(async (c) => expect((await c.query('SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 1 }));
  });

  it('takes readings into the hypertable and its continuous aggregates after a restart', async () => {
    // The earlier test migrated this database (readings_1m and readings_1h exist); the restart
    // above reopened it. Inserts used to fail here: TimescaleDB's license module loads lazily.
    await withClient(async (c) => {
      await c.query(`INSERT INTO readings (time, gateway, sensor, value, received_at) VALUES (now(), 'g', 's', 2, now())`);
      expect((await c.query('SELECT sum(count)::int AS n FROM readings_1m')).rows[0]).toEqual({ n: 2 });
    });
  });
});

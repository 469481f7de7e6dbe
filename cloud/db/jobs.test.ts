import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { openDatabase, type Database } from './connect.js';
import { startJobRunner } from './jobs.js';
import { migrate } from './migrate.js';

/**
 * The embedded PGlite has no background workers, so TimescaleDB's policies would never run there;
 * the cloud's job runner runs them. Checked by what a policy does: retention drops old readings.
 */
describe('TimescaleDB jobs on the embedded database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-jobs-'));
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: join(dir, 'pglite'), poolSize: 1 }, silentLogger);
    await migrate(db.pool, { timescale: db.timescale, log: silentLogger });
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs each policy once per its interval: retention drops readings past 365 days, keeps the rest', async () => {
    expect(db.timescale).toBe(true);
    await db.pool.query(
      `INSERT INTO readings (time, gateway, sensor, value, received_at)
       VALUES (now() - interval '400 days', 'g', 'old', 1, now()), (now() - interval '1 hour', 'g', 'new', 2, now())`,
    );
    const runner = startJobRunner(db.pool, silentLogger, { tickMs: 3_600_000 });
    try {
      const now = Date.now();
      const ran = await runner.runDue(now);
      const jobs = await db.pool.query<{ job_id: number; proc_name: string }>('SELECT job_id, proc_name FROM timescaledb_information.jobs WHERE scheduled');
      expect(ran.sort()).toEqual(jobs.rows.map((j) => j.job_id).sort());
      expect(jobs.rows.map((j) => j.proc_name)).toEqual(expect.arrayContaining(['policy_retention', 'policy_compression', 'policy_refresh_continuous_aggregate']));
      expect((await db.pool.query('SELECT sensor FROM readings ORDER BY sensor')).rows).toEqual([{ sensor: 'new' }]);
      // Nothing is due again at once; the 1-minute refresh is two minutes later, retention (daily) is not.
      expect(await runner.runDue(now + 1000)).toEqual([]);
      const frequent = await db.pool.query<{ job_id: number }>(
        `SELECT job_id FROM timescaledb_information.jobs WHERE scheduled AND schedule_interval <= interval '2 minutes' ORDER BY job_id`,
      );
      expect(frequent.rows.length).toBeGreaterThan(0);
      expect((await runner.runDue(now + 120_000)).sort()).toEqual(frequent.rows.map((j) => j.job_id));
    } finally {
      await runner.stop();
    }
  });
});

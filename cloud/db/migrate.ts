import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';

/**
 * Numbered .sql files, applied in order, each in its own transaction together with its record in
 * schema_migrations. A file whose first lines say `-- millwright: requires timescaledb` is
 * skipped on plain PostgreSQL and recorded as skipped, so the database says what it lacks; it is
 * applied on a later start once TimescaleDB is installed.
 */
export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

const FILE_NAME = /^(\d{3,})_[a-z0-9_]+\.sql$/;
const TIMESCALE_MARKER = /^--\s*millwright:\s*requires timescaledb\s*$/m;
/** The plain-PostgreSQL stand-in for what a TimescaleDB migration provides; skipped with TimescaleDB. */
const PLAIN_MARKER = /^--\s*millwright:\s*without timescaledb\s*$/m;
// Any constant works; it only has to be the same in every replica that may migrate at once.
const MIGRATION_LOCK = 7_361_004_211;

export interface MigrationFile {
  name: string;
  sql: string;
  requiresTimescale: boolean;
  /** Only where TimescaleDB is absent (a stand-in for a `requires timescaledb` file). */
  withoutTimescale: boolean;
}

export interface MigrationReport {
  /** Applied by this run. */
  applied: string[];
  /** Not applied because TimescaleDB is missing (this run or an earlier one). */
  skipped: string[];
  /** Applied by an earlier run. */
  alreadyApplied: string[];
}

export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => FILE_NAME.test(n)).sort();
  if (names.length === 0) throw new Error(`no migration files in ${dir.pathname} (was the build's copy-assets step run?)`);
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(new URL(name, dir), 'utf8');
      const head = sql.split('\n').slice(0, 5).join('\n');
      return { name, sql, requiresTimescale: TIMESCALE_MARKER.test(head), withoutTimescale: PLAIN_MARKER.test(head) };
    }),
  );
}

export interface MigrateOptions {
  timescale: boolean;
  log: Logger;
  dir?: URL;
}

export async function migrate(pool: pg.Pool, opts: MigrateOptions): Promise<MigrationReport> {
  const files = await readMigrations(opts.dir);
  const report: MigrationReport = { applied: [], skipped: [], alreadyApplied: [] };
  const client = await pool.connect();
  try {
    // Two replicas starting together must not both apply 001: the second waits, then finds it done.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name       text PRIMARY KEY,
      outcome    text NOT NULL CHECK (outcome IN ('applied', 'skipped')),
      reason     text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Map(
      (await client.query<{ name: string; outcome: string }>('SELECT name, outcome FROM schema_migrations')).rows.map((r) => [
        r.name,
        r.outcome,
      ]),
    );
    for (const file of files) {
      const outcome = done.get(file.name);
      if (outcome === 'applied') {
        report.alreadyApplied.push(file.name);
        continue;
      }
      if (file.requiresTimescale && !opts.timescale) {
        if (outcome === undefined) {
          await client.query(`INSERT INTO schema_migrations (name, outcome, reason) VALUES ($1, 'skipped', $2)`, [
            file.name,
            'TimescaleDB is not installed in this database',
          ]);
        }
        report.skipped.push(file.name);
        opts.log.warn('migration_skipped', { name: file.name, reason: 'needs TimescaleDB' });
        continue;
      }
      if (file.withoutTimescale && opts.timescale) {
        if (outcome === undefined) {
          await client.query(`INSERT INTO schema_migrations (name, outcome, reason) VALUES ($1, 'skipped', $2)`, [
            file.name,
            'TimescaleDB provides this',
          ]);
        }
        report.skipped.push(file.name);
        continue;
      }
      await applyOne(client, file);
      report.applied.push(file.name);
      opts.log.info('migration_applied', { name: file.name });
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return report;
}

async function applyOne(client: pg.PoolClient, file: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    // No parameters: the simple query protocol runs every statement of the file.
    await client.query(file.sql);
    await client.query(
      `INSERT INTO schema_migrations (name, outcome, reason) VALUES ($1, 'applied', NULL)
       ON CONFLICT (name) DO UPDATE SET outcome = 'applied', reason = NULL, updated_at = now()`,
      [file.name],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
  }
}

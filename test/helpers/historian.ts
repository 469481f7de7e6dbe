import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Reads an agent's historian the way an auditor would: the SQLite file itself, read-only (WAL
 * lets it read while the agent writes, and after a `kill -9` the WAL holds the last commits).
 * Only the schema of edge/store/migrations is relied on, not the store's code.
 */
export interface StoredReading {
  sensor: string;
  ts: number;
  value: number;
  quality: number;
}

export interface DeadLetterRow {
  source: string;
  topic: string | null;
  reason: string;
  /** Bytes kept (capped). */
  rawLength: number;
  /** Size of the message before capping. */
  rawBytes: number;
}

export const historianPath = (dataDir: string): string => join(dataDir, 'historian.sqlite');

function withDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(historianPath(dataDir), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

// A committed reading is filed (`readings`) or landed and not yet filed (`landing`,
// edge/store/migrations/007_landing.sql); never both.
const COMMITTED = 'SELECT sensor_id, ts, value, quality FROM readings UNION ALL SELECT sensor_id, ts, value, quality FROM landing';

/** Every committed reading, filed or landed, with its sensor's name. */
export function storedReadings(dataDir: string): StoredReading[] {
  return withDb(dataDir, (db) =>
    db.prepare(`SELECT s.name AS sensor, r.ts, r.value, r.quality FROM (${COMMITTED}) r JOIN sensors s ON s.id = r.sensor_id ORDER BY s.name, r.ts`).all() as StoredReading[],
  );
}

/** Count of committed readings: cheap enough to poll; grows with every commit that wrote a row. */
export function readingCount(dataDir: string): number {
  return withDb(dataDir, (db) => (db.prepare('SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM landing) AS n').get() as { n: number }).n);
}

export function deadLetterRows(dataDir: string): DeadLetterRow[] {
  return withDb(dataDir, (db) =>
    db.prepare('SELECT source, topic, reason, length(raw) AS rawLength, raw_bytes AS rawBytes FROM dead_letters ORDER BY id').all() as DeadLetterRow[],
  );
}

/**
 * Polls `count` (e.g. readingCount) until it reaches `target`, has not grown for `stallMs`, or
 * `timeoutMs` have passed: an agent still draining a backlog gets its time, a lost reading does
 * not cost the whole timeout. The caller asserts on what is there afterwards.
 */
export async function untilStalled(count: () => number, target: number, stallMs = 5000, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let lastGrowth = Date.now();
  for (;;) {
    const n = count();
    if (n >= target || Date.now() > deadline) return;
    if (n > last) [last, lastGrowth] = [n, Date.now()];
    else if (Date.now() - lastGrowth > stallMs) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `sensor@ts`: a reading's identity (the historian keeps one per sensor and source timestamp). */
export const readingKey = (sensor: string, ts: number): string => `${sensor}@${ts}`;

/**
 * What a test asserts about a historian against what a publisher sent and saw acknowledged:
 * acknowledged but missing, stored twice, stored but never sent, stored with another value.
 */
export interface HistorianAudit {
  stored: number;
  missing: string[];
  duplicates: string[];
  unknown: string[];
  wrongValue: string[];
}

export function auditHistorian(rows: readonly StoredReading[], sent: ReadonlyMap<string, number>, acked: Iterable<string>): HistorianAudit {
  const byKey = new Map<string, number>();
  const duplicates: string[] = [];
  const unknown: string[] = [];
  const wrongValue: string[] = [];
  for (const r of rows) {
    const k = readingKey(r.sensor, r.ts);
    if (byKey.has(k)) duplicates.push(k);
    byKey.set(k, r.value);
    const v = sent.get(k);
    if (v === undefined) unknown.push(k);
    else if (v !== r.value) wrongValue.push(`${k}: sent ${v}, stored ${r.value}`);
  }
  const missing: string[] = [];
  for (const k of acked) if (!byKey.has(k)) missing.push(k);
  return { stored: rows.length, missing, duplicates, unknown, wrongValue };
}

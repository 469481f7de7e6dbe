import type { Reading } from '../../shared/reading.js';
import { qualityCode } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';
import { createRollupWriter, RollupBatch } from './rollups.js';

export interface WriteResult {
  written: number;
  /** Readings already stored for the same sensor and source timestamp, not stored again. */
  duplicates: number;
}

/** What one filing moved from `landing` into `readings` (migrations/007_landing.sql). */
export interface FileResult {
  filed: number;
  /** Distinct sensors among them: the index leaves and rollup rows the filing touched. */
  sensors: number;
}

/** What is landed and not yet filed: what a filing would cost and how long it has waited. */
export interface Landed {
  rows: number;
  sensors: number;
  /** When the oldest landed row was committed (by the writer's clock, or when it was opened); null if none. */
  since: number | null;
}

export interface ReadingWriter {
  /**
   * Commits all readings in one transaction (a savepoint when called inside `transaction`).
   * Throws if they were not committed. With `deferFiling`, they are committed to `landing` and
   * reach `readings`, their seq and the rollups at the next `file()`; otherwise they go straight
   * to `readings` with their rollups.
   */
  write(readings: readonly Reading[], source?: string): WriteResult;
  /** Moves every landed reading into `readings`, with its seq and its rollups, in one transaction. */
  file(): FileResult;
  landed(): Landed;
  /**
   * Runs `fn` (which may call `write` and other statements) in one transaction: the group commit
   * of the writer thread. If it throws or the COMMIT fails, the writer's cached sensor ids and
   * next seq are taken back with the rows.
   */
  transaction<T>(fn: () => T): T;
}

/** sensor_id, ts, value, quality, received_at */
type LandedRow = [number, number, number, number, number];

const FILING_PAGE = 2000;

export function createReadingWriter(db: SqliteDb, opts: { deferFiling?: boolean; clock?: () => number } = {}): ReadingWriter {
  const clock = opts.clock ?? Date.now;
  const sensorIds = new Map<string, number>();
  for (const row of db.prepare<[], { id: number; name: string }>('SELECT id, name FROM sensors').iterate()) {
    sensorIds.set(row.name, row.id);
  }
  const insertSensor = db.prepare<[string, number, string | null]>('INSERT INTO sensors (name, first_seen, source) VALUES (?, ?, ?)');
  // Only a uniqueness conflict is skipped (ON CONFLICT DO NOTHING); OR IGNORE would also swallow
  // NOT NULL violations. A reading already filed is looked up first (a read, not a write), unless
  // it is newer than anything filed for its sensor, as live values are.
  const isFiled = db.prepare<[number, number], number>('SELECT 1 FROM readings WHERE sensor_id = ? AND ts = ?').pluck();
  const maxFiledTs = db.prepare<[number], number | null>('SELECT max(ts) FROM readings WHERE sensor_id = ?').pluck();
  // Per sensor, a ts at or above the newest filed one (never below: deletes only lower it).
  const newestFiled = new Map<number, number>();
  const filedBefore = (id: number, ts: number): boolean => {
    let newest = newestFiled.get(id);
    if (newest === undefined) newestFiled.set(id, (newest = maxFiledTs.get(id) ?? Number.NEGATIVE_INFINITY));
    return ts <= newest && isFiled.get(id, ts) !== undefined;
  };
  const land = db.prepare<[number, number, number, number, number]>(
    `INSERT INTO landing (sensor_id, ts, value, quality, received_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (sensor_id, ts) DO NOTHING`,
  );
  // The seq is assigned here, not by AUTOINCREMENT: SQLite takes a rowid even for a row that the
  // conflict clause then skips, which would leave holes in the stream.
  const insertReading = db.prepare<[number, number, number, number, number, number]>(
    `INSERT INTO readings (seq, sensor_id, ts, value, quality, received_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (sensor_id, ts) DO NOTHING`,
  );
  // In (sensor, ts) order, so each index leaf and rollup row is visited once per filing; in pages,
  // because the connection cannot insert while a statement iterates.
  const landedPage = db
    .prepare<[number, number, number], LandedRow>(
      `SELECT sensor_id, ts, value, quality, received_at FROM landing
        WHERE (sensor_id, ts) > (?, ?) ORDER BY sensor_id, ts LIMIT ?`,
    )
    .raw();
  const clearLanding = db.prepare('DELETE FROM landing');
  // sqlite_sequence remembers the largest seq ever used, also after retention deletes rows.
  const lastUsed = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").get()?.seq ?? 0;
  let nextSeq = lastUsed + 1;
  const rollups = createRollupWriter(db);
  // Sensor names inserted since the outermost transaction began, to forget them if it rolls back.
  const added: string[] = [];
  // What is landed; rebuilt from the table, so a crash's leftovers are filed like any others.
  let landedCount = 0;
  let landedSensors = new Set<number>();
  let landedSince: number | null = null;
  for (const r of db.prepare<[], { sensor_id: number }>('SELECT DISTINCT sensor_id FROM landing').iterate()) landedSensors.add(r.sensor_id);
  landedCount = db.prepare<[], number>('SELECT count(*) FROM landing').pluck().get() ?? 0;
  if (landedCount > 0) landedSince = clock();

  const sensorId = (name: string, now: number, source: string | null): number => {
    let id = sensorIds.get(name);
    if (id === undefined) {
      id = Number(insertSensor.run(name, now, source).lastInsertRowid);
      sensorIds.set(name, id);
      added.push(name);
    }
    return id;
  };

  const landAll = (readings: readonly Reading[], source: string | null): { written: number; sensors: number[] } => {
    let written = 0;
    const sensors: number[] = [];
    for (const r of readings) {
      const id = sensorId(r.sensor, r.receivedAt, source);
      if (filedBefore(id, r.ts)) continue;
      const changes = land.run(id, r.ts, r.value, qualityCode(r.quality), r.receivedAt).changes;
      written += changes;
      if (changes === 1) sensors.push(id);
    }
    return { written, sensors };
  };

  /** Inserts one reading with the next seq; 1 if stored, 0 if that sensor and ts already were. */
  const insert = (batch: RollupBatch, id: number, ts: number, value: number, quality: number, receivedAt: number): number => {
    const changes = insertReading.run(nextSeq, id, ts, value, quality, receivedAt).changes;
    nextSeq += changes;
    // Only a reading actually inserted counts: a skipped duplicate is already in its bucket.
    if (changes === 1) batch.add(id, ts, value, quality);
    return changes;
  };

  /** Without deferred filing: straight into `readings`, seqs in arrival order. */
  const writeAll = (readings: readonly Reading[], source: string | null): WriteResult => {
    const batch = new RollupBatch();
    let written = 0;
    for (const r of readings) written += insert(batch, sensorId(r.sensor, r.receivedAt, source), r.ts, r.value, qualityCode(r.quality), r.receivedAt);
    rollups.apply(batch);
    return { written, duplicates: readings.length - written };
  };

  /** Landed readings into `readings`: seqs in (sensor, ts) order within one filing. */
  const fileAll = (): FileResult => {
    const batch = new RollupBatch();
    let filed = 0;
    let after: LandedRow = [-1, Number.MIN_SAFE_INTEGER, 0, 0, 0];
    for (;;) {
      const page = landedPage.all(after[0], after[1], FILING_PAGE) as unknown as LandedRow[];
      for (const [id, ts, value, quality, receivedAt] of page) {
        filed += insert(batch, id, ts, value, quality, receivedAt);
        if (ts > (newestFiled.get(id) ?? Number.NEGATIVE_INFINITY)) newestFiled.set(id, ts);
      }
      if (page.length < FILING_PAGE) break;
      after = page[page.length - 1]!;
    }
    rollups.apply(batch);
    clearLanding.run();
    return { filed, sensors: batch.sensors };
  };

  /** New sensor ids and seqs are taken back if the (sub)transaction fails: no stale id, no hole. */
  function guarded<T>(fn: () => T): T {
    const startSeq = nextSeq;
    const mark = added.length;
    const outermost = !db.inTransaction;
    try {
      return db.transaction(fn)();
    } catch (err) {
      for (const name of added.splice(mark)) sensorIds.delete(name);
      nextSeq = startSeq;
      throw err;
    } finally {
      if (outermost) added.length = 0;
    }
  }

  return {
    write(readings, source) {
      if (readings.length === 0) return { written: 0, duplicates: 0 };
      if (!opts.deferFiling) return guarded(() => writeAll(readings, source ?? null));
      const { written, sensors } = guarded(() => landAll(readings, source ?? null));
      // Only steers when to file: a group commit that fails after this and is retried call by
      // call counts its readings twice, which at worst files a little early.
      if (written > 0) {
        landedCount += written;
        for (const id of sensors) landedSensors.add(id);
        landedSince ??= clock();
      }
      return { written, duplicates: readings.length - written };
    },
    file() {
      const result = guarded(fileAll);
      landedCount = 0;
      landedSensors = new Set();
      landedSince = null;
      return result;
    },
    landed: () => ({ rows: landedCount, sensors: landedSensors.size, since: landedSince }),
    transaction: guarded,
  };
}

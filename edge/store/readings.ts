import type { Reading } from '../../shared/reading.js';
import { qualityCode } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';
import { createRollupWriter, RollupBatch } from './rollups.js';

export interface WriteResult {
  written: number;
  /** Readings already stored for the same sensor and source timestamp, not stored again. */
  duplicates: number;
}

export interface ReadingWriter {
  /**
   * Commits all readings, and the 1-minute and 1-hour rollups they update, in one transaction
   * (a savepoint when called inside `transaction`). Throws if they were not committed.
   */
  write(readings: readonly Reading[], source?: string): WriteResult;
  /**
   * Runs `fn` (which may call `write` and other statements) in one transaction: the group commit
   * of the writer thread. If it throws or the COMMIT fails, the writer's cached sensor ids and
   * next seq are taken back with the rows.
   */
  transaction<T>(fn: () => T): T;
}

export function createReadingWriter(db: SqliteDb): ReadingWriter {
  const sensorIds = new Map<string, number>();
  for (const row of db.prepare<[], { id: number; name: string }>('SELECT id, name FROM sensors').iterate()) {
    sensorIds.set(row.name, row.id);
  }
  const insertSensor = db.prepare<[string, number, string | null]>('INSERT INTO sensors (name, first_seen, source) VALUES (?, ?, ?)');
  // The seq is assigned here, not by AUTOINCREMENT: SQLite takes a rowid even for a row that the
  // conflict clause then skips, which would leave holes in the stream. Only a uniqueness conflict
  // is skipped (ON CONFLICT DO NOTHING); OR IGNORE would also swallow NOT NULL violations.
  const insertReading = db.prepare<[number, number, number, number, number, number]>(
    `INSERT INTO readings (seq, sensor_id, ts, value, quality, received_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (sensor_id, ts) DO NOTHING`,
  );
  // sqlite_sequence remembers the largest seq ever used, also after retention deletes rows.
  const lastUsed = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").get()?.seq ?? 0;
  let nextSeq = lastUsed + 1;
  const rollups = createRollupWriter(db);
  // Sensor names inserted since the outermost transaction began, to forget them if it rolls back.
  const added: string[] = [];

  const sensorId = (name: string, now: number, source: string | null): number => {
    let id = sensorIds.get(name);
    if (id === undefined) {
      id = Number(insertSensor.run(name, now, source).lastInsertRowid);
      sensorIds.set(name, id);
      added.push(name);
    }
    return id;
  };

  const writeAll = (readings: readonly Reading[], source: string | null): WriteResult => {
    let written = 0;
    const batch = new RollupBatch();
    for (const r of readings) {
      const id = sensorId(r.sensor, r.receivedAt, source);
      const quality = qualityCode(r.quality);
      const changes = insertReading.run(nextSeq, id, r.ts, r.value, quality, r.receivedAt).changes;
      nextSeq += changes;
      written += changes;
      // Only a reading actually inserted counts: a skipped duplicate is already in its bucket.
      if (changes === 1) batch.add(id, r.ts, r.value, quality);
    }
    rollups.apply(batch);
    return { written, duplicates: readings.length - written };
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
      return guarded(() => writeAll(readings, source ?? null));
    },
    transaction: guarded,
  };
}

import type { Reading } from '../../shared/reading.js';
import { qualityCode } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';
import { FILING, type Landed } from './filing.js';
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
  /** Landed readings left after `cursor`, for the next part (file() was given a row limit). */
  more: boolean;
  /** The (sensor_id, ts) of the last reading filed: where the next part of the sweep starts. */
  cursor: FilingCursor | null;
}

export type FilingCursor = readonly [sensorId: number, ts: number];

export interface ReadingWriter {
  /**
   * Commits all readings in one transaction (a savepoint when called inside `transaction`).
   * Throws if they were not committed. With `deferFiling`, they are committed to `landing` and
   * reach `readings`, their seq and the rollups at the next `file()`; otherwise they go straight
   * to `readings` with their rollups.
   */
  write(readings: readonly Reading[], source?: string): WriteResult;
  /**
   * Moves landed readings into `readings`, with their seqs and rollups, in one transaction: all
   * of them, or the first `maxRows` in (sensor, ts) order after `after`, so that a long filing
   * can be done in parts between commits, each part going on from the last one's cursor (rows
   * landed meanwhile below the cursor wait for the next sweep rather than being swept thinly). A commit dense enough to file by itself (edge/store/filing.ts) goes
   * straight to `readings`. Seqs therefore follow filing order, not arrival: the stream is dense
   * and each reading has one seq, but a dense commit may be numbered before readings landed
   * earlier.
   */
  file(maxRows?: number, after?: FilingCursor | null): FileResult;
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
  // Per sensor, a ts at or above the newest filed one (never below: deletes only lower it); a
  // sensor not in the map is looked up when first needed.
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
  const isLanded = db.prepare<[number, number], number>('SELECT 1 FROM landing WHERE sensor_id = ? AND ts = ?').pluck();
  // Only the range this part read: rows landed below its start since the sweep began stay.
  const clearLanding = db.prepare<[number, number, number, number]>('DELETE FROM landing WHERE (sensor_id, ts) > (?, ?) AND (sensor_id, ts) <= (?, ?)');
  const landedNow = db.prepare<[], number>('SELECT count(*) FROM landing').pluck();
  const landedIds = db.prepare<[], number>('SELECT DISTINCT sensor_id FROM landing').pluck();
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
    if (changes === 1) {
      // Only a reading actually inserted counts: a skipped duplicate is already in its bucket.
      batch.add(id, ts, value, quality);
      const newest = newestFiled.get(id);
      if (newest !== undefined && ts > newest) newestFiled.set(id, ts);
    }
    return changes;
  };

  /** Straight into `readings`, seqs in arrival order; a reading still landed is a duplicate too. */
  const writeAll = (readings: readonly Reading[], source: string | null): WriteResult => {
    const batch = new RollupBatch();
    let written = 0;
    for (const r of readings) {
      const id = sensorId(r.sensor, r.receivedAt, source);
      if (landedSensors.has(id) && isLanded.get(id, r.ts) !== undefined) continue;
      written += insert(batch, id, r.ts, r.value, qualityCode(r.quality), r.receivedAt);
    }
    rollups.apply(batch);
    return { written, duplicates: readings.length - written };
  };

  /** Landed readings into `readings`, up to maxRows of them: seqs in (sensor, ts) order. */
  const fileSome = (maxRows: number, start: FilingCursor): FileResult => {
    const batch = new RollupBatch();
    let filed = 0;
    let read = 0;
    let last: FilingCursor = start;
    for (;;) {
      const want = Math.min(FILING_PAGE, maxRows - read);
      const page = landedPage.all(last[0], last[1], want) as unknown as LandedRow[];
      for (const [id, ts, value, quality, receivedAt] of page) filed += insert(batch, id, ts, value, quality, receivedAt);
      read += page.length;
      if (page.length > 0) last = [page[page.length - 1]![0], page[page.length - 1]![1]];
      if (page.length < want || read >= maxRows) break;
    }
    rollups.apply(batch);
    if (read > 0) clearLanding.run(start[0], start[1], last[0], last[1]);
    const more = read >= maxRows && landedPage.all(last[0], last[1], 1).length > 0;
    return { filed, sensors: batch.sensors, more, cursor: read > 0 ? last : null };
  };

  /** Dense enough that filing it now costs no more than filing it later. */
  const dense = (readings: readonly Reading[]): boolean => {
    if (readings.length < FILING.readingsPerSensor) return false;
    const names = new Set<string>();
    for (const r of readings) if (names.add(r.sensor).size * FILING.readingsPerSensor > readings.length) return false;
    return true;
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
      if (!opts.deferFiling || dense(readings)) return guarded(() => writeAll(readings, source ?? null));
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
    file(maxRows = Number.POSITIVE_INFINITY, after = null) {
      const start: FilingCursor = after ?? [-1, Number.MIN_SAFE_INTEGER];
      const result = guarded(() => fileSome(maxRows, start));
      if (!result.more) {
        // The sweep is over; what landed below its cursor meanwhile is still there: count it.
        landedCount = landedNow.get() ?? 0;
        landedSensors = new Set(landedIds.all());
        landedSince = landedCount > 0 ? clock() : null;
      } else if (result.cursor) {
        // Sensors strictly between the part's start and end are done (all their rows were after
        // the start); the two ends may have rows left. Kept a superset: write() relies on it.
        landedCount = Math.max(0, landedCount - result.filed);
        for (const id of landedSensors) if (id > start[0] && id < result.cursor[0]) landedSensors.delete(id);
      }
      return result;
    },
    landed: () => ({ rows: landedCount, sensors: landedSensors.size, since: landedSince }),
    transaction: guarded,
  };
}

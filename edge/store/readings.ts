import type { Reading } from '../../shared/reading.js';
import { qualityCode } from '../../shared/reading.js';
import type { SqliteDb } from './db.js';

export interface ReadingWriter {
  /** Commits all readings in one transaction; returns the last seq assigned. Throws if not committed. */
  write(readings: readonly Reading[]): number;
}

export function createReadingWriter(db: SqliteDb): ReadingWriter {
  const sensorIds = new Map<string, number>();
  for (const row of db.prepare<[], { id: number; name: string }>('SELECT id, name FROM sensors').iterate()) {
    sensorIds.set(row.name, row.id);
  }
  const insertSensor = db.prepare<[string, number]>('INSERT INTO sensors (name, first_seen) VALUES (?, ?)');
  const insertReading = db.prepare<[number, number, number, number, number]>(
    'INSERT INTO readings (sensor_id, ts, value, quality, received_at) VALUES (?, ?, ?, ?, ?)',
  );

  const sensorId = (name: string, now: number): number => {
    let id = sensorIds.get(name);
    if (id === undefined) {
      id = Number(insertSensor.run(name, now).lastInsertRowid);
      sensorIds.set(name, id);
    }
    return id;
  };

  const writeAll = db.transaction((readings: readonly Reading[]): number => {
    let last = 0;
    // New sensor ids are cached only after commit, so a rolled-back insert never leaves a stale id.
    const added: string[] = [];
    try {
      for (const r of readings) {
        const known = sensorIds.has(r.sensor);
        const id = sensorId(r.sensor, r.receivedAt);
        if (!known) added.push(r.sensor);
        last = Number(insertReading.run(id, r.ts, r.value, qualityCode(r.quality), r.receivedAt).lastInsertRowid);
      }
    } catch (err) {
      for (const name of added) sensorIds.delete(name);
      throw err;
    }
    return last;
  });

  return { write: (readings) => (readings.length === 0 ? 0 : writeAll(readings)) };
}

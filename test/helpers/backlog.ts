import { join } from 'node:path';
import type pg from 'pg';
import { openStore } from '../../edge/store/store.js';
import { qualityFromCode, type Quality } from '../../shared/reading.js';

/** A reading as both sides can be compared on: the edge's historian and the cloud's table. */
export interface SyncedRow {
  sensor: string;
  ts: number;
  value: number;
  quality: Quality;
}

/**
 * The backlog of an outage: `n` readings of `sensors` sensors at 1 Hz, an hour old, written to
 * the historian under `dataDir` before any agent opens it. Returns them as stored.
 */
export function fillBacklog(dataDir: string, n: number, sensors: number, name: (i: number) => string): SyncedRow[] {
  const store = openStore({ file: join(dataDir, 'historian.sqlite') });
  try {
    const t0 = Date.now() - 3_600_000;
    for (let k = 0; k < n; k += 5000) {
      store.readings.write(
        Array.from({ length: Math.min(5000, n - k) }, (_, j) => {
          const i = k + j;
          const quality: Quality = i % 97 === 0 ? 'bad' : 'good';
          return { sensor: name(i % sensors), ts: t0 + Math.floor(i / sensors) * 1000, value: ((i * 7919) % 1000) / 8, quality, receivedAt: t0 };
        }),
      );
    }
    return store.db
      .prepare<[], { sensor: string; ts: number; value: number; quality: number }>('SELECT s.name AS sensor, r.ts, r.value, r.quality FROM readings r JOIN sensors s ON s.id = r.sensor_id')
      .all()
      .map((r) => ({ ...r, quality: qualityFromCode(r.quality) }));
  } finally {
    store.close();
  }
}

/** Every reading the cloud holds for a gateway. */
export async function cloudRows(pool: pg.Pool, gateway: string): Promise<SyncedRow[]> {
  const r = await pool.query<{ sensor: string; ts: string; value: number; quality: number }>(
    'SELECT sensor, (extract(epoch FROM time) * 1000)::bigint AS ts, value, quality FROM readings WHERE gateway = $1',
    [gateway],
  );
  return r.rows.map((x) => ({ sensor: x.sensor, ts: Number(x.ts), value: x.value, quality: qualityFromCode(x.quality) }));
}

const key = (r: SyncedRow) => `${r.sensor}@${r.ts}`;

/** Rows in (sensor, ts) order, and how many distinct (sensor, ts) they hold: to compare two sides. */
export function byReading(rows: readonly SyncedRow[]): { sorted: SyncedRow[]; distinct: number } {
  const sorted = [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { sorted, distinct: new Set(rows.map(key)).size };
}

import type { SequencedReading } from '../../shared/sync-codec.js';
import type { Queryable } from './connect.js';

/**
 * The catalog of sensors per gateway, with first/last reading time and a reading count. It is
 * updated in the ingest transaction, so it is exactly as current as the readings table, and the
 * MCP tools list sensors and count readings without scanning readings.
 */

export async function recordSensorReadings(client: Queryable, gateway: string, rows: readonly SequencedReading[]): Promise<void> {
  const per = new Map<string, { first: number; last: number; n: number }>();
  for (const r of rows) {
    const s = per.get(r.sensor);
    if (!s) per.set(r.sensor, { first: r.ts, last: r.ts, n: 1 });
    else {
      s.first = Math.min(s.first, r.ts);
      s.last = Math.max(s.last, r.ts);
      s.n++;
    }
  }
  if (per.size === 0) return;
  const ids = [...per.keys()];
  const stats = [...per.values()];
  await client.query(
    `INSERT INTO sensors (gateway, sensor, first_time, last_time, readings)
     SELECT $1, u.s, u.f, u.l, u.n FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::int8[]) AS u(s, f, l, n)
     ON CONFLICT (gateway, sensor) DO UPDATE SET
       first_time = LEAST(sensors.first_time, excluded.first_time),
       last_time  = GREATEST(sensors.last_time, excluded.last_time),
       readings   = sensors.readings + excluded.readings,
       updated_at = now()`,
    [
      gateway,
      ids,
      stats.map((s) => new Date(s.first).toISOString()),
      stats.map((s) => new Date(s.last).toISOString()),
      stats.map((s) => s.n),
    ],
  );
}

export interface SensorRow {
  gateway: string;
  sensor: string;
  firstMs: number;
  lastMs: number;
  readings: number;
}

interface SensorDbRow {
  gateway: string;
  sensor: string;
  first_ms: string;
  last_ms: string;
  readings: string;
}

const toRow = (r: SensorDbRow): SensorRow => ({
  gateway: r.gateway,
  sensor: r.sensor,
  firstMs: Number(r.first_ms),
  lastMs: Number(r.last_ms),
  readings: Number(r.readings),
});

const COLUMNS = `gateway, sensor, round(extract(epoch FROM first_time) * 1000)::bigint AS first_ms,
  round(extract(epoch FROM last_time) * 1000)::bigint AS last_ms, readings`;

export interface SensorFilter {
  gateway?: string;
  /** sensor ids starting with this, e.g. "acme/plant1/" */
  prefix?: string;
  /** a substring of the sensor id, e.g. "vibration" */
  contains?: string;
  limit: number;
}

export async function listSensors(q: Queryable, f: SensorFilter): Promise<SensorRow[]> {
  const res = await q.query<SensorDbRow>(
    `SELECT ${COLUMNS} FROM sensors
     WHERE ($1::text IS NULL OR gateway = $1)
       AND ($2::text IS NULL OR starts_with(sensor, $2))
       AND ($3::text IS NULL OR strpos(sensor, $3) > 0)
     ORDER BY sensor, gateway LIMIT $4`,
    [f.gateway ?? null, f.prefix ?? null, f.contains ?? null, f.limit],
  );
  return res.rows.map(toRow);
}

/** The gateways that have sent this sensor (one, normally). */
export async function findSensor(q: Queryable, sensor: string, gateway?: string): Promise<SensorRow[]> {
  const res = await q.query<SensorDbRow>(
    `SELECT ${COLUMNS} FROM sensors WHERE sensor = $1 AND ($2::text IS NULL OR gateway = $2) ORDER BY gateway`,
    [sensor, gateway ?? null],
  );
  return res.rows.map(toRow);
}

/** Readings stored per gateway. */
export async function readingsPerGateway(q: Queryable): Promise<Map<string, number>> {
  const res = await q.query<{ gateway: string; n: string }>('SELECT gateway, sum(readings) AS n FROM sensors GROUP BY gateway');
  return new Map(res.rows.map((r) => [r.gateway, Number(r.n)]));
}

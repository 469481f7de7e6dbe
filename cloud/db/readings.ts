import { qualityCode, qualityFromCode, type Quality } from '../../shared/reading.js';
import type { SequencedReading } from '../../shared/sync-codec.js';
import type { Queryable } from './connect.js';
import type { HistoryBucket, HistoryPoint } from '../../shared/mcp/history.js';

/** Inserts a batch of one gateway's readings in one statement; returns the number of rows. */
export async function insertReadings(client: Queryable, gateway: string, rows: readonly SequencedReading[]): Promise<number> {
  if (rows.length === 0) return 0;
  // ISO strings carry the millisecond exactly and parse the same whatever the session time zone.
  const times: string[] = [];
  const sensors: string[] = [];
  const values: number[] = [];
  const qualities: number[] = [];
  const received: string[] = [];
  for (const r of rows) {
    times.push(new Date(r.ts).toISOString());
    sensors.push(r.sensor);
    values.push(r.value);
    qualities.push(qualityCode(r.quality));
    received.push(new Date(r.receivedAt).toISOString());
  }
  const res = await client.query(
    `INSERT INTO readings (time, gateway, sensor, value, quality, received_at)
     SELECT u.t, $1, u.s, u.v, u.q, u.r
     FROM unnest($2::timestamptz[], $3::text[], $4::float8[], $5::int2[], $6::timestamptz[]) AS u(t, s, v, q, r)`,
    [gateway, times, sensors, values, qualities, received],
  );
  return res.rowCount ?? 0;
}

/** One sensor's readings on the given gateways between two instants, both inclusive. */
export interface HistoryRange {
  sensor: string;
  gateways: readonly string[];
  /** epoch ms, or null for unbounded */
  fromMs: number | null;
  toMs: number | null;
}

export interface RangeSummary {
  count: number;
  /** epoch ms of the first and last reading in range; null when there are none */
  firstMs: number | null;
  lastMs: number | null;
}

export type RawPoint = HistoryPoint;

export type Bucket = HistoryBucket;

const iso = (ms: number | null, open: string): string => (ms === null ? open : new Date(ms).toISOString());

function rangeParams(r: HistoryRange): [string[], string, string, string] {
  return [[...r.gateways], r.sensor, iso(r.fromMs, '-infinity'), iso(r.toMs, 'infinity')];
}

// Leading `gateway = ANY(...)` lets one index on (gateway, sensor, time) serve every history query.
const RANGE_WHERE = 'gateway = ANY($1::text[]) AND sensor = $2 AND time >= $3::timestamptz AND time <= $4::timestamptz';
const EPOCH_MS = (col: string) => `round(extract(epoch FROM ${col}) * 1000)::bigint`;

export async function summarizeRange(q: Queryable, r: HistoryRange): Promise<RangeSummary> {
  const res = await q.query<{ n: string; first: string | null; last: string | null }>(
    `SELECT count(*) AS n, ${EPOCH_MS('min(time)')} AS first, ${EPOCH_MS('max(time)')} AS last FROM readings WHERE ${RANGE_WHERE}`,
    rangeParams(r),
  );
  const row = res.rows[0];
  return {
    count: Number(row?.n ?? 0),
    firstMs: row?.first == null ? null : Number(row.first),
    lastMs: row?.last == null ? null : Number(row.last),
  };
}

export async function rawHistory(q: Queryable, r: HistoryRange, limit: number): Promise<RawPoint[]> {
  const res = await q.query<{ ts: string; value: number; quality: number }>(
    `SELECT ${EPOCH_MS('time')} AS ts, value, quality FROM readings WHERE ${RANGE_WHERE} ORDER BY time, gateway LIMIT $5`,
    [...rangeParams(r), limit],
  );
  return res.rows.map((row) => ({ ts: Number(row.ts), value: row.value, quality: qualityFromCode(row.quality) }));
}

export interface BucketSpec {
  /** buckets are [origin + k*width, origin + (k+1)*width) */
  originMs: number;
  widthMs: number;
  /** time_bucket on TimescaleDB, date_bin (PostgreSQL >= 14) otherwise; same buckets either way */
  timescale: boolean;
}

export async function bucketHistory(q: Queryable, r: HistoryRange, b: BucketSpec): Promise<Bucket[]> {
  const width = `($5::bigint * interval '1 millisecond')`;
  const bucket = b.timescale
    ? `time_bucket(${width}, time, origin => $6::timestamptz)`
    : `date_bin(${width}, time, $6::timestamptz)`;
  const res = await q.query<{ start: string; n: string; bad: string; min: number | null; max: number | null; avg: number | null }>(
    `SELECT ${EPOCH_MS('b')} AS start, count(*) AS n, count(*) FILTER (WHERE quality = 2) AS bad,
            min(value) FILTER (WHERE quality < 2) AS min,
            max(value) FILTER (WHERE quality < 2) AS max,
            avg(value) FILTER (WHERE quality < 2) AS avg
     FROM (SELECT ${bucket} AS b, value, quality FROM readings WHERE ${RANGE_WHERE}) AS x
     GROUP BY b ORDER BY b`,
    [...rangeParams(r), Math.round(b.widthMs), new Date(b.originMs).toISOString()],
  );
  return res.rows.map((row) => ({
    start: Number(row.start),
    count: Number(row.n),
    bad: Number(row.bad),
    min: row.min,
    max: row.max,
    avg: row.avg,
  }));
}

export async function countReadings(q: Queryable, gateway?: string): Promise<number> {
  const res = gateway === undefined
    ? await q.query<{ n: string }>('SELECT count(*) AS n FROM readings')
    : await q.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE gateway = $1', [gateway]);
  return Number(res.rows[0]?.n ?? 0);
}

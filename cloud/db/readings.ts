import { qualityCode, qualityFromCode, type Quality } from '../../shared/reading.js';
import type { SequencedReading } from '../../shared/sync-codec.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Queryable } from './connect.js';
import type { HistoryBucket, HistoryPoint } from '../../shared/mcp/history.js';

/**
 * Inserts a batch of one gateway's readings in one statement; returns the number of rows.
 *
 * Columns go as arrays of numbers where they can: times as epoch milliseconds (to_timestamp keeps
 * microseconds, so a millisecond is exact), receive times as the lag after the source time, and
 * each sensor name once, referenced by index. Serialising 20,000 ISO strings and escaped names per
 * batch cost more than the INSERT itself (bench/sync-drain.ts).
 */
export async function insertReadings(client: Queryable, gateway: string, rows: readonly SequencedReading[]): Promise<number> {
  if (rows.length === 0) return 0;
  const names: string[] = [];
  const index = new Map<string, number>();
  const times: number[] = new Array(rows.length);
  const sensors: number[] = new Array(rows.length);
  const values: number[] = new Array(rows.length);
  const qualities: number[] = new Array(rows.length);
  const lags: number[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    let k = index.get(r.sensor);
    if (k === undefined) {
      k = names.push(r.sensor);
      index.set(r.sensor, k);
    }
    times[i] = r.ts;
    sensors[i] = k;
    values[i] = r.value;
    qualities[i] = qualityCode(r.quality);
    lags[i] = r.receivedAt - r.ts;
  }
  const res = await client.query(
    `INSERT INTO readings (time, gateway, sensor, value, quality, received_at)
     SELECT to_timestamp(u.t::float8 / 1000), $1, ($2::text[])[u.s], u.v, u.q, to_timestamp((u.t + u.l)::float8 / 1000)
     FROM unnest($3::int8[], $4::int4[], $5::float8[], $6::int2[], $7::int8[]) AS u(t, s, v, q, l)`,
    [gateway, names, times, sensors, values, qualities, lags],
  );
  return res.rowCount ?? 0;
}

/**
 * The same rows with COPY FROM STDIN, inside the caller's transaction: about twice the INSERT's
 * rate on a server (bench/sync-drain.ts). Not on the embedded PGlite, whose socket cannot carry the
 * COPY sub-protocol. Sensor ids and gateway ids cannot hold a tab, newline or backslash (their
 * schemas), so the text format needs no escaping.
 */
export async function copyReadings(client: pg.PoolClient, gateway: string, rows: readonly SequencedReading[]): Promise<number> {
  if (rows.length === 0) return 0;
  // Readings of one step share a timestamp across sensors: format each instant once.
  const isoCache = new Map<number, string>();
  const iso = (ms: number) => {
    let s = isoCache.get(ms);
    if (s === undefined) isoCache.set(ms, (s = new Date(ms).toISOString()));
    return s;
  };
  const lines: string[] = [];
  let part: string[] = [];
  for (const r of rows) {
    part.push(`${iso(r.ts)}\t${gateway}\t${r.sensor}\t${r.value}\t${qualityCode(r.quality)}\t${iso(r.receivedAt)}\n`);
    if (part.length === 2000) {
      lines.push(part.join(''));
      part = [];
    }
  }
  if (part.length > 0) lines.push(part.join(''));
  const stream = client.query(copyFrom('COPY readings (time, gateway, sensor, value, quality, received_at) FROM STDIN'));
  await pipeline(Readable.from(lines), stream);
  return stream.rowCount ?? rows.length;
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

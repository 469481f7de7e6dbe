import type pg from 'pg';
import type { EvictedRange, SyncBatch } from '../../shared/sync.js';
import { decodeSeries } from '../../shared/sync-codec.js';
import { upsertAlarms } from '../db/alarms.js';
import { upsertFindings } from '../db/findings.js';
import { touchGateway } from '../db/gateways.js';
import { copyReadings, insertReadings } from '../db/readings.js';
import { recordSensorReadings } from '../db/sensors.js';
import { lockWatermark, setWatermark } from '../db/watermarks.js';
import { decideBatch } from './watermark.js';

export type StoreOutcome =
  | { kind: 'written'; acceptedThrough: number; written: number; evicted: number }
  | { kind: 'duplicate'; acceptedThrough: number }
  | { kind: 'gap'; acceptedThrough: number; expectedSeq: number };

/**
 * Stores a validated batch exactly once (DESIGN guarantee 2). One transaction: lock the
 * watermark row, decide, insert only the records above the watermark, move the watermark, note
 * that the gateway was seen, commit. Any failure rolls everything back and is rethrown; the
 * caller classifies it. A gap rolls back too: nothing of a refused batch is written.
 */
export interface StoreOptions {
  /** The database takes COPY FROM STDIN (a server; not the embedded PGlite). */
  copy?: boolean;
  /** The edge's version, from its User-Agent. */
  version?: string;
}

/** Batches at least this large go in with COPY when the database takes it. */
const COPY_FROM_ROWS = 500;

export async function storeBatch(pool: pg.Pool, batch: SyncBatch, cloudTime: number, opts: StoreOptions = {}): Promise<StoreOutcome> {
  const { version } = opts;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const watermark = await lockWatermark(client, batch.gateway, batch.stream);
    const decision = decideBatch(watermark, batch.firstSeq, batch.lastSeq);
    if (decision.action === 'gap') {
      await client.query('ROLLBACK');
      return { kind: 'gap', acceptedThrough: decision.acceptedThrough, expectedSeq: decision.expectedSeq };
    }
    let outcome: StoreOutcome;
    if (decision.action === 'duplicate') {
      outcome = { kind: 'duplicate', acceptedThrough: decision.acceptedThrough };
    } else {
      const written = await writeRecords(client, batch, decision.writeAbove, opts.copy ?? false);
      // Evicted seqs are accounted for by the batch's validation (records + evicted = span), so
      // the watermark moves past them like past records: they will never arrive.
      await setWatermark(client, batch.gateway, batch.stream, decision.acceptedThrough);
      outcome = { kind: 'written', acceptedThrough: decision.acceptedThrough, written, evicted: evictedAbove(batch.evicted, decision.writeAbove) };
    }
    // The offset includes the network transit time, so it is an upper bound on the clock skew.
    await touchGateway(client, batch.gateway, {
      at: new Date(cloudTime),
      clockOffsetMs: cloudTime - batch.sentAt,
      ...(version ? { version } : {}),
      ...(batch.stream === 'readings' && batch.backlog ? { lag: batch.backlog } : {}),
    });
    await client.query('COMMIT');
    return outcome;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      // The connection itself failed: do not hand it back to the pool.
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Seqs above the watermark that the edge declared evicted: newly learned, so reported once. */
function evictedAbove(ranges: readonly EvictedRange[] | undefined, watermark: number): number {
  let n = 0;
  for (const [from, to] of ranges ?? []) if (to > watermark) n += to - Math.max(from, watermark + 1) + 1;
  return n;
}

async function writeRecords(client: pg.PoolClient, batch: SyncBatch, writeAbove: number, copy: boolean): Promise<number> {
  if (batch.stream === 'readings') {
    const rows = decodeSeries(batch.series).filter((r) => r.seq > writeAbove);
    const written = copy && rows.length >= COPY_FROM_ROWS ? await copyReadings(client, batch.gateway, rows) : await insertReadings(client, batch.gateway, rows);
    await recordSensorReadings(client, batch.gateway, rows);
    return written;
  }
  const records = batch.findings.filter((r) => r.seq > writeAbove).sort((a, b) => a.seq - b.seq);
  const findings = records.flatMap((r) => (r.finding ? [r.finding] : []));
  const alarms = records.flatMap((r) => (r.alarm ? [r.alarm] : []));
  return (await upsertFindings(client, batch.gateway, findings)) + (await upsertAlarms(client, batch.gateway, alarms));
}

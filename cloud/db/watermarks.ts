import type { Stream } from '../../shared/sync.js';
import type { Queryable } from './connect.js';

/**
 * The committed watermark of a (gateway, stream): every record with seq <= watermark is stored.
 * It only moves inside the transaction that stores the rows (DESIGN guarantee 2).
 */

/**
 * Locks the watermark row for the rest of the transaction and returns its value (0 for a stream
 * never seen). Concurrent batches of the same stream (retries, two replicas) queue on this lock,
 * so each sees the watermark the previous one committed.
 */
export async function lockWatermark(client: Queryable, gateway: string, stream: Stream): Promise<number> {
  // The row must exist before FOR UPDATE can lock it; a concurrent first insert waits for ours.
  await client.query(
    'INSERT INTO sync_watermarks (gateway, stream, watermark) VALUES ($1, $2, 0) ON CONFLICT (gateway, stream) DO NOTHING',
    [gateway, stream],
  );
  const r = await client.query<{ watermark: string }>(
    'SELECT watermark FROM sync_watermarks WHERE gateway = $1 AND stream = $2 FOR UPDATE',
    [gateway, stream],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`watermark row for ${gateway}/${stream} vanished inside its transaction`);
  return Number(row.watermark);
}

export async function setWatermark(client: Queryable, gateway: string, stream: Stream, watermark: number): Promise<void> {
  await client.query(
    'UPDATE sync_watermarks SET watermark = $3, updated_at = now() WHERE gateway = $1 AND stream = $2',
    [gateway, stream, watermark],
  );
}

export interface WatermarkRow {
  gateway: string;
  stream: Stream;
  watermark: number;
  updatedAt: Date;
}

export async function listWatermarks(q: Queryable): Promise<WatermarkRow[]> {
  const r = await q.query<{ gateway: string; stream: Stream; watermark: string; updated_at: Date }>(
    'SELECT gateway, stream, watermark, updated_at FROM sync_watermarks ORDER BY gateway, stream',
  );
  return r.rows.map((row) => ({ gateway: row.gateway, stream: row.stream, watermark: Number(row.watermark), updatedAt: row.updated_at }));
}

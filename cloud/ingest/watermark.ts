/**
 * What to do with a batch covering firstSeq..lastSeq given the committed watermark of its
 * (gateway, stream). Pure: the handler calls it inside the transaction that holds the lock.
 * The span includes the seqs a batch declares evicted (shared/sync.ts): they count as arrived,
 * so a stream thinned by the edge's disk budget moves on instead of being refused as a gap.
 *
 * - duplicate: everything is already stored (a retry whose reply was lost); acknowledge, write nothing.
 * - gap: records watermark+1..firstSeq-1 never arrived; refuse, so the edge rewinds to the watermark.
 * - write: store the records with seq > watermark (a batch overlapping the watermark is trimmed),
 *   then the watermark becomes lastSeq.
 */
export type WatermarkDecision =
  | { action: 'duplicate'; acceptedThrough: number }
  | { action: 'gap'; acceptedThrough: number; expectedSeq: number }
  | { action: 'write'; writeAbove: number; acceptedThrough: number };

export function decideBatch(watermark: number, firstSeq: number, lastSeq: number): WatermarkDecision {
  if (lastSeq <= watermark) return { action: 'duplicate', acceptedThrough: watermark };
  if (firstSeq > watermark + 1) return { action: 'gap', acceptedThrough: watermark, expectedSeq: watermark + 1 };
  return { action: 'write', writeAbove: watermark, acceptedThrough: lastSeq };
}

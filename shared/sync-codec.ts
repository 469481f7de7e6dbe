import type { Quality } from './reading.js';
import type { SeriesBlock } from './sync.js';

/** A reading as it sits in an outbox: the reading plus its sequence number in the stream. */
export interface SequencedReading {
  seq: number;
  sensor: string;
  ts: number;
  value: number;
  quality: Quality;
  receivedAt: number;
}

/** Groups readings (in seq order) into one column block per sensor. */
export function encodeSeries(rows: readonly SequencedReading[]): SeriesBlock[] {
  const blocks = new Map<string, SeriesBlock & { lastSeq: number; lastTs: number; allGood: boolean }>();
  for (const r of rows) {
    let b = blocks.get(r.sensor);
    if (!b) {
      b = { sensor: r.sensor, s0: r.seq, ds: [], t0: r.ts, dt: [], values: [], quality: [], lag: [], lastSeq: r.seq, lastTs: r.ts, allGood: true };
      blocks.set(r.sensor, b);
    }
    b.ds.push(r.seq - b.lastSeq);
    b.dt.push(r.ts - b.lastTs);
    b.values.push(r.value);
    b.quality!.push(r.quality);
    b.lag.push(r.receivedAt - r.ts);
    b.lastSeq = r.seq;
    b.lastTs = r.ts;
    if (r.quality !== 'good') b.allGood = false;
  }
  return [...blocks.values()].map(({ lastSeq: _s, lastTs: _t, allGood, quality, ...block }) =>
    allGood ? block : { ...block, quality },
  );
}

/** The inverse of encodeSeries: one row per reading, in block order. */
export function decodeSeries(blocks: readonly SeriesBlock[]): SequencedReading[] {
  const out: SequencedReading[] = [];
  for (const b of blocks) {
    let seq = b.s0;
    let ts = b.t0;
    for (let i = 0; i < b.values.length; i++) {
      seq += b.ds[i]!;
      ts += b.dt[i]!;
      out.push({ seq, sensor: b.sensor, ts, value: b.values[i]!, quality: b.quality?.[i] ?? 'good', receivedAt: ts + b.lag[i]! });
    }
  }
  return out;
}

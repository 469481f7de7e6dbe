import { describe, expect, it } from 'vitest';
import { decodeSeries, encodeSeries, type SequencedReading } from './sync-codec.js';
import { evictedCount, SyncBatch } from './sync.js';

const T = Date.UTC(2026, 10, 22, 8);
const rows: SequencedReading[] = [
  { seq: 11, sensor: 'acme/p1/l1/pump-1/flow', ts: T, value: 12.5, quality: 'good', receivedAt: T + 20 },
  { seq: 12, sensor: 'acme/p1/l1/pump-1/temp', ts: T, value: 41.25, quality: 'good', receivedAt: T + 21 },
  { seq: 13, sensor: 'acme/p1/l1/pump-1/flow', ts: T + 1000, value: 12.75, quality: 'bad', receivedAt: T + 1020 },
  { seq: 14, sensor: 'acme/p1/l1/pump-1/flow', ts: T + 900, value: -3, quality: 'good', receivedAt: T + 1030 },
];
const batch = (over: Record<string, unknown> = {}) => ({
  gateway: 'gw-1',
  stream: 'readings',
  encoding: 'columnar-json-v1',
  firstSeq: 11,
  lastSeq: 14,
  sentAt: T + 2000,
  series: encodeSeries(rows),
  ...over,
});

describe('columnar readings codec', () => {
  it('round-trips every field, out-of-order timestamps and qualities included', () => {
    const back = decodeSeries(encodeSeries(rows)).sort((a, b) => a.seq - b.seq);
    expect(back).toEqual(rows);
  });

  it('groups per sensor and leaves out quality when all readings are good', () => {
    const blocks = encodeSeries(rows);
    expect(blocks.map((b) => b.sensor)).toEqual(['acme/p1/l1/pump-1/flow', 'acme/p1/l1/pump-1/temp']);
    expect(blocks[0]!.quality).toEqual(['good', 'bad', 'good']);
    expect(blocks[1]!.quality).toBeUndefined();
    expect(blocks[0]!.dt).toEqual([0, 1000, -100]);
  });
});

describe('SyncBatch schema', () => {
  it('accepts a batch that carries each sequence of its range once', () => {
    expect(SyncBatch.safeParse(batch()).success).toBe(true);
  });

  it('refuses a batch whose range does not match its records', () => {
    const r = SyncBatch.safeParse(batch({ lastSeq: 15 }));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/declares 5 records .* carries 4/);
  });

  it('refuses a record outside the declared range', () => {
    const r = SyncBatch.safeParse(batch({ firstSeq: 12, lastSeq: 15 }));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/seq 11 is outside 12..15/);
  });

  it('refuses NaN-free but mistyped values and unknown keys', () => {
    const series = encodeSeries(rows);
    (series[0]!.values as unknown[])[0] = '12.5';
    expect(SyncBatch.safeParse(batch({ series })).success).toBe(false);
    expect(SyncBatch.safeParse(batch({ extra: 1 })).success).toBe(false);
  });

  it('refuses a delta or a lag that carries a time out of range', () => {
    const series = encodeSeries(rows);
    series[0]!.dt[1] = 1e15;
    expect(SyncBatch.safeParse(batch({ series })).error?.issues[0]?.message).toMatch(/source time .* outside/);
    const lagged = encodeSeries(rows);
    lagged[1]!.lag[0] = -1e13;
    expect(SyncBatch.safeParse(batch({ series: lagged })).error?.issues[0]?.message).toMatch(/receive time .* outside/);
  });

  it('refuses timestamps in seconds', () => {
    expect(SyncBatch.safeParse(batch({ sentAt: Math.floor(T / 1000) })).success).toBe(false);
  });

  describe('evicted ranges (seqs the edge disk budget dropped unsent)', () => {
    // Records 11, 12 and 14 of the fixture; 13 evicted, and 8..10 before them.
    const kept = rows.filter((r) => r.seq !== 13);
    const thinned = (over: Record<string, unknown> = {}) => batch({ series: encodeSeries(kept), evicted: [[13, 13]], ...over });
    const message = (b: unknown) => SyncBatch.safeParse(b).error?.issues[0]?.message;

    it('accepts records and evicted ranges that cover the span exactly, in any order', () => {
      expect(SyncBatch.safeParse(thinned()).success).toBe(true);
      expect(SyncBatch.safeParse(thinned({ firstSeq: 8, evicted: [[13, 13], [8, 10]] })).success).toBe(true);
      expect(evictedCount([[13, 13], [8, 10]])).toBe(4);
    });

    it('accepts a span that is all evicted, with no records', () => {
      expect(SyncBatch.safeParse(batch({ firstSeq: 1, lastSeq: 10, series: [], evicted: [[1, 4], [5, 10]] })).success).toBe(true);
    });

    it('refuses records and ranges that do not add up to the span, or lie outside it', () => {
      // Every record 11..14 plus 14..15 evicted: 6 seqs accounted for in a span of 5.
      expect(message(batch({ lastSeq: 15, evicted: [[14, 15]] }))).toMatch(/declares 5 seqs .*2 of them evicted.* carries 4 records/);
      // 15 is accounted for by nobody.
      expect(message(thinned({ lastSeq: 15 }))).toMatch(/declares 5 seqs .* carries 3 records/);
      expect(message(thinned({ lastSeq: 15, evicted: [[13, 13], [15, 15]] }))).toBeUndefined();
      expect(message(thinned({ evicted: [[13, 13], [15, 15]] }))).toMatch(/evicted range 15..15 is outside 11..14/);
      expect(message(thinned({ firstSeq: 12, evicted: [[11, 11]] }))).toMatch(/outside 12..14/);
    });

    it('refuses a record inside an evicted range even when the counts add up', () => {
      // 11..15: records 11, 12, 14 (3) + evicted 13..14 (2) = 5, but 14 is both.
      expect(message(thinned({ lastSeq: 15, evicted: [[13, 14]] }))).toMatch(/record seq 14 is inside an evicted range/);
    });

    it('refuses overlapping or reversed ranges', () => {
      const none = batch({ firstSeq: 1, lastSeq: 10, series: [] });
      expect(message({ ...none, evicted: [[1, 6], [5, 10]] })).toMatch(/overlap/);
      expect(SyncBatch.safeParse({ ...none, evicted: [[10, 1]] }).success).toBe(false);
    });
  });
});

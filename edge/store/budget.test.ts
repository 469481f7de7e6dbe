import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../shared/reading.js';
import {
  DiskBudgetConfig,
  diskBudgetOptions,
  enforceDiskBudget,
  estimateTimeUntilFull,
  evictionTotals,
  growthRate,
  measureHistorian,
  type DiskBudgetOptions,
 walPagesForBudget } from './budget.js';
import { openStore, type Store } from './store.js';

/**
 * The disk budget on real historian files (DESIGN guarantee 3). The budgets are set relative to
 * what a test wrote, measured after a TRUNCATE checkpoint so that the write-ahead log starts
 * empty; eviction itself grows the log again (deletes are writes), and the budget charges it.
 */
const T0 = Date.UTC(2026, 0, 1);
const SENSORS = 10;
const sensor = (i: number) => `acme/plant1/line1/m${i % SENSORS}/vibration`;
/** Reading i (seq i + 1 in a fresh store): ten sensors at 1 Hz, in time order. */
const reading = (i: number): Reading => {
  const ts = T0 + Math.floor(i / SENSORS) * 1000;
  return { sensor: sensor(i), ts, value: Math.round(Math.sin(i / 7) * 1000) / 10, quality: 'good', receivedAt: ts + 5 };
};

function filled(n: number, file = join(mkdtempSync(join(tmpdir(), 'mw-budget-')), 'historian.sqlite')): Store {
  const s = openStore({ file, walPages: 1000 }) // a small budget, a small log (walPagesForBudget);
  for (let from = 0; from < n; from += 10_000) s.readings.write(Array.from({ length: Math.min(10_000, n - from) }, (_, k) => reading(from + k)));
  s.db.pragma('wal_checkpoint(TRUNCATE)');
  return s;
}

const one = <T>(s: Store, sql: string, ...args: number[]): T => s.db.prepare(sql).pluck().get(...args) as T;
const count = (s: Store, table: string, where = '1'): number => one(s, `SELECT count(*) FROM ${table} WHERE ${where}`);
/** A budget of `fraction` of what the store uses now. */
const budget = (s: Store, fraction: number, over: Partial<DiskBudgetOptions> = {}): DiskBudgetOptions => ({
  maxBytes: Math.floor(measureHistorian(s.db).usedBytes * fraction),
  lowWater: 0.9,
  thinUnsynced: false,
  syncConfigured: true,
  ...over,
});

describe('disk budget', () => {
  it('under budget, nothing happens', async () => {
    const s = filled(20_000);
    s.outbox.settle(20_000);
    const r = await enforceDiskBudget(s.db, budget(s, 2));
    expect(r).toMatchObject({ overBudget: false, reason: null, transactions: 0, aborted: false });
    expect(Object.values(r.evicted).every((n) => n === 0)).toBe(true);
    expect(count(s, 'readings')).toBe(20_000);
    expect(count(s, 'evictions')).toBe(0);
    s.close();
  });

  it('over budget: synced raw readings go first, oldest first, down to the low-water mark; counts persist', async () => {
    const s = filled(300_000);
    s.outbox.settle(250_000);
    s.deadLetters.add({ source: 'mqtt', reason: 'not JSON', raw: new Uint8Array(100) });
    const rollups = [count(s, 'rollup_1m'), count(s, 'rollup_1h')];

    const r = await enforceDiskBudget(s.db, budget(s, 0.8));
    expect(r.overBudget).toBe(false);
    expect(r.reason).toBeNull();
    expect(r.after.usedBytes).toBeLessThanOrEqual(r.targetBytes);
    expect(r.evicted).toEqual({ raw_synced: r.evicted.raw_synced, dead_letters: 0, raw_unsynced: 0, rollup_1m: 0, rollup_1h: 0 });
    expect(r.evicted.raw_synced).toBeGreaterThan(0);
    expect(r.evicted.raw_synced).toBeLessThan(250_000);
    // Oldest first: what is left is one contiguous run of seqs up to the newest.
    const n = r.evicted.raw_synced;
    expect(one(s, 'SELECT min(seq) FROM readings')).toBe(n + 1);
    expect(count(s, 'readings')).toBe(300_000 - n);
    expect(count(s, 'readings', 'seq > 250000')).toBe(50_000);
    expect([count(s, 'rollup_1m'), count(s, 'rollup_1h')]).toEqual(rollups);
    expect(s.deadLetters.count()).toBe(1);
    // Bounded transactions: at most 1000 rows each.
    expect(r.transactions).toBeGreaterThanOrEqual(Math.ceil(n / 1000));

    // Recorded as one range, and still there after a restart.
    const file = s.file;
    s.close();
    const again = openStore({ file, walPages: 1000 });
    expect(again.db.prepare('SELECT category, rows, from_key, to_key FROM evictions').all()).toEqual([
      { category: 'raw_synced', rows: n, from_key: 1, to_key: n },
    ]);
    expect(evictionTotals(again.db).raw_synced).toBe(n);

    // The next run over budget extends the same record rather than adding one per run.
    const more = await enforceDiskBudget(again.db, budget(again, 0.8));
    expect(more.evicted.raw_synced).toBeGreaterThan(0);
    expect(count(again, 'evictions')).toBe(1);
    expect(evictionTotals(again.db).raw_synced).toBe(n + more.evicted.raw_synced);
    again.close();
  });

  it('without sync configured, every raw reading counts as synced', async () => {
    const s = filled(100_000);
    const r = await enforceDiskBudget(s.db, budget(s, 0.7, { syncConfigured: false }));
    expect(r.evicted.raw_synced).toBeGreaterThan(0);
    expect(r.evicted.raw_unsynced).toBe(0);
    expect(one(s, 'SELECT min(seq) FROM readings')).toBe(r.evicted.raw_synced + 1);
    expect(r.after.usedBytes).toBeLessThanOrEqual(r.targetBytes);
    s.close();
  });

  it('never touches unsynced raw readings unless thinUnsynced: the budget is reported unmet instead', async () => {
    const s = filled(200_000);
    s.outbox.settle(20_000);
    for (let i = 0; i < 50; i++) s.deadLetters.add({ source: 'mqtt', reason: 'bad', raw: new Uint8Array(4096) });

    const r = await enforceDiskBudget(s.db, budget(s, 0.5));
    expect(r.overBudget).toBe(true);
    expect(r.reason).toMatch(/above seq 20000 that the cloud has not acknowledged.*thinUnsynced is off/);
    expect(r.evicted.raw_synced).toBe(20_000);
    expect(r.evicted.dead_letters).toBe(50);
    expect(r.evicted.raw_unsynced).toBe(0);
    expect(count(s, 'readings')).toBe(180_000);
    expect(count(s, 'readings', 'seq > 20000')).toBe(180_000);
    // The rest of the policy ran: rollups go, but only those whose raw readings are all gone
    // (seqs 1..20000 are the first 2000 s: minutes 0..32 of each sensor). The others are what
    // long history queries read while the readings are still here.
    const keptFrom = T0 + 33 * 60_000;
    expect(r.evicted.rollup_1m).toBe(33 * SENSORS);
    expect(count(s, 'rollup_1m', `bucket_start < ${keptFrom}`)).toBe(0);
    expect(count(s, 'rollup_1m')).toBe(334 * SENSORS - 33 * SENSORS);
    expect(r.evicted.rollup_1h).toBe(0);
    expect(r.after.usedBytes).toBeGreaterThan(r.maxBytes);
    s.close();
  });

  it('with thinUnsynced, thins the oldest unsynced readings and keeps their rollups', async () => {
    const s = filled(200_000);
    s.outbox.settle(20_000);
    const firstHour = `bucket_start < ${T0 + 3_600_000}`;
    const rollupsOf = (table: string) => s.db.prepare(`SELECT * FROM ${table} WHERE ${firstHour} ORDER BY sensor_id, bucket_start`).all();
    const minutes = rollupsOf('rollup_1m');
    const hours = rollupsOf('rollup_1h');
    expect(minutes).toHaveLength(SENSORS * 60);

    const r = await enforceDiskBudget(s.db, budget(s, 0.5, { thinUnsynced: true }));
    expect(r.overBudget).toBe(false);
    expect(r.after.usedBytes).toBeLessThanOrEqual(r.targetBytes);
    expect(r.evicted).toMatchObject({ raw_synced: 20_000, dead_letters: 0, rollup_1m: 0, rollup_1h: 0 });
    const thinned = r.evicted.raw_unsynced;
    expect(thinned).toBeGreaterThan(0);
    // The oldest unsynced first: seq 20001 onwards, contiguous.
    expect(one(s, 'SELECT min(seq) FROM readings')).toBe(20_000 + thinned + 1);
    // The first hour (10 sensors at 1 Hz: 36 000 readings) has no raw reading left; its
    // 1-minute and 1-hour rollups are untouched, every count, min, max and sum of them.
    expect(count(s, 'readings', `ts < ${T0 + 3_600_000}`)).toBe(0);
    expect(rollupsOf('rollup_1m')).toEqual(minutes);
    expect(rollupsOf('rollup_1h')).toEqual(hours);
    expect(minutes.every((m) => (m as { count: number }).count === 60)).toBe(true);

    // The outbox tells the cloud which seqs will never come, and no longer counts them as pending.
    const records = s.outbox.next(100);
    expect(records[0]!.seq).toBe(20_000 + thinned + 1);
    expect(s.outbox.span(records)).toEqual({ firstSeq: 20_001, lastSeq: records[99]!.seq, evicted: [[20_001, 20_000 + thinned]] });
    expect(s.outbox.state().pending).toBe(180_000 - thinned);
    expect(evictionTotals(s.db)).toMatchObject({ raw_synced: 20_000, raw_unsynced: thinned });
    s.close();
  });

  it('goes under budget for real: freed pages are reused, the file does not shrink and does not grow', async () => {
    const s = filled(300_000);
    s.outbox.settle(300_000);
    const start = measureHistorian(s.db);
    expect(start.freeBytes).toBe(0);
    expect(start.fileBytes).toBe(start.livePageBytes);

    const r = await enforceDiskBudget(s.db, budget(s, 0.6));
    expect(r.after.usedBytes).toBeLessThanOrEqual(r.targetBytes);
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    const evicted = measureHistorian(s.db);
    // Deleted rows went to the freelist; the file keeps its size (no VACUUM), honestly reported.
    expect(evicted.livePageBytes).toBeLessThan(0.6 * start.livePageBytes);
    expect(evicted.freeBytes).toBeGreaterThan(0.3 * start.livePageBytes);
    expect(evicted.fileBytes).toBe(start.fileBytes);

    // New readings fill the free pages before the file grows.
    const n = one<number>(s, 'SELECT max(seq) FROM readings');
    for (let from = n; from < n + 100_000; from += 10_000) s.readings.write(Array.from({ length: 10_000 }, (_, k) => reading(from + k)));
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    const refilled = measureHistorian(s.db);
    expect(refilled.livePageBytes).toBeGreaterThan(evicted.livePageBytes);
    expect(refilled.freeBytes).toBeLessThan(evicted.freeBytes);
    expect(refilled.fileBytes).toBe(start.fileBytes);
    s.close();
  });

  it('stops between transactions when aborted, and says so', async () => {
    const s = filled(50_000);
    s.outbox.settle(50_000);
    const stop = new AbortController();
    stop.abort();
    const r = await enforceDiskBudget(s.db, budget(s, 0.5, { signal: stop.signal }));
    expect(r).toMatchObject({ aborted: true, transactions: 0, overBudget: true });
    expect(r.reason).toMatch(/stopping/);
    expect(count(s, 'readings')).toBe(50_000);
    s.close();
  });

  it('reports the growth rate and the time until full from the previous run', async () => {
    const s = filled(10_000);
    let t = T0;
    const opts = { ...budget(s, 10), now: () => t };
    const first = await enforceDiskBudget(s.db, opts);
    expect(first.growthBytesPerSecond).toBeNull();
    expect(first.secondsUntilFull).toBeNull();
    s.readings.write(Array.from({ length: 10_000 }, (_, k) => reading(10_000 + k)));
    t += 10_000;
    const second = await enforceDiskBudget(s.db, { ...opts, previous: first.after });
    const grew = second.before.livePageBytes - first.after.livePageBytes;
    expect(grew).toBeGreaterThan(0);
    expect(second.growthBytesPerSecond).toBeCloseTo(grew / 10);
    expect(second.secondsUntilFull).toBeCloseTo((opts.maxBytes - second.after.usedBytes) / (grew / 10));
    s.close();
  });
});

describe('time until full', () => {
  it('divides the headroom by the growth rate', () => {
    expect(growthRate({ at: 0, livePageBytes: 1000 }, { at: 10_000, livePageBytes: 6000 })).toBe(500);
    expect(estimateTimeUntilFull({ usedBytes: 6000, maxBytes: 56_000, bytesPerSecond: 500 })).toBe(100);
  });

  it('is 0 at or over the budget, and null when not growing or without a rate', () => {
    expect(estimateTimeUntilFull({ usedBytes: 70_000, maxBytes: 56_000, bytesPerSecond: 500 })).toBe(0);
    expect(estimateTimeUntilFull({ usedBytes: 6000, maxBytes: 56_000, bytesPerSecond: 0 })).toBeNull();
    expect(estimateTimeUntilFull({ usedBytes: 6000, maxBytes: 56_000, bytesPerSecond: -20 })).toBeNull();
    expect(estimateTimeUntilFull({ usedBytes: 6000, maxBytes: 56_000, bytesPerSecond: null })).toBeNull();
    expect(growthRate({ at: 5, livePageBytes: 1 }, { at: 5, livePageBytes: 9 })).toBeNull();
  });
});

describe('DiskBudgetConfig', () => {
  it('defaults to keeping unsynced data, and converts MiB to bytes', () => {
    const cfg = DiskBudgetConfig.parse(undefined);
    expect(cfg).toEqual({ maxMiB: 2048, lowWater: 0.9, thinUnsynced: false, checkIntervalSeconds: 60 });
    expect(diskBudgetOptions(DiskBudgetConfig.parse({ maxMiB: 16.5, thinUnsynced: true }), true)).toEqual({
      maxBytes: 17_301_504,
      lowWater: 0.9,
      thinUnsynced: true,
      syncConfigured: true,
    });
    expect(DiskBudgetConfig.safeParse({ maxMB: 100 }).success).toBe(false);
    expect(DiskBudgetConfig.safeParse({ maxMiB: 4 }).success).toBe(false);
    // The log between checkpoints takes at most an eighth of the budget.
    expect(walPagesForBudget(DiskBudgetConfig.parse({ maxMiB: 16 }))).toBe(512);
    expect(walPagesForBudget(DiskBudgetConfig.parse({}))).toBe(4000);
    expect(DiskBudgetConfig.safeParse({ lowWater: 1 }).success).toBe(false);
  });
});

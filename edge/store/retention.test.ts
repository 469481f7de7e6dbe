import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import type { Reading } from '../../shared/reading.js';
import { createTelemetry } from '../telemetry/events.js';
import { applyRetention, DAY_MS } from './retention.js';
import { openStore, type Store } from './store.js';

const NOW = Date.UTC(2026, 10, 22, 8);
const open = (): Store => openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-retention-')), 'historian.sqlite') });
const at = (sensor: string, ts: number, value = 1): Reading => ({ sensor, ts, value, quality: 'good', receivedAt: NOW });
const ages = { now: NOW, rawDays: 30, rollup1mDays: 180, rollup1hDays: 3650 };
const count = (s: Store, table: string): number => s.db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get()!;
const seqs = (s: Store): number[] => s.db.prepare<[], number>('SELECT seq FROM readings ORDER BY seq').pluck().all();

describe('retention by age', () => {
  it('deletes raw readings older than rawDays by source time, keeps recent ones (no cloud)', async () => {
    const s = open();
    // Arrival order is not age order: seq 1 and 4 are old, 2, 3 and 5 recent.
    s.readings.write([at('a', NOW - 40 * DAY_MS), at('a', NOW - DAY_MS), at('b', NOW - 29 * DAY_MS), at('b', NOW - 31 * DAY_MS), at('b', NOW)]);
    const counts = await applyRetention(s.db, { ...ages, syncConfigured: false });
    expect(counts).toMatchObject({ rawEvicted: 2, keptUnsynced: 0 });
    expect(seqs(s)).toEqual([2, 3, 5]);
    // A later write continues the stream after the largest seq ever used.
    expect(s.readings.write([at('c', NOW)])).toEqual({ written: 1, duplicates: 0 });
    expect(seqs(s)).toEqual([2, 3, 5, 6]);
    s.close();
  });

  it('with sync configured, keeps old readings the cloud has not acknowledged, and the pending stream dense', async () => {
    const s = open();
    const old = NOW - 60 * DAY_MS;
    s.readings.write(Array.from({ length: 10 }, (_, i) => at(i % 2 ? 'a' : 'b', old + i)));
    s.readings.write([at('a', NOW - DAY_MS)]); // seq 11, recent
    s.outbox.settle(6);

    const first = await applyRetention(s.db, { ...ages, syncConfigured: true });
    expect(first).toMatchObject({ rawEvicted: 6, keptUnsynced: 4 });
    expect(seqs(s)).toEqual([7, 8, 9, 10, 11]);
    expect(s.outbox.next(100).map((r) => r.seq)).toEqual([7, 8, 9, 10, 11]);

    // The cloud acknowledges more: the next run may drop those, never the recent one.
    s.outbox.settle(11);
    expect(await applyRetention(s.db, { ...ages, syncConfigured: true })).toMatchObject({ rawEvicted: 4, keptUnsynced: 0 });
    expect(seqs(s)).toEqual([11]);

    // Without a cloud, the same old unsynced readings are deleted by age.
    const t = open();
    t.readings.write(Array.from({ length: 10 }, (_, i) => at('a', old + i)));
    expect(await applyRetention(t.db, { ...ages, syncConfigured: false })).toMatchObject({ rawEvicted: 10, keptUnsynced: 0 });
    s.close();
    t.close();
  });

  it('evicts each rollup tier by its own age, independently of raw', async () => {
    const s = open();
    s.readings.write([at('a', NOW - 200 * DAY_MS), at('a', NOW - 100 * DAY_MS), at('a', NOW - 4000 * DAY_MS), at('a', NOW)]);
    expect([count(s, 'rollup_1m'), count(s, 'rollup_1h')]).toEqual([4, 4]);
    const counts = await applyRetention(s.db, { ...ages, syncConfigured: false });
    expect(counts).toMatchObject({ rawEvicted: 3, rollup1mEvicted: 2, rollup1hEvicted: 1, keptUnsynced: 0 });
    const starts = (table: string) => s.db.prepare<[], number>(`SELECT bucket_start FROM ${table} ORDER BY bucket_start`).pluck().all();
    expect(starts('rollup_1m')).toEqual([NOW - 100 * DAY_MS, NOW]);
    expect(starts('rollup_1h')).toEqual([NOW - 200 * DAY_MS, NOW - 100 * DAY_MS, NOW]);
    s.close();
  });

  it('works in bounded batches across sensors, and every eviction is counted', async () => {
    const s = open();
    const old = NOW - 90 * DAY_MS;
    // 3 sensors × 2500 old readings (1 s apart), 3 recent ones; half the old ones acknowledged.
    const rows: Reading[] = [];
    for (let i = 0; i < 2500; i++) for (const sensor of ['a', 'b', 'c']) rows.push(at(sensor, old + i * 1000, i));
    s.readings.write(rows);
    s.readings.write(['a', 'b', 'c'].map((x) => at(x, NOW)));
    s.outbox.settle(3750);

    const telemetry = createTelemetry(silentLogger);
    const counts = await applyRetention(s.db, { ...ages, syncConfigured: true, batch: 1000 });
    telemetry.retentionApplied(counts);
    expect(counts).toMatchObject({ rawEvicted: 3750, keptUnsynced: 3750 });
    // 7500 old raw rows scanned 1000 at a time: 8 transactions for raw, plus one per rollup tier.
    expect(counts.transactions).toBe(8 + 1 + 1);
    expect(seqs(s)[0]).toBe(3751);
    expect(s.outbox.next(10_000).map((r) => r.seq)).toEqual(Array.from({ length: 3753 }, (_, i) => 3751 + i));
    expect(telemetry.counters).toMatchObject({ rawEvicted: 3750, rollup1mEvicted: 0, rollup1hEvicted: 0, keptUnsynced: 3750 });

    // Counters accumulate evictions; keptUnsynced is the latest run's figure.
    s.outbox.settle(7503);
    telemetry.retentionApplied(await applyRetention(s.db, { ...ages, syncConfigured: true, batch: 1000 }));
    expect(telemetry.counters).toMatchObject({ rawEvicted: 7500, keptUnsynced: 0 });
    expect(count(s, 'readings')).toBe(3);
    s.close();
  });

  it('stops between batches when aborted', async () => {
    const s = open();
    s.readings.write(Array.from({ length: 3000 }, (_, i) => at('a', NOW - 90 * DAY_MS + i)));
    const abort = new AbortController();
    const run = applyRetention(s.db, { ...ages, syncConfigured: false, batch: 1000, signal: abort.signal });
    abort.abort(); // the first transaction has already run synchronously
    expect(await run).toMatchObject({ rawEvicted: 1000, transactions: 1 });
    expect(count(s, 'readings')).toBe(2000);
    s.close();
  });
});

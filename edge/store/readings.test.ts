import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from './store.js';

const T = Date.UTC(2026, 10, 22, 8);
const r = (sensor: string, i: number, value = i) => ({ sensor, ts: T + i * 1000, value, quality: 'good' as const, receivedAt: T + i * 1000 + 3 });

describe('reading writer', () => {
  it('stores a redelivered reading once and keeps the outbox sequence dense', () => {
    const store = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-store-')), 'historian.sqlite') });
    expect(store.readings.write([r('a/x', 0), r('a/y', 0), r('a/x', 1)])).toEqual({ written: 3, duplicates: 0 });
    // A QoS 1 redelivery of the first message, mixed with new readings.
    expect(store.readings.write([r('a/x', 0, 99), r('a/x', 2), r('a/y', 1)])).toEqual({ written: 2, duplicates: 1 });
    const rows = store.outbox.next(100);
    expect(rows.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.find((x) => x.sensor === 'a/x' && x.ts === T)!.value).toBe(0);
    expect(store.outbox.state()).toMatchObject({ lastSeq: 5, pending: 5, ackedSeq: 0 });
    store.outbox.settle(3);
    expect(store.outbox.next(100).map((x) => x.seq)).toEqual([4, 5]);
    store.close();
  });

  it('keeps nothing of a batch whose transaction fails', () => {
    const store = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-store-')), 'historian.sqlite') });
    store.readings.write([r('a/x', 0)]);
    const bad = { ...r('a/new', 1), value: null as unknown as number };
    expect(() => store.readings.write([r('a/x', 5), bad])).toThrow(/NOT NULL/);
    expect(store.outbox.state().lastSeq).toBe(1);
    // The sensor created inside the failed transaction is not cached with a stale id.
    expect(store.readings.write([r('a/new', 1)])).toEqual({ written: 1, duplicates: 0 });
    expect(store.outbox.next(10).map((x) => [x.seq, x.sensor])).toEqual([[1, 'a/x'], [2, 'a/new']]);
    store.close();
  });
});

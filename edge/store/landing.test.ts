import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseBucketWidth } from '../../shared/mcp/time-range.js';
import type { Quality, Reading } from '../../shared/reading.js';
import { openStoreDb } from './db.js';
import { createHistorianQueries } from './queries.js';
import { openStore, type Store } from './store.js';

// Deferred filing (migrations/007_landing.sql): readings committed to `landing` and filed into
// `readings` later. What a user checks: nothing lost or doubled, the same answers before and
// after filing, a dense stream, and a crash's landed readings filed at the next start.

const T0 = Date.UTC(2026, 10, 22, 0); // on an hour
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'mw-landing-')), 'historian.sqlite');
const quality = (i: number): Quality => (i % 97 === 0 ? 'bad' : i % 13 === 0 ? 'uncertain' : 'good');
// Multiples of 0.25: every sum is exact, so answers compare bit for bit.
const reading = (sensor: string, ts: number, i: number): Reading => ({ sensor, ts, value: ((i * 7919) % 4001) * 0.25 - 300, quality: quality(i), receivedAt: ts + 5 });
const count = (s: Store, table: string): number => s.db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get()!;
const seqs = (s: Store): number[] => s.db.prepare<[], number>('SELECT seq FROM readings ORDER BY seq').pluck().all();

/** 3 hours at 1 Hz of two sensors, from off the minute, in commits of 500 readings. */
function threeHours(): Reading[][] {
  const all: Reading[] = [];
  for (let i = 0; i < 3 * 3600; i++) for (const s of ['p/a', 'p/b']) all.push(reading(s, T0 + 17_250 + i * 1000, i + (s === 'p/b' ? 5 : 0)));
  const batches: Reading[][] = [];
  for (let k = 0; k < all.length; k += 500) batches.push(all.slice(k, k + 500));
  return batches;
}

/** Every answer a user can get about a sensor, over ranges that read raw, 1-minute and 1-hour data. */
function answers(s: Store) {
  const q = createHistorianQueries(s.db);
  const ranges: { from?: number; to?: number; maxPoints: number }[] = [
    { maxPoints: 100_000 }, // all of it, raw
    { maxPoints: 100 }, // all of it, rollups plus cut edges
    { from: T0, to: T0 + 3 * 3_600_000 - 1, maxPoints: 3 }, // whole hours
    { from: T0 + 600_000, to: T0 + 2 * 3_600_000 + 1_805_000, maxPoints: 60 }, // whole minutes, cut last
    { from: T0 + 12_345, to: T0 + 3_600_999, maxPoints: 500 }, // off the second
  ];
  return {
    sensors: q.listSensors({ limit: 10 }),
    history: ranges.flatMap((r) => ['p/a', 'p/b'].map((sensor) => q.history({ sensor, ...r, bucketWidth: chooseBucketWidth }))),
  };
}

describe('deferred filing', () => {
  it('answers the same before and after filing, and the same as a store that never deferred', () => {
    const batches = threeHours();
    const direct = openStore({ file: dbFile() });
    for (const b of batches) direct.readings.write(b);
    const deferred = openStore({ file: dbFile(), deferFiling: true });
    // The first two hours filed, the third only landed: answers mix both tables. Commits of one
    // reading per sensor, as OPC-UA delivers them (a denser commit would skip landing).
    batches.forEach((b, k) => {
      for (let j = 0; j < b.length; j += 2) deferred.readings.write(b.slice(j, j + 2));
      if (k === Math.floor((batches.length * 2) / 3)) deferred.readings.file();
    });
    expect(count(deferred, 'landing')).toBeGreaterThan(3000);
    const want = answers(direct);
    expect(want.history.some((h) => h.downsampled)).toBe(true);
    expect(answers(deferred)).toEqual(want);

    expect(deferred.readings.file()).toMatchObject({ filed: expect.any(Number), sensors: 2, more: false });
    expect(count(deferred, 'landing')).toBe(0);
    expect(answers(deferred)).toEqual(want);
    // The filed stream is dense, and the rollups are those of the direct store.
    expect(seqs(deferred)).toEqual(seqs(direct));
    for (const t of ['rollup_1m', 'rollup_1h']) {
      const rows = (s: Store) => s.db.prepare(`SELECT * FROM ${t} ORDER BY sensor_id, bucket_start`).all();
      expect(rows(deferred)).toEqual(rows(direct));
    }
    direct.close();
    deferred.close();
  }, 60_000);

  it('counts a redelivered reading as a duplicate whether it is landed or filed, and stores it once', () => {
    const s = openStore({ file: dbFile(), deferFiling: true });
    expect(s.readings.write([reading('a/x', T0, 0), reading('a/x', T0 + 1000, 1), reading('a/x', T0, 2)])).toEqual({ written: 2, duplicates: 1 });
    // Landed: the same sensor and ts again, with another value, is not stored.
    expect(s.readings.write([reading('a/x', T0 + 1000, 9), reading('a/y', T0, 3)])).toEqual({ written: 1, duplicates: 1 });
    expect(s.readings.landed()).toMatchObject({ rows: 3, sensors: 2 });
    s.readings.file();
    // Filed: still a duplicate.
    expect(s.readings.write([reading('a/x', T0, 7), reading('a/x', T0 + 2000, 4)])).toEqual({ written: 1, duplicates: 1 });
    s.readings.file();
    const rows = s.db.prepare<[], { seq: number; ts: number; value: number }>('SELECT seq, ts, value FROM readings ORDER BY seq').all();
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(rows.filter((r) => r.ts === T0).map((r) => r.value)).toEqual([reading('', 0, 0).value, reading('', 0, 3).value]);
    s.close();
  });

  it('files in parts, each its own transaction: nothing lost or doubled, the stream dense', () => {
    const batches = threeHours();
    const direct = openStore({ file: dbFile() });
    const deferred = openStore({ file: dbFile(), deferFiling: true });
    // Commits of one reading per sensor: not dense, so they land.
    for (const b of batches) {
      direct.readings.write(b);
      for (let k = 0; k < b.length; k += 2) expect(deferred.readings.write(b.slice(k, k + 2)).written).toBe(2);
    }
    const landed = count(deferred, 'landing');
    expect(landed).toBe(3 * 3600 * 2);
    const parts: number[] = [];
    for (;;) {
      const r = deferred.readings.file(1000);
      parts.push(r.filed);
      // Between parts, the answers already equal the direct store's.
      if (parts.length === 3) expect(answers(deferred)).toEqual(answers(direct));
      if (!r.more) break;
    }
    expect(parts.reduce((a, b) => a + b, 0)).toBe(landed);
    expect(parts.slice(0, -1).every((n) => n === 1000)).toBe(true);
    expect(deferred.readings.landed()).toMatchObject({ rows: 0, sensors: 0 });
    expect(count(deferred, 'landing')).toBe(0);
    expect(seqs(deferred)).toEqual(seqs(direct));
    expect(answers(deferred)).toEqual(answers(direct));
    direct.close();
    deferred.close();
  }, 60_000);

  it('goes on from its cursor: what lands below it during a sweep waits for the next sweep, and is not lost', () => {
    const s = openStore({ file: dbFile(), deferFiling: true });
    const sensors = Array.from({ length: 10 }, (_, k) => `m/${k}`);
    for (let i = 0; i < 5; i++) for (const m of sensors) s.readings.write([reading(m, T0 + i * 1000, i)]);
    const first = s.readings.file(20);
    expect(first).toMatchObject({ filed: 20, more: true });
    // Between parts: one more reading for a sensor already swept, one for a sensor still ahead.
    s.readings.write([reading('m/0', T0 + 9000, 9)]);
    s.readings.write([reading('m/9', T0 + 9000, 9)]);
    let r = first;
    while (r.more) r = s.readings.file(20, r.cursor);
    // The sweep filed everything but the swept sensor's late reading, which is still landed.
    expect(count(s, 'readings')).toBe(51);
    expect(s.db.prepare('SELECT ts FROM landing').pluck().all()).toEqual([T0 + 9000]);
    expect(s.readings.landed()).toMatchObject({ rows: 1, sensors: 1 });
    expect(s.readings.file()).toMatchObject({ filed: 1, more: false });
    expect(seqs(s)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1));
    s.close();
  });

  it('opens when the crash leftovers cannot be filed (a full disk), keeping them landed and answerable', () => {
    const file = dbFile();
    const s = openStore({ file, deferFiling: true });
    s.readings.write([reading('a/x', T0, 0), reading('a/y', T0, 1)]);
    // Stands in for a full disk: every insert into readings fails.
    s.db.exec("CREATE TRIGGER full BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const crashedDb = s.db;

    const again = openStore({ file, deferFiling: true });
    expect(count(again, 'landing')).toBe(2);
    expect(createHistorianQueries(again.db).history({ sensor: 'a/x', maxPoints: 10, bucketWidth: chooseBucketWidth }).count).toBe(1);
    again.db.exec('DROP TRIGGER full');
    expect(again.readings.file()).toMatchObject({ filed: 2, more: false });
    again.close();
    crashedDb.close();
  });

  it('files a dense commit at once, and a reading still landed is a duplicate of it', () => {
    const s = openStore({ file: dbFile(), deferFiling: true });
    expect(s.readings.write([reading('a/x', T0, 0)])).toEqual({ written: 1, duplicates: 0 });
    // 40 readings of one sensor (a batched payload), the first of them already landed.
    const batch = Array.from({ length: 40 }, (_, i) => reading('a/x', T0 + i * 1000, 100 + i));
    expect(s.readings.write(batch)).toEqual({ written: 39, duplicates: 1 });
    expect(count(s, 'readings')).toBe(39);
    expect(count(s, 'landing')).toBe(1);
    s.readings.file();
    expect(seqs(s)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // The first reading stored for a sensor and ts is the one kept.
    expect(s.db.prepare('SELECT value FROM readings WHERE ts = ?').pluck().get(T0)).toBe(reading('', 0, 0).value);
    // And a landed reading after a dense commit is checked against it.
    expect(s.readings.write([reading('a/x', T0 + 39_000, 7)])).toEqual({ written: 0, duplicates: 1 });
    s.close();
  });

  it('files what a crash left landed when the historian is opened again', () => {
    const file = dbFile();
    const s = openStore({ file, deferFiling: true });
    s.readings.write(Array.from({ length: 1000 }, (_, i) => reading(`m/${i}`, T0 + i * 100, i)));
    // No close: the process is gone; its commits are in the WAL, its landed readings unfiled.
    expect(count(s, 'readings')).toBe(0);
    const crashedDb = s.db;

    const again = openStore({ file, deferFiling: true });
    expect(count(again, 'landing')).toBe(0);
    expect(seqs(again)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(again.outbox.next(5000)).toHaveLength(1000);
    again.close();
    crashedDb.close();
    // A plain open (no deferral) sees the same.
    const plain = openStoreDb(file);
    expect(plain.prepare('SELECT count(*) AS n FROM readings').get()).toEqual({ n: 1000 });
    plain.close();
  });

  it('keeps landed readings through a failed filing and files them with the next', () => {
    const s = openStore({ file: dbFile(), deferFiling: true });
    s.readings.write([reading('a/x', T0, 0), reading('a/x', T0 + 1000, 1)]);
    // A trigger that fails the filing part way, as a full disk would.
    s.db.exec(`CREATE TRIGGER fail_once BEFORE INSERT ON readings WHEN NEW.ts = ${T0 + 1000} BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    expect(() => s.readings.file()).toThrow(/disk full/);
    expect(count(s, 'landing')).toBe(2);
    expect(count(s, 'readings')).toBe(0);
    s.db.exec('DROP TRIGGER fail_once');
    s.readings.write([reading('a/x', T0 + 2000, 2)]);
    expect(s.readings.file()).toMatchObject({ filed: 3, sensors: 1, more: false });
    expect(seqs(s)).toEqual([1, 2, 3]);
    s.close();
  });
});

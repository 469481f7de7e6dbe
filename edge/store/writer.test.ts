import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../shared/reading.js';
import { eventually } from '../../test/helpers/mqtt.js';
import { openReadOnlyDb } from './db.js';
import { startStoreWriter } from './writer.js';

const T = Date.UTC(2026, 10, 22, 8);
const reading = (sensor: string, i: number, value = i): Reading => ({ sensor, ts: T + i, value, quality: 'good', receivedAt: T + i });

describe('store writer thread', () => {
  it('resolves a commit only once another connection can read it, and keeps seqs dense across grouped calls', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-writer-')), 'historian.sqlite');
    const writer = await startStoreWriter({ file, synchronous: 'normal' });
    const reader = openReadOnlyDb(file);
    // Committed readings are landed or already filed (migrations/007_landing.sql).
    const count = reader.prepare<[], number>('SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM landing)').pluck();
    // 200 calls issued at once: grouped into few transactions, each resolved with its own result.
    const calls = Array.from({ length: 200 }, (_, i) => writer.commit([reading(`s/${i % 7}`, i), reading(`s/${i % 7}`, i)]));
    const results = await Promise.all(calls);
    expect(results.every((r) => r.written === 1 && r.duplicates === 1)).toBe(true);
    expect(count.get()).toBe(200);
    const one = await writer.commit([reading('s/late', 1000)]);
    expect(one).toEqual({ written: 1, duplicates: 0 });
    expect(count.get()).toBe(201);
    // Filed once the writer is idle for a moment, with a dense stream of seqs.
    const seqs = reader.prepare<[], number>('SELECT seq FROM readings ORDER BY seq').pluck();
    expect(await eventually(() => seqs.all().length === 201, 5000)).toBe(true);
    expect(seqs.all()).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    reader.close();
    await writer.close();
  });

  it('fails only the bad call of a group, and rejects every call once the thread is gone', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-writer-')), 'historian.sqlite');
    const writer = await startStoreWriter({ file, synchronous: 'normal' });
    // A NaN value violates NOT NULL (SQLite stores NaN as NULL): that call fails, its neighbours commit.
    const good1 = writer.commit([reading('a/x', 1)]);
    const bad = writer.commit([reading('a/x', 2, Number.NaN)]);
    const good2 = writer.commit([reading('a/x', 3)]);
    await expect(good1).resolves.toEqual({ written: 1, duplicates: 0 });
    await expect(bad).rejects.toThrow(/NOT NULL/);
    await expect(good2).resolves.toEqual({ written: 1, duplicates: 0 });
    await writer.deadLetter({ source: 'src', reason: 'too big', raw: new Uint8Array(100_000) });
    await writer.close();
    await expect(writer.commit([reading('a/x', 4)])).rejects.toThrow(/store writer is closed/);

    const reader = openReadOnlyDb(file);
    expect(reader.prepare('SELECT seq, ts FROM readings ORDER BY seq').all()).toEqual([
      { seq: 1, ts: T + 1 },
      { seq: 2, ts: T + 3 },
    ]);
    expect(reader.prepare('SELECT reason, length(raw) AS kept, raw_bytes FROM dead_letters').get()).toEqual({ reason: 'too big', kept: 4096, raw_bytes: 100_000 });
    reader.close();
  });

  it('files landed readings under steady load, within fileWithinMs, though the writer is never idle', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-writer-')), 'historian.sqlite');
    const writer = await startStoreWriter({ file, synchronous: 'normal', fileWithinMs: 500 });
    const reader = openReadOnlyDb(file);
    const filed = reader.prepare<[], number>('SELECT count(*) FROM readings').pluck();
    // One reading each from 1,000 sensors every 50 ms: never idle, and each sensor has far fewer
    // than the readings that would make a filing worth it by itself.
    let i = 0;
    let sawFiled = 0;
    const start = Date.now();
    while (Date.now() - start < 2000) {
      await writer.commit(Array.from({ length: 1000 }, (_, k) => reading(`s/${k}`, i)));
      i++;
      sawFiled = filed.get()!;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sawFiled).toBeGreaterThan(0);
    expect(sawFiled).toBeLessThan(i * 1000);
    await writer.close();
    expect(filed.get()).toBe(i * 1000);
    reader.close();
  });

  it('checkpoints on a timer after commits, so the WAL reaches the main file without waiting for the autocheckpoint', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-writer-')), 'historian.sqlite');
    const writer = await startStoreWriter({ file, synchronous: 'normal', checkpointMs: 200 });
    const mainFileBytes = () => statSync(file).size;
    const before = mainFileBytes();
    await writer.commit(Array.from({ length: 5000 }, (_, i) => reading(`s/${i % 100}`, i)));
    // A few hundred pages: far below the autocheckpoint, so only the timer can have moved them.
    expect(await eventually(() => mainFileBytes() > before + 100_000, 5000)).toBe(true);
    await writer.close();
  });
});

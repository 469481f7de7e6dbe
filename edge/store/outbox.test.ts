import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../shared/reading.js';
import { openStore, type Store } from './store.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (i: number): Reading => ({ sensor: `acme/p1/l1/m${i % 3}/temp`, ts: T0 + i * 1000, value: i, quality: 'good', receivedAt: T0 + i * 1000 });

/** Seqs 1..n, then the evictions given as [category, from, to] deleted and recorded. */
function store(n: number, evictions: [string, number, number][] = []): Store {
  const s = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-outbox-')), 'historian.sqlite') });
  s.readings.write(Array.from({ length: n }, (_, i) => at(i)));
  for (const [category, from, to] of evictions) {
    const rows = category.startsWith('raw') ? s.db.prepare('DELETE FROM readings WHERE seq BETWEEN ? AND ?').run(from, to).changes : 1;
    s.db
      .prepare('INSERT INTO evictions (category, first_at, last_at, rows, from_key, to_key) VALUES (?, 0, 0, ?, ?, ?)')
      .run(category, Math.max(rows, 1), from, to);
  }
  return s;
}

describe('outbox batch span', () => {
  it('without evictions, spans the records', () => {
    const s = store(10);
    s.outbox.settle(3);
    const records = s.outbox.next(4);
    expect(s.outbox.span(records)).toEqual({ firstSeq: 4, lastSeq: 7, evicted: [] });
    expect(s.outbox.state().pending).toBe(7);
    s.close();
  });

  it('starts just above the acked seq when the budget evicted what came next, and declares holes inside', () => {
    const s = store(20, [['raw_unsynced', 4, 6], ['raw_unsynced', 9, 10], ['raw_unsynced', 15, 16]]);
    s.outbox.settle(3);
    const records = s.outbox.next(4);
    expect(records.map((r) => r.seq)).toEqual([7, 8, 11, 12]);
    // 15..16 lie after the last record: they go with a later batch.
    expect(s.outbox.span(records)).toEqual({ firstSeq: 4, lastSeq: 12, evicted: [[4, 6], [9, 10]] });
    expect(s.outbox.state().pending).toBe(20 - 3 - 7);
    s.close();
  });

  it('merges overlapping and adjacent ranges of either raw category, and ignores the other categories', () => {
    const s = store(20, [['raw_unsynced', 5, 6], ['raw_synced', 1, 6], ['raw_unsynced', 7, 8], ['dead_letters', 9, 9], ['rollup_1m', 9, 12]]);
    // The cloud rewound below what the budget had evicted as synced: those seqs will not come either.
    s.outbox.settle(2);
    const records = s.outbox.next(2);
    expect(s.outbox.span(records)).toEqual({ firstSeq: 3, lastSeq: 10, evicted: [[3, 8]] });
    s.close();
  });

  it('never declares a record in hand evicted (the budget ran between next and span)', () => {
    const s = store(10);
    s.outbox.settle(1);
    const records = s.outbox.next(5); // 2..6
    s.db.prepare('DELETE FROM readings WHERE seq BETWEEN 2 AND 8').run();
    s.db.prepare("INSERT INTO evictions (category, first_at, last_at, rows, from_key, to_key) VALUES ('raw_unsynced', 0, 0, 7, 2, 8)").run();
    expect(s.outbox.span(records)).toEqual({ firstSeq: 2, lastSeq: 6, evicted: [] });
    expect(s.outbox.span(records.filter((r) => r.seq !== 4))).toEqual({ firstSeq: 2, lastSeq: 6, evicted: [[4, 4]] });
    s.close();
  });

  it('leaves an unexplained hole for the cloud to refuse, as before', () => {
    const s = store(10);
    s.db.prepare('DELETE FROM readings WHERE seq BETWEEN 1 AND 3').run();
    expect(s.outbox.span(s.outbox.next(2))).toEqual({ firstSeq: 4, lastSeq: 5, evicted: [] });
    expect(() => s.outbox.span([])).toThrow(/at least one record/);
    s.close();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from './store.js';

const T = Date.UTC(2026, 10, 22, 8);

describe('gap markers', () => {
  it('opens one gap per source, closes it at the first value, and lists by overlap', () => {
    const store = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-store-')), 'historian.sqlite') });
    const id = store.gaps.record('plc', { start: T, reason: 'connection lost' });
    // A second open while one is open keeps the first: its start is when reading stopped.
    expect(store.gaps.record('plc', { start: T + 500, reason: 'stale' })).toBe(id);
    store.gaps.record('other', { start: T + 100, reason: 'stale' });
    expect(store.gaps.list({ source: 'plc' })).toEqual([expect.objectContaining({ id, startMs: T, endMs: null, reason: 'connection lost' })]);

    expect(store.gaps.close('plc', T + 4000)).toMatchObject({ id, startMs: T, endMs: T + 4000 });
    expect(store.gaps.close('plc', T + 5000)).toBeNull();
    // A clock that stepped back never makes a gap end before it starts.
    store.gaps.record('plc', { start: T + 9000, reason: 'stale' });
    expect(store.gaps.close('plc', T + 8000)).toMatchObject({ startMs: T + 9000, endMs: T + 9000 });
    // A gap known at once in full.
    store.gaps.record('plc', { start: T + 20_000, end: T + 21_000, reason: 'stale' });

    expect(store.gaps.list({ fromMs: T + 4500, toMs: T + 9500 }).map((g) => [g.source, g.startMs])).toEqual([
      ['other', T + 100],
      ['plc', T + 9000],
    ]);
    expect(store.gaps.list({ source: 'plc' })).toHaveLength(3);
    store.close();
  });
});

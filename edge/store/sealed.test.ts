import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSeries } from '../../shared/sync-codec.js';
import type { SeriesBlock } from '../../shared/sync.js';
import type { Reading } from '../../shared/reading.js';
import { createSealedStore } from './sealed.js';
import { openStore } from './store.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (i: number): Reading => ({ sensor: `acme/p1/l1/m${i % 3}/temp`, ts: T0 + Math.floor(i / 3) * 1000, value: i / 4, quality: i % 11 === 0 ? 'bad' : 'good', receivedAt: T0 + i * 333 });

function store(n: number) {
  const s = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-sealed-')), 'historian.sqlite') });
  s.readings.write(Array.from({ length: n }, (_, i) => at(i)));
  return { s, sealed: createSealedStore(s.db, s.outbox) };
}

describe('sealed batches', () => {
  it('seals full batches of the backlog, whose series decode to exactly the rows the outbox would send', () => {
    const { s, sealed } = store(250);
    expect(sealed.seal(100)).toBe(true);
    expect(sealed.seal(100)).toBe(true);
    // 50 left: not a full batch, not sealed; the sync encodes those itself.
    expect(sealed.seal(100)).toBe(false);
    expect(sealed.count()).toEqual({ batches: 2, records: 200 });
    const first = sealed.take(0)!;
    expect(first).toMatchObject({ firstSeq: 1, lastSeq: 100, records: 100 });
    const series = JSON.parse(gunzipSync(first.body).toString('utf8')) as SeriesBlock[];
    expect(decodeSeries(series).sort((a, b) => a.seq - b.seq)).toEqual(s.outbox.next(100));
    // The first seal above a seq: the sync sends it only when it starts just above the acked one.
    expect(sealed.take(50)).toMatchObject({ firstSeq: 101 });
    expect(sealed.take(100)).toMatchObject({ firstSeq: 101, lastSeq: 200 });
    s.close();
  });

  it('drops what the cloud acknowledged, and never seals below the acknowledged seq', () => {
    const { s, sealed } = store(300);
    sealed.seal(100);
    s.outbox.settle(150);
    sealed.prune(150);
    expect(sealed.count()).toEqual({ batches: 0, records: 0 });
    expect(sealed.seal(100)).toBe(true);
    expect(sealed.take(150)).toMatchObject({ firstSeq: 151, lastSeq: 250 });
    s.close();
  });

  it('an eviction drops the seals it touches; a span with an evicted seq is not sealed', () => {
    const { s, sealed } = store(300);
    sealed.seal(100);
    sealed.seal(100);
    s.db.prepare('DELETE FROM readings WHERE seq BETWEEN 120 AND 130').run();
    s.db.prepare("INSERT INTO evictions (category, first_at, last_at, rows, from_key, to_key) VALUES ('raw_unsynced', 0, 0, 11, 120, 130)").run();
    expect(sealed.take(0)).toBeDefined();
    expect(sealed.take(100)).toBeUndefined();
    expect(sealed.count().batches).toBe(1);
    // Sealing goes on from the last seal, and the hole stops it: the sync encodes that span itself.
    expect(sealed.seal(100)).toBe(false);
    s.close();
  });
});

import { gzipSync } from 'node:zlib';
import { encodeSeries } from '../../shared/sync-codec.js';
import type { SqliteDb } from './db.js';
import type { Outbox } from './outbox.js';

export interface SealedBatch {
  firstSeq: number;
  lastSeq: number;
  records: number;
  /** gzip of the batch's `series` array as JSON (shared/sync.ts SeriesBlock[]). */
  body: Buffer;
}

/**
 * Pre-encoded batches of the readings stream (migrations/010_sealed.sql). The writer seals the
 * backlog in the background (seal), the sync reads the batch that starts just above the
 * acknowledged seq (take) and falls back to encoding rows when there is none; acknowledged seals
 * are dropped (prune).
 */
export interface SealedStore {
  /**
   * Seals the next full batch of `records` readings above the last seal (or the acknowledged
   * seq), if the backlog holds one and it covers its span with no evicted seq. True if it sealed.
   */
  seal(records: number): boolean;
  /** The first seal above the acknowledged seq (the sync sends it when it starts just above). */
  take(ackedSeq: number): SealedBatch | undefined;
  prune(ackedSeq: number): void;
  /** Seals not yet acknowledged: how many, and the readings in them. */
  count(): { batches: number; records: number };
}

export function createSealedStore(db: SqliteDb, outbox: Pick<Outbox, 'next' | 'span' | 'state'>): SealedStore {
  const lastSealed = db.prepare<[], { last: number | null }>('SELECT max(last_seq) AS last FROM sealed_batches');
  const insert = db.prepare('INSERT INTO sealed_batches (first_seq, last_seq, records, body) VALUES (@firstSeq, @lastSeq, @records, @body)');
  const takeStmt = db.prepare<[number], { first_seq: number; last_seq: number; records: number; body: Buffer }>(
    'SELECT first_seq, last_seq, records, body FROM sealed_batches WHERE first_seq > ? ORDER BY first_seq LIMIT 1',
  );
  const pruneStmt = db.prepare<[number]>('DELETE FROM sealed_batches WHERE last_seq <= ?');
  const countStmt = db.prepare<[], { batches: number; records: number | null }>('SELECT count(*) AS batches, sum(records) AS records FROM sealed_batches');
  return {
    seal(records) {
      const acked = outbox.state().ackedSeq;
      const from = Math.max(acked, lastSealed.get()?.last ?? 0);
      const rows = outbox.next(records, from);
      if (rows.length < records) return false;
      // Dense: exactly the seqs from+1..from+records, so nothing evicted or missing in the span.
      if (rows[0]!.seq !== from + 1 || rows[rows.length - 1]!.seq !== from + records) return false;
      const body = gzipSync(JSON.stringify(encodeSeries(rows)));
      insert.run({ firstSeq: from + 1, lastSeq: from + records, records, body });
      return true;
    },
    take(ackedSeq) {
      const r = takeStmt.get(ackedSeq);
      return r ? { firstSeq: r.first_seq, lastSeq: r.last_seq, records: r.records, body: r.body } : undefined;
    },
    prune: (ackedSeq) => void pruneStmt.run(ackedSeq),
    count() {
      const c = countStmt.get()!;
      return { batches: c.batches, records: c.records ?? 0 };
    },
  };
}

import type { SqliteDb } from './db.js';

/** Raw bytes kept per dead letter; enough to see what was wrong, not enough to fill the disk. */
export const DEAD_LETTER_RAW_CAP = 4096;

export interface DeadLetter {
  source: string;
  topic?: string;
  reason: string;
  raw?: Uint8Array;
  /** Size of the original input when `raw` was already cut; default raw's length. */
  rawBytes?: number;
}

export interface DeadLetterStore {
  add(entry: DeadLetter): void;
  count(): number;
}

export function createDeadLetterStore(db: SqliteDb): DeadLetterStore {
  const insert = db.prepare<[number, string, string | null, string, Buffer | null, number]>(
    'INSERT INTO dead_letters (at, source, topic, reason, raw, raw_bytes) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_letters');
  return {
    add(e) {
      const raw = e.raw ? Buffer.from(e.raw.subarray(0, DEAD_LETTER_RAW_CAP)) : null;
      insert.run(Date.now(), e.source, e.topic ?? null, e.reason.slice(0, 1000), raw, e.rawBytes ?? e.raw?.length ?? 0);
    },
    count: () => countStmt.get()!.n,
  };
}

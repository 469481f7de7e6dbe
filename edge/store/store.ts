import { openStoreDb, type SqliteDb, type Synchronous } from './db.js';
import { createDeadLetterStore, type DeadLetterStore } from './dead-letters.js';
import { createGapStore, type GapStore } from './gaps.js';
import { createOutbox, type Outbox } from './outbox.js';
import { createReadingWriter, type ReadingWriter } from './readings.js';

/** The historian as the agent's stages see it: one writer connection shared by its parts. */
export interface Store {
  readonly file: string;
  readonly readings: ReadingWriter;
  readonly deadLetters: DeadLetterStore;
  /** Spans in which a source could read nothing (DESIGN guarantee 4). */
  readonly gaps: GapStore;
  readonly outbox: Outbox;
  readonly db: SqliteDb;
  close(): void;
}

export function openStore(opts: { file: string; synchronous?: Synchronous; walPages?: number }): Store {
  const synchronous = opts.synchronous ?? 'normal';
  const db = openStoreDb(opts.file, synchronous, opts.walPages);
  return {
    file: opts.file,
    db,
    readings: createReadingWriter(db),
    deadLetters: createDeadLetterStore(db),
    gaps: createGapStore(db),
    outbox: createOutbox(db, { synchronous }),
    close() {
      if (!db.open) return;
      // Folding the WAL back into the main file on a clean stop keeps the next start fast.
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

import { openStoreDb, type SqliteDb, type Synchronous } from './db.js';
import { createDeadLetterStore, type DeadLetterStore } from './dead-letters.js';
import { createEventStore, type EventStore } from './events.js';
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
  /** Findings and alarms, and their sync stream. */
  readonly events: EventStore;
  readonly db: SqliteDb;
  close(): void;
}

/**
 * `deferFiling`: readings land in `landing` and are filed into `readings` when the owner calls
 * `readings.file()` (the writer thread does, on its own policy); without it each write files.
 */
export function openStore(opts: { file: string; synchronous?: Synchronous; walPages?: number; deferFiling?: boolean; clock?: () => number }): Store {
  const synchronous = opts.synchronous ?? 'normal';
  const db = openStoreDb(opts.file, synchronous, opts.walPages);
  const readings = createReadingWriter(db, { deferFiling: opts.deferFiling ?? false, ...(opts.clock ? { clock: opts.clock } : {}) });
  // A crash's landed readings are filed before anything reads the stream by seq. If that fails
  // (a full disk), they stay landed, where queries find them, and the writer retries: a gateway
  // whose disk filled up must still start, or its disk budget could never free the space.
  if (readings.landed().rows > 0) {
    try {
      readings.file();
    } catch {
      // retried by the owner's filing policy
    }
  }
  return {
    file: opts.file,
    db,
    readings,
    deadLetters: createDeadLetterStore(db),
    gaps: createGapStore(db),
    outbox: createOutbox(db, { synchronous }),
    events: createEventStore(db),
    close() {
      if (!db.open) return;
      try {
        if (readings.landed().rows > 0) readings.file();
      } catch {
        // Left landed, and filed at the next open.
      }
      // Folding the WAL back into the main file on a clean stop keeps the next start fast.
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

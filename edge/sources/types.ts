import type { Reading } from '../../shared/reading.js';
import type { BackfillOutcome } from '../store/gaps.js';

/**
 * Where a source hands what it read. Every call settles only once the data is committed (the
 * agent's sink commits on the writer thread, so its calls return promises; a test sink may
 * answer at once). Callers await each call and treat a rejection as "not committed".
 */
export interface Sink {
  /** Commits readings durably in one transaction. Rejects (or throws) if they were not committed. */
  commit(source: string, readings: readonly Reading[]): Promise<void> | void;
  /** Keeps input that could not be read, with the reason and the raw bytes (capped). */
  deadLetter(source: string, entry: { topic?: string; reason: string; raw?: Uint8Array }): Promise<void> | void;
  /**
   * Marks a span in which the source could read nothing (DESIGN guarantee 4). Without `end` the
   * gap stays open until `closeGap`; a source has at most one open gap. Times are ms since epoch.
   * Optional only so that test sinks that do not care may leave it out; the agent's sink keeps them.
   */
  gap?(source: string, gap: { start: number; end?: number; reason: string }): Promise<void> | void;
  /** Closes the source's open gap at `end` (the first value's receive time); nothing if none is open. */
  closeGap?(source: string, end: number): Promise<void> | void;
  /** What was read back of the gap that started at `start` from the server's history. */
  gapBackfilled?(source: string, gap: { start: number; outcome: BackfillOutcome; values: number }): Promise<void> | void;
}

export type SourceState = 'starting' | 'connected' | 'reconnecting' | 'offline' | 'stopped';

export interface SourceStatus {
  name: string;
  type: string;
  state: SourceState;
  /** Where the source reads from, without credentials. */
  endpoint: string;
  messages: number;
  lastMessageAt: number | null;
  lastError: string | null;
}

export interface Source {
  readonly name: string;
  start(sink: Sink): Promise<void>;
  /** Stops reading and waits for in-flight data to be committed or left unacknowledged. */
  stop(): Promise<void>;
  status(): SourceStatus;
}

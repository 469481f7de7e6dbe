import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Alarm } from '../../shared/alarm.js';
import type { Finding } from '../../shared/finding.js';
import { fromColumns, type ReadingColumns } from './columns.js';
import type { Synchronous } from './db.js';
import type { DeadLetter } from './dead-letters.js';
import type { BackfillOutcome, Gap } from './gaps.js';
import type { FileResult, FilingCursor, WriteResult } from './readings.js';
import { enforceDiskBudget, type DiskBudgetOptions, type DiskBudgetReport, type HistorianSize } from './budget.js';
import { applyRetention, type RetentionCounts, type RetentionOptions } from './retention.js';
import { filingDue, FILING } from './filing.js';
import { createPushbackStore } from './pushback-store.js';
import { createSealedStore } from './sealed.js';
import { openStore } from './store.js';

export interface WriterOptions {
  file: string;
  synchronous: Synchronous;
  /** WAL pages between automatic checkpoints (db.ts); kept small for a small disk budget. */
  walPages?: number;
  /** With synchronous=normal, a checkpoint (which fsyncs the WAL) at least this often while writing. */
  checkpointMs?: number;
  /** The longest a committed reading waits in `landing` before it is filed (filing.ts). */
  fileWithinMs?: number;
  /** Seal the backlog in batches of this many readings while the cloud is away (sealed.ts); absent: never. */
  sealRecords?: number;
}

/**
 * The historian's one writing connection, on its own thread: a commit (and its fsync, with
 * synchronous=full) never holds the event loop that parses MQTT and answers MCP.
 *
 * Group commit: every call that arrives while the thread is busy is queued, and the queue is
 * written in one transaction at the next turn of this thread's loop, so a burst of small
 * messages costs one COMMIT instead of one each. Each call still resolves only after its own
 * data is committed.
 */
const opts = workerData as WriterOptions;
const store = openStore({ ...opts, deferFiling: true });
const sealed = createSealedStore(store.db, store.outbox);
const pushback = createPushbackStore(store.db);

interface Op {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}
let queue: Op[] = [];
let scheduled = false;

function enqueue<T>(run: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

function flush(): void {
  scheduled = false;
  const ops = queue;
  queue = [];
  // A filing part may have run the queue already (fileIfDue).
  if (ops.length === 0) return;
  try {
    const results = store.readings.transaction(() => ops.map((op) => op.run()));
    ops.forEach((op, i) => op.resolve(results[i]));
    committedSinceCheckpoint = true;
    lastCommitAt = Date.now();
  } catch {
    // One bad call must not fail the calls grouped with it: each alone, so only it fails
    // (and a full disk fails them all, each with its own error).
    for (const op of ops) {
      try {
        op.resolve(store.readings.transaction(op.run));
        committedSinceCheckpoint = true;
      } catch (err) {
        op.reject(err);
      }
    }
    lastCommitAt = Date.now();
  }
  fileIfDue();
}

const fileWithinMs = opts.fileWithinMs ?? FILING.fileWithinMs;
let lastCommitAt = 0;

// A filing goes in parts (filing.ts), each its own transaction, with the group commits queued
// meanwhile let through between parts. bench:mqtt, one reading per message paced at ~28k/s:
// filings in one piece gave a publish-to-commit p99 of 157 ms, parts of 2,000 105 ms (each
// part 0–60 ms; the tail is checkpoints), against 43 ms before landing existed.
let filing = false;
// A filing that failed (a full disk, an I/O error) leaves its readings landed, where the queries
// still find them; it is retried no sooner than FILING_RETRY_MS, and the error is reported.
const FILING_RETRY_MS = 5000;
let filingError: { message: string; at: number } | null = null;

function fileIfDue(): void {
  if (filing || !store.db.open) return;
  if (filingError && Date.now() - filingError.at < FILING_RETRY_MS) return;
  if (!filingDue(store.readings.landed(), Date.now(), lastCommitAt, fileWithinMs)) return;
  filing = true;
  let cursor: FilingCursor | null = null;
  const part = (): void => {
    // Commits that arrived during the last part go first: they wait one part at most.
    if (queue.length > 0) flush();
    const busy = queue.length > 0 || Date.now() - lastCommitAt < FILING.busyMs;
    let more = false;
    try {
      if (store.db.open) {
        const r = store.readings.file(busy ? FILING.partRows : FILING.idlePartRows, cursor);
        more = r.more;
        cursor = r.cursor;
        filingError = null;
      }
    } catch (err) {
      filingError = { message: err instanceof Error ? err.message : String(err), at: Date.now() };
    }
    if (more) setImmediate(part);
    else filing = false;
  };
  part();
}
const filingTimer = setInterval(fileIfDue, 100);
filingTimer.unref();

// Sealing (sealed.ts): only while the sync is not getting through (no success for SEAL_AFTER_MS),
// so that a working link never races the writer for the same batch; one batch per turn, between
// the group commits, and none while commits are coming in.
const SEAL_AFTER_MS = 10_000;
let sealing = false;
function sealIfDue(): void {
  const records = opts.sealRecords;
  if (!records || sealing || filing || !store.db.open || queue.length > 0) return;
  const { lastSuccessAt } = store.outbox.state();
  if (lastSuccessAt !== null && Date.now() - lastSuccessAt < SEAL_AFTER_MS) return;
  sealing = true;
  // While commits are coming in (a plant running through an outage), one batch per tick: a seal
  // of 20,000 readings holds the thread ~100 ms; when idle, as many as there are.
  const next = (): void => {
    let more = false;
    try {
      more = store.db.open && queue.length === 0 && sealed.seal(records) && Date.now() - lastCommitAt >= FILING.busyMs;
    } catch {
      // A full disk, say: the sync encodes rows itself, as without seals.
    }
    if (more) setImmediate(next);
    else sealing = false;
  };
  next();
}
const sealTimer = setInterval(sealIfDue, 1000);
sealTimer.unref();

// With synchronous=normal only a checkpoint fsyncs the WAL; a larger autocheckpoint would leave
// more commits exposed to a power cut, so a timer bounds that by time (a PASSIVE checkpoint
// never waits for readers). Only after commits: an idle gateway does not touch the SD card.
let committedSinceCheckpoint = false;
const checkpointTimer =
  opts.synchronous === 'normal'
    ? setInterval(() => {
        if (!committedSinceCheckpoint || !store.db.open) return;
        committedSinceCheckpoint = false;
        store.db.pragma('wal_checkpoint(PASSIVE)');
      }, opts.checkpointMs ?? 5000)
    : undefined;
checkpointTimer?.unref();

const retentionAbort = new AbortController();
let retentionRun: Promise<RetentionCounts> | null = null;
let budgetRun: Promise<DiskBudgetReport> | null = null;
// The last check's size, for the growth rate and the time until full.
let lastSize: HistorianSize | undefined;

const api = {
  ready: (): boolean => true,
  commit: (columns: ReadingColumns, source?: string): Promise<WriteResult> => enqueue(() => store.readings.write(fromColumns(columns), source)),
  deadLetter: (entry: DeadLetter): Promise<void> => enqueue(() => store.deadLetters.add(entry)),
  recordGap: (source: string, gap: { start: number; end?: number; reason: string }): Promise<number> =>
    enqueue(() => store.gaps.record(source, gap)),
  closeGap: (source: string, end: number): Promise<Gap | null> => enqueue(() => store.gaps.close(source, end)),
  gapBackfilled: (source: string, start: number, b: { outcome: BackfillOutcome; values: number }): Promise<boolean> =>
    enqueue(() => store.gaps.backfilled(source, start, b)),
  makeDurable: (): void => store.outbox.makeDurable(),
  // Not in a group commit: file() forgets its landed count on success, which a group's failed
  // COMMIT would make untrue. Between group commits, so every call resolved before is landed.
  fileLanded: (): FileResult => store.readings.file(),
  /** The last filing's failure, until a filing succeeds (edge/housekeeping.ts reports it). */
  filingError: (): { message: string; at: number } | null => filingError,
  settle: (ackedSeq: number): Promise<void> =>
    enqueue(() => {
      store.outbox.settle(ackedSeq);
      sealed.prune(ackedSeq);
    }),
  recordError: (message: string): Promise<void> => enqueue(() => store.outbox.recordError(message)),
  reject: (b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): Promise<void> =>
    enqueue(() => store.outbox.reject(b)),
  recordFindings: (findings: Finding[]): Promise<number> => enqueue(() => store.events.recordFindings(findings)),
  recordAlarms: (alarms: Alarm[]): Promise<number> => enqueue(() => store.events.recordAlarms(alarms)),
  eventsSettle: (ackedSeq: number): Promise<void> => enqueue(() => store.events.settle(ackedSeq)),
  eventsRecordError: (message: string): Promise<void> => enqueue(() => store.events.recordError(message)),
  eventsReject: (b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): Promise<void> =>
    enqueue(() => store.events.reject(b)),
  saveRemoteConfig: (version: number, settings: Record<string, unknown>): Promise<void> => enqueue(() => pushback.saveConfig(version, settings)),
  refuseRemoteConfig: (version: number, reason: string): Promise<void> => enqueue(() => pushback.refuseConfig(version, reason)),
  recordModel: (m: { name: string; version: number; sha256: string; file: string }): Promise<void> => enqueue(() => pushback.recordModel(m)),
  /** One age-retention run; its transactions interleave with the group commits. */
  retention(o: Omit<RetentionOptions, 'signal'>): Promise<RetentionCounts> {
    if (retentionRun) return retentionRun;
    retentionRun = applyRetention(store.db, { ...o, signal: retentionAbort.signal }).finally(() => (retentionRun = null));
    return retentionRun;
  },
  /** One disk-budget check; evictions run in short transactions between the group commits. */
  diskBudget(o: Omit<DiskBudgetOptions, 'signal' | 'now' | 'previous'>): Promise<DiskBudgetReport> {
    if (budgetRun) return budgetRun;
    budgetRun = enforceDiskBudget(store.db, { ...o, signal: retentionAbort.signal, ...(lastSize ? { previous: lastSize } : {}) })
      .then((r) => ((lastSize = r.after), r))
      .finally(() => (budgetRun = null));
    return budgetRun;
  },
  /** Stops retention and the budget between transactions, commits what is queued, checkpoints and closes. */
  async close(): Promise<void> {
    retentionAbort.abort();
    await Promise.allSettled([retentionRun, budgetRun]);
    clearInterval(checkpointTimer);
    clearInterval(filingTimer);
    clearInterval(sealTimer);
    if (queue.length > 0) flush();
    store.close();
  },
};
export type WriterApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));

import { builtWorkerFile } from '../../shared/worker-file.js';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Alarm } from '../../shared/alarm.js';
import type { Finding } from '../../shared/finding.js';
import type { Reading } from '../../shared/reading.js';
import { toColumns, transferables } from './columns.js';
import { DEAD_LETTER_RAW_CAP, type DeadLetter } from './dead-letters.js';
import type { BackfillOutcome, Gap } from './gaps.js';
import type { FileResult, WriteResult } from './readings.js';
import type { DiskBudgetOptions, DiskBudgetReport } from './budget.js';
import type { RetentionCounts, RetentionOptions } from './retention.js';
import type { WriterApi, WriterOptions } from './writer-worker.js';

/** The historian's writer as the main thread sees it: every call resolves once committed. */
export interface StoreWriter {
  readonly file: string;
  /** `source` names the source a new sensor comes from (to show that source's gaps with it). */
  commit(readings: readonly Reading[], source?: string): Promise<WriteResult>;
  deadLetter(entry: DeadLetter): Promise<void>;
  recordGap(source: string, gap: { start: number; end?: number; reason: string }): Promise<number>;
  closeGap(source: string, end: number): Promise<Gap | null>;
  gapBackfilled(source: string, start: number, b: { outcome: BackfillOutcome; values: number }): Promise<boolean>;
  /** The outbox's writes; its reads run on the main thread's read-only connection. */
  readonly outbox: {
    makeDurable(): Promise<void>;
    settle(ackedSeq: number): Promise<void>;
    recordError(message: string): Promise<void>;
    reject(b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): Promise<void>;
  };
  /** Findings and alarms (edge/store/events.ts): new versions are stored and queued for the cloud. */
  readonly events: {
    recordFindings(findings: readonly Finding[]): Promise<number>;
    recordAlarms(alarms: readonly Alarm[]): Promise<number>;
    settle(ackedSeq: number): Promise<void>;
    recordError(message: string): Promise<void>;
    reject(b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): Promise<void>;
  };
  /** What the cloud pushed back and the agent applied (edge/store/pushback-store.ts). */
  readonly pushback: {
    saveConfig(version: number, settings: Record<string, unknown>): Promise<void>;
    refuseConfig(version: number, reason: string): Promise<void>;
    recordModel(m: { name: string; version: number; sha256: string; file: string }): Promise<void>;
  };
  /** Files every landed reading now rather than by the filing policy (edge/store/filing.ts). */
  fileLanded(): Promise<FileResult>;
  /** Why the last filing failed, until one succeeds; null when filing works. */
  filingError(): Promise<{ message: string; at: number } | null>;
  retention(opts: Omit<RetentionOptions, 'signal'>): Promise<RetentionCounts>;
  /** Measures the historian and evicts by the budget's policy when it is over (edge/store/budget.ts). */
  diskBudget(opts: Omit<DiskBudgetOptions, 'signal' | 'now' | 'previous'>): Promise<DiskBudgetReport>;
  /** Commits what is queued, checkpoints, closes the database and ends the thread. */
  close(): Promise<void>;
}

/**
 * Starts the writer thread; resolves once the historian is open and migrated (a bad file or a
 * failed migration rejects here, at start). If the thread dies, every call under way and every
 * later call rejects with the reason, so a source retries and never acknowledges unwritten data.
 */
export async function startStoreWriter(opts: WriterOptions): Promise<StoreWriter> {
  const worker = new Worker(builtWorkerFile(import.meta.url, 'writer-worker.js', 'store writer'), { workerData: opts });
  let dead: Error | null = null;
  let rejectDead: (err: Error) => void = () => {};
  const died = new Promise<never>((_, reject) => (rejectDead = reject));
  died.catch(() => undefined);
  const fail = (err: Error) => {
    if (dead) return;
    dead = err;
    rejectDead(err);
  };
  worker.on('error', (err) => fail(new Error(`store writer thread failed: ${err.message}`)));
  worker.on('exit', (code) => fail(new Error(`store writer thread exited (code ${code})`)));

  const remote = Comlink.wrap<WriterApi>(nodeEndpoint(worker));
  // Races each call against the thread's death: Comlink alone would leave it pending forever.
  const call = <T>(f: () => Promise<T>): Promise<T> => (dead ? Promise.reject(dead) : Promise.race([f(), died]));

  // The first answer comes after the thread's top level opened and migrated the historian.
  await call(() => remote.ready());
  return {
    file: opts.file,
    commit: (readings, source) => {
      const columns = toColumns(readings);
      return call(() => remote.commit(Comlink.transfer(columns, transferables(columns)), source));
    },
    deadLetter(e) {
      // Capped here so that a 1 MB body is not copied to the writer thread only to be cut there.
      const raw = e.raw && e.raw.length > DEAD_LETTER_RAW_CAP ? e.raw.slice(0, DEAD_LETTER_RAW_CAP) : e.raw;
      return call(() => remote.deadLetter({ ...e, raw, rawBytes: e.rawBytes ?? e.raw?.length ?? 0 }));
    },
    recordGap: (source, gap) => call(() => remote.recordGap(source, gap)),
    closeGap: (source, end) => call(() => remote.closeGap(source, end)),
    gapBackfilled: (source, start, b) => call(() => remote.gapBackfilled(source, start, b)),
    outbox: {
      makeDurable: () => call(() => remote.makeDurable()),
      settle: (seq) => call(() => remote.settle(seq)),
      recordError: (m) => call(() => remote.recordError(m)),
      reject: (b) => call(() => remote.reject(b)),
    },
    events: {
      recordFindings: (f) => call(() => remote.recordFindings([...f])),
      recordAlarms: (a) => call(() => remote.recordAlarms([...a])),
      settle: (seq) => call(() => remote.eventsSettle(seq)),
      recordError: (m) => call(() => remote.eventsRecordError(m)),
      reject: (b) => call(() => remote.eventsReject(b)),
    },
    pushback: {
      saveConfig: (v, settings) => call(() => remote.saveRemoteConfig(v, settings)),
      refuseConfig: (v, reason) => call(() => remote.refuseRemoteConfig(v, reason)),
      recordModel: (m) => call(() => remote.recordModel(m)),
    },
    fileLanded: () => call(() => remote.fileLanded()),
    filingError: () => call(() => remote.filingError()),
    retention: (o) => call(() => remote.retention(o)),
    diskBudget: (o) => call(() => remote.diskBudget(o)),
    async close() {
      if (dead) return;
      await call(() => remote.close()).catch(() => undefined);
      fail(new Error('store writer is closed'));
      remote[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

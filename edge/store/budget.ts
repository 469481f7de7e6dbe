import { statSync } from 'node:fs';
import { z } from 'zod';
import {
  createEvictionLog,
  deadLetterEvictor,
  noEvictions,
  rawEvictor,
  rollupEvictor,
  type EvictionCounts,
  type Evictor,
} from './budget-evictors.js';
import { WAL_AUTOCHECKPOINT_PAGES, type SqliteDb } from './db.js';

export { EVICTION_ORDER, evictionTotals, type EvictionCategory, type EvictionCounts } from './budget-evictors.js';

const MIB = 1024 * 1024;

/** The edge disk budget (DESIGN guarantee 3); the policy's order is in budget-evictors.ts. */
export const DiskBudgetConfig = z
  .strictObject({
    maxMiB: z
      .number()
      .min(16)
      .default(2048)
      .describe('most the historian may hold, in MiB: its pages in use plus its write-ahead log (charged at least 4 MiB)'),
    lowWater: z
      .number()
      .min(0.5)
      .max(0.99)
      .default(0.9)
      .describe('once over budget, evict down to this fraction of it, so eviction runs now and then, not on every commit'),
    thinUnsynced: z
      .boolean()
      .default(false)
      .describe(
        'when the cloud has not acknowledged enough to stay in budget, also evict the oldest unsynced raw readings ' +
          '(their 1-minute and 1-hour rollups stay); false: keep them and report the budget as exceeded',
      ),
    checkIntervalSeconds: z.number().int().min(1).default(60).describe('how often the size is measured (also once at start)'),
  })
  .prefault({})
  .describe('disk budget: what is evicted, in which order, when the historian reaches its size');
export type DiskBudgetConfig = z.output<typeof DiskBudgetConfig>;

/**
 * The historian's size as the budget sees it.
 *
 * Why pages in use and not the file size: a DELETE puts pages on SQLite's freelist, and SQLite
 * fills free pages before it grows the file, so free pages are room the historian already has.
 * The main file never shrinks (that needs VACUUM, which rewrites the whole file, needs as much
 * again in free disk and holds the writer for its duration: what a full gateway disk cannot
 * afford). So keeping the pages in use under the budget stops the file growing at about the
 * budget; a file that is already larger (a lowered budget) stays that large, reused from inside.
 * The write-ahead log is disk too, and is charged at least at the size it reaches between
 * checkpoints in steady ingest (wal_autocheckpoint pages, 4 MiB by default): its file keeps its
 * high-water size until the store is closed, and eviction's own deletes grow it there, so
 * charging only what it holds now would make a run evict more to pay for its own log. A larger
 * log (a reader held a checkpoint back, a big transaction) is charged at its size. The -shm
 * index (32 KiB) is left out.
 */
export interface HistorianSize {
  /** When measured, ms since epoch. */
  at: number;
  pageSize: number;
  /** Pages holding data (the database's pages less its freelist). */
  livePageBytes: number;
  /** Free pages, reused before the file grows. */
  freeBytes: number;
  /** The main file on disk now (its high-water mark; pages still in the WAL are not in it yet). */
  fileBytes: number;
  walBytes: number;
  /** What the log is charged at least: wal_autocheckpoint × page size (0 for an in-memory store). */
  walReserveBytes: number;
  /** What the budget is compared with: livePageBytes + max(walBytes, walReserveBytes). */
  usedBytes: number;
}

export function measureHistorian(db: SqliteDb, at = Date.now()): HistorianSize {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const inMemory = db.memory || db.name === '';
  const onDisk = (f: string) => (inMemory ? 0 : (statSync(f, { throwIfNoEntry: false })?.size ?? 0));
  const livePageBytes = (pages - free) * pageSize;
  const walBytes = onDisk(`${db.name}-wal`);
  const walReserveBytes = inMemory ? 0 : Math.max(0, db.pragma('wal_autocheckpoint', { simple: true }) as number) * pageSize;
  return {
    at,
    pageSize,
    livePageBytes,
    freeBytes: free * pageSize,
    fileBytes: onDisk(db.name),
    walBytes,
    walReserveBytes,
    usedBytes: livePageBytes + Math.max(walBytes, walReserveBytes),
  };
}

/** Net growth of the data in bytes per second between two measurements; null if no time passed. */
export function growthRate(from: Pick<HistorianSize, 'at' | 'livePageBytes'>, to: Pick<HistorianSize, 'at' | 'livePageBytes'>): number | null {
  const seconds = (to.at - from.at) / 1000;
  return seconds > 0 ? (to.livePageBytes - from.livePageBytes) / seconds : null;
}

/**
 * Seconds until `usedBytes` reaches `maxBytes` at `bytesPerSecond` (0 when already there); null
 * when the historian is not growing. "Full" is when the budget starts evicting: from then on the
 * run's report says what went, and `overBudget` says when the policy can no longer hold it.
 */
export function estimateTimeUntilFull(o: { usedBytes: number; maxBytes: number; bytesPerSecond: number | null }): number | null {
  if (o.bytesPerSecond === null || !(o.bytesPerSecond > 0)) return null;
  return Math.max(0, o.maxBytes - o.usedBytes) / o.bytesPerSecond;
}

export interface DiskBudgetOptions {
  maxBytes: number;
  /** Fraction of maxBytes to evict down to once over it. */
  lowWater: number;
  thinUnsynced: boolean;
  /** Sync to a cloud is configured; without it every raw reading counts as synced. */
  syncConfigured: boolean;
  /** Most rows one transaction deletes; default 1000. */
  batch?: number;
  /** Stops between transactions (the agent stopping); the report says so. */
  signal?: AbortSignal;
  now?: () => number;
  /** The previous run's `after`, for the growth rate and the time until full. */
  previous?: HistorianSize;
}

export interface DiskBudgetReport {
  maxBytes: number;
  /** What eviction aims for once over budget: maxBytes × lowWater. */
  targetBytes: number;
  before: HistorianSize;
  after: HistorianSize;
  /** Rows evicted by this run, per category (all of them also recorded in the evictions table). */
  evicted: EvictionCounts;
  /** Still over maxBytes after this run: the policy could not evict enough (see reason). */
  overBudget: boolean;
  /** Why eviction stopped above the low-water mark, or null if it did not. */
  reason: string | null;
  aborted: boolean;
  transactions: number;
  /** The longest a single eviction transaction held the writer, in ms. */
  longestTransactionMs: number;
  /** Data growth between the previous run and this one (null on the first run). */
  growthBytesPerSecond: number | null;
  /** At that rate, from `after` (null when not growing). */
  secondsUntilFull: number | null;
}

/**
 * WAL pages between checkpoints for a budget: the log may take an eighth of it, at most
 * WAL_AUTOCHECKPOINT_PAGES (db.ts). The budget charges the log at this size, so a small budget
 * needs a small log. Pages of 4 KiB, SQLite's default.
 */
export function walPagesForBudget(cfg: DiskBudgetConfig): number {
  return Math.max(100, Math.min(WAL_AUTOCHECKPOINT_PAGES, Math.floor((cfg.maxMiB * MIB) / 8 / 4096)));
}

export function diskBudgetOptions(cfg: DiskBudgetConfig, syncConfigured: boolean): Pick<DiskBudgetOptions, 'maxBytes' | 'lowWater' | 'thinUnsynced' | 'syncConfigured'> {
  return { maxBytes: Math.floor(cfg.maxMiB * MIB), lowWater: cfg.lowWater, thinUnsynced: cfg.thinUnsynced, syncConfigured };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Measures the historian and, when it is over `maxBytes`, evicts in the policy's order
 * (budget-evictors.ts) until it is at or under maxBytes × lowWater, in transactions of at most
 * `batch` rows, yielding to the event loop between them so the ingest writer (same connection)
 * waits at most one short transaction. The size is measured after every transaction, not
 * estimated: a B-tree page is freed only when it empties or merges with a neighbour, so the
 * freed bytes lag the deleted rows a little, and the low-water mark absorbs that.
 *
 * Raw readings the cloud has not acknowledged are evicted only with `thinUnsynced` (and sync
 * configured). When the policy runs out of what it may evict, the run stops and reports
 * `overBudget` with the reason, rather than deleting more.
 */
export async function enforceDiskBudget(db: SqliteDb, opts: DiskBudgetOptions): Promise<DiskBudgetReport> {
  const now = opts.now ?? Date.now;
  const batch = Math.max(1, opts.batch ?? 1000);
  const targetBytes = Math.floor(opts.maxBytes * opts.lowWater);
  const before = measureHistorian(db, now());
  const evicted = noEvictions();
  let size = before;
  let aborted = false;
  let transactions = 0;
  let longestTransactionMs = 0;

  if (before.usedBytes > opts.maxBytes) {
    const log = createEvictionLog(db);
    // Built only when reached: the rollup evictors read the sensor list.
    const plan: (() => Evictor)[] = [
      () => rawEvictor(db, 'raw_synced', opts.syncConfigured),
      () => deadLetterEvictor(db),
      ...(opts.thinUnsynced && opts.syncConfigured ? [() => rawEvictor(db, 'raw_unsynced', true)] : []),
      () => rollupEvictor(db, 'rollup_1m'),
      () => rollupEvictor(db, 'rollup_1h'),
      // Findings and alarms go here, last, once the edge stores them.
    ];
    for (const make of plan) {
      if (size.usedBytes <= targetBytes || aborted) break;
      const ev = make();
      let runRow: number | undefined;
      const step = db.transaction((): boolean => {
        const e = ev.step(batch);
        if (e === null) return false;
        runRow = log.record(ev, e, now(), runRow);
        evicted[ev.category] += e.rows;
        return true;
      });
      while (size.usedBytes > targetBytes) {
        if (opts.signal?.aborted) {
          aborted = true;
          break;
        }
        const started = performance.now();
        const more = step();
        longestTransactionMs = Math.max(longestTransactionMs, performance.now() - started);
        if (!more) break;
        transactions++;
        size = measureHistorian(db, now());
        await yieldToEventLoop();
      }
    }
  }

  const after = transactions > 0 ? measureHistorian(db, now()) : size;
  const growthBytesPerSecond = opts.previous ? growthRate(opts.previous, before) : null;
  let reason: string | null = null;
  if (before.usedBytes > opts.maxBytes && after.usedBytes > targetBytes) {
    reason = aborted ? 'stopped before reaching the low-water mark (the agent is stopping)' : exhaustedReason(db, opts, after);
  }
  return {
    maxBytes: opts.maxBytes,
    targetBytes,
    before,
    after,
    evicted,
    overBudget: after.usedBytes > opts.maxBytes,
    reason,
    aborted,
    transactions,
    longestTransactionMs,
    growthBytesPerSecond,
    secondsUntilFull: estimateTimeUntilFull({ usedBytes: after.usedBytes, maxBytes: opts.maxBytes, bytesPerSecond: growthBytesPerSecond }),
  };
}

function exhaustedReason(db: SqliteDb, opts: DiskBudgetOptions, after: HistorianSize): string {
  const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`;
  const held = `${mib(after.usedBytes)} of ${mib(opts.maxBytes)} in use (${mib(after.walBytes)} of it the write-ahead log)`;
  if (opts.syncConfigured && !opts.thinUnsynced) {
    const acked = db.prepare<[], number>("SELECT acked_seq FROM outbox WHERE stream = 'readings'").pluck().get() ?? 0;
    const unsynced = db.prepare<[number], number>('SELECT 1 FROM readings WHERE seq > ? LIMIT 1').pluck().get(acked) !== undefined;
    if (unsynced) {
      return `${held}: the rest is raw readings above seq ${acked} that the cloud has not acknowledged, kept because budget.thinUnsynced is off`;
    }
  }
  return `${held}: nothing the policy may evict is left (what remains is sensors, gaps, rejected batches, eviction records and the write-ahead log)`;
}

import type { Logger } from '../../shared/log.js';
import type { DiskBudgetReport } from '../store/budget.js';
import type { RetentionCounts } from '../store/retention.js';

/**
 * Every operational event is one named function that logs and counts, so that the status line,
 * `get_gateway_health` and the logs always agree.
 */
export interface Counters {
  readingsCommitted: number;
  duplicatesSkipped: number;
  readingsDropped: number;
  deadLettered: number;
  syncedRecords: number;
  syncBatches: number;
  syncRetries: number;
  syncRejected: number;
  syncRewinds: number;
  sourceReconnects: number;
  /** Gaps opened (a source lost its connection or went silent), since start. */
  gapsRecorded: number;
  /** Evicted by age retention (edge/store/retention.ts), since start. */
  rawEvicted: number;
  rollup1mEvicted: number;
  rollup1hEvicted: number;
  /** Raw readings past their age kept because the cloud has not acknowledged them: the last run's figure, not a sum. */
  keptUnsynced: number;
  /** Rows the disk budget evicted since start, all categories (per category: status.disk). */
  budgetEvicted: number;
  /** Budget checks that ended still over budget (the policy could not evict enough). */
  budgetExceeded: number;
}

export interface Telemetry {
  readonly counters: Readonly<Counters>;
  readingsCommitted(source: string, n: number): void;
  duplicatesSkipped(source: string, n: number): void;
  /** Readings lost before they could be committed (a bounded buffer shed them). */
  readingsDropped(source: string, n: number, reason: string): void;
  deadLettered(source: string, reason: string, topic?: string): void;
  sourceConnected(source: string, detail: Record<string, unknown>): void;
  sourceReconnecting(source: string, detail: Record<string, unknown>): void;
  sourceOffline(source: string, detail: Record<string, unknown>): void;
  /**
   * A gap in what a source could read: called once when it opens (`endMs` null, counted) and
   * once when values flow again (`endMs` set, logged with its duration).
   */
  gapRecorded(source: string, startMs: number, endMs: number | null, reason: string): void;
  storeWriteFailed(source: string, err: unknown, retryInMs: number): void;
  syncDelivered(firstSeq: number, lastSeq: number, written: number, duplicate: boolean): void;
  syncRetry(reason: string, attempt: number, delayMs: number): void;
  syncRejected(firstSeq: number, lastSeq: number, status: number | null, reason: string): void;
  syncRewound(from: number, to: number): void;
  /** One age-retention run: what each tier evicted, and the unsynced raw readings it kept. */
  retentionApplied(counts: RetentionCounts): void;
  retentionFailed(err: unknown): void;
  /** One disk-budget check (edge/store/budget.ts): what it evicted, and whether it is still over. */
  budgetChecked(report: DiskBudgetReport): void;
  budgetFailed(err: unknown): void;
  /** Landed readings could not be filed (edge/store/filing.ts): they stay landed and are retried. */
  filingFailed(message: string, at: number): void;
}

export function createTelemetry(log: Logger): Telemetry {
  const c: Counters = {
    readingsCommitted: 0,
    duplicatesSkipped: 0,
    readingsDropped: 0,
    deadLettered: 0,
    syncedRecords: 0,
    syncBatches: 0,
    syncRetries: 0,
    syncRejected: 0,
    syncRewinds: 0,
    sourceReconnects: 0,
    gapsRecorded: 0,
    rawEvicted: 0,
    rollup1mEvicted: 0,
    rollup1hEvicted: 0,
    keptUnsynced: 0,
    budgetEvicted: 0,
    budgetExceeded: 0,
  };
  return {
    counters: c,
    readingsCommitted(_source, n) {
      c.readingsCommitted += n;
    },
    duplicatesSkipped(source, n) {
      c.duplicatesSkipped += n;
      log.debug('duplicates_skipped', { source, n });
    },
    readingsDropped(source, n, reason) {
      c.readingsDropped += n;
      log.error('readings_dropped', { source, n, reason });
    },
    deadLettered(source, reason, topic) {
      c.deadLettered++;
      log.warn('dead_lettered', { source, reason, topic });
    },
    sourceConnected(source, detail) {
      log.info('source_connected', { source, ...detail });
    },
    sourceReconnecting(source, detail) {
      c.sourceReconnects++;
      log.warn('source_reconnecting', { source, ...detail });
    },
    sourceOffline(source, detail) {
      log.warn('source_offline', { source, ...detail });
    },
    gapRecorded(source, startMs, endMs, reason) {
      if (endMs === null) {
        c.gapsRecorded++;
        log.warn('gap_recorded', { source, startMs, endMs, reason });
      } else log.info('gap_recorded', { source, startMs, endMs, durationMs: endMs - startMs, reason });
    },
    storeWriteFailed(source, err, retryInMs) {
      log.error('store_write_failed', { source, err, retryInMs });
    },
    syncDelivered(firstSeq, lastSeq, written, duplicate) {
      c.syncBatches++;
      c.syncedRecords += written;
      log.debug('sync_delivered', { firstSeq, lastSeq, written, duplicate });
    },
    syncRetry(reason, attempt, delayMs) {
      c.syncRetries++;
      log.warn('sync_retry', { reason, attempt, delayMs });
    },
    syncRejected(firstSeq, lastSeq, status, reason) {
      c.syncRejected++;
      log.error('sync_rejected', { firstSeq, lastSeq, status, reason });
    },
    syncRewound(from, to) {
      c.syncRewinds++;
      log.warn('sync_rewound', { from, to });
    },
    retentionApplied(n) {
      c.rawEvicted += n.rawEvicted;
      c.rollup1mEvicted += n.rollup1mEvicted;
      c.rollup1hEvicted += n.rollup1hEvicted;
      c.keptUnsynced = n.keptUnsynced;
      const evicted = n.rawEvicted + n.rollup1mEvicted + n.rollup1hEvicted;
      if (evicted > 0 || n.keptUnsynced > 0) log.info('retention_applied', { ...n });
      else log.debug('retention_applied', { ...n });
    },
    retentionFailed(err) {
      log.error('retention_failed', { err });
    },
    budgetChecked(r) {
      const evicted = Object.values(r.evicted).reduce((a, b) => a + b, 0);
      c.budgetEvicted += evicted;
      const detail = {
        usedBytes: r.after.usedBytes,
        maxBytes: r.maxBytes,
        evicted: r.evicted,
        secondsUntilFull: r.secondsUntilFull,
        longestTransactionMs: Math.round(r.longestTransactionMs),
      };
      if (r.overBudget) {
        c.budgetExceeded++;
        log.error('disk_budget_exceeded', { ...detail, reason: r.reason });
      } else if (evicted > 0) log.warn('disk_budget_evicted', detail);
      else log.debug('disk_budget_checked', detail);
    },
    budgetFailed(err) {
      log.error('disk_budget_failed', { err });
    },
    filingFailed(message, at) {
      log.error('store_filing_failed', { error: message, at: new Date(at).toISOString() });
    },
  };
}

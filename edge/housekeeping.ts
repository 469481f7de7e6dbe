import type { EdgeConfig } from './config.js';
import { diskBudgetOptions, evictionTotals, measureHistorian, type DiskBudgetReport, type EvictionCounts } from './store/budget.js';
import type { SqliteDb } from './store/db.js';
import type { StoreWriter } from './store/writer.js';
import type { Telemetry } from './telemetry/events.js';

export interface DiskStatus {
  /** What counts against the budget now (edge/store/budget.ts measureHistorian). */
  usedBytes: number;
  maxBytes: number;
  /** At the growth rate between the last two checks; null when not growing or not yet known. */
  secondsUntilFull: number | null;
  /** The last check ended over budget: the policy could not evict enough (see reason). */
  overBudget: boolean;
  reason: string | null;
  /** Rows evicted by the budget, per category, over the historian's life. */
  evicted: EvictionCounts;
  lastCheckAt: number | null;
}

export interface Housekeeping {
  disk(): DiskStatus;
  stop(): void;
}

/**
 * Age retention and the disk budget, each once at start and then on its own timer, run on the
 * writer thread between group commits. Closing the writer aborts a run between transactions.
 */
export function startHousekeeping(cfg: EdgeConfig, writer: StoreWriter, readDb: SqliteDb, telemetry: Telemetry): Housekeeping {
  const syncConfigured = Boolean(cfg.sync.url && cfg.sync.token);
  const retention = cfg.store.retention;
  let retentionRun: Promise<void> | null = null;
  const runRetention = () => {
    if (retentionRun) return; // the previous run is still going
    retentionRun = writer
      .retention({
        now: Date.now(),
        rawDays: retention.rawDays,
        rollup1mDays: retention.rollup1mDays,
        rollup1hDays: retention.rollup1hDays,
        syncConfigured,
        // ~12 ms per transaction here (5000 rows took ~60 ms), so ingest waits little behind it.
        batch: 1000,
      })
      .then((counts) => telemetry.retentionApplied(counts), (err: unknown) => telemetry.retentionFailed(err))
      .finally(() => (retentionRun = null));
  };

  const budget = diskBudgetOptions(cfg.store.budget, syncConfigured);
  let last: DiskBudgetReport | null = null;
  let budgetRun: Promise<void> | null = null;
  const runBudget = () => {
    if (budgetRun) return;
    budgetRun = writer
      .diskBudget({ ...budget, batch: 1000 })
      .then((r) => {
        last = r;
        telemetry.budgetChecked(r);
      }, (err: unknown) => telemetry.budgetFailed(err))
      // Filing failures happen on the writer thread, which has no log: reported at each check.
      .then(() => writer.filingError())
      .then((e) => {
        if (e) telemetry.filingFailed(e.message, e.at);
      }, () => undefined)
      .finally(() => (budgetRun = null));
  };

  runRetention();
  runBudget();
  const timers = [
    setInterval(runRetention, retention.intervalMinutes * 60_000),
    setInterval(runBudget, cfg.store.budget.checkIntervalSeconds * 1000),
  ];
  for (const t of timers) t.unref();

  return {
    disk() {
      const l: DiskBudgetReport | null = last;
      return {
        usedBytes: measureHistorian(readDb).usedBytes,
        maxBytes: budget.maxBytes,
        secondsUntilFull: l?.secondsUntilFull ?? null,
        overBudget: l?.overBudget ?? false,
        reason: l?.reason ?? null,
        evicted: evictionTotals(readDb),
        lastCheckAt: l?.after.at ?? null,
      };
    },
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}

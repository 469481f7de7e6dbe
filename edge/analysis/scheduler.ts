import { builtWorkerFile } from '../../shared/worker-file.js';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Alarm } from '../../shared/alarm.js';
import type { Finding } from '../../shared/finding.js';
import type { Logger } from '../../shared/log.js';
import type { SqliteDb } from '../store/db.js';
import type { SensorBatch, StatefulAnalysisApi } from './stateful-worker.js';

export interface AnomalySchedulerOptions {
  /** How often new readings are scored. */
  intervalMs: number;
  /** Readings per step: a step's read holds the event loop (~1 µs a row), so steps stay small
   * and a run takes as many as it needs, yielding between them. */
  batchReadings: number;
  /** At start, the detectors warm up on this many of the latest readings. */
  warmupReadings: number;
}

export const DEFAULT_SCHEDULER: AnomalySchedulerOptions = { intervalMs: 5000, batchReadings: 5000, warmupReadings: 100_000 };

export interface AnomalySchedulerStatus {
  /** The last reading seq scored. */
  scoredThrough: number;
  sensors: number;
  openIncidents: number;
  lastRunAt: number | null;
  lastError: string | null;
}

export interface AnomalyScheduler {
  /** Scores the next step of new readings (at most batchReadings); the timer runs steps every intervalMs until caught up. */
  runOnce(): Promise<number>;
  status(): AnomalySchedulerStatus;
  stop(): Promise<void>;
}


/**
 * Feeds the historian's new readings (filed, in seq order) to the stateful analysis worker and
 * stores the findings and alarms it reports; they reach the cloud on the findings stream. Reads on
 * the main thread's read-only connection, writes through the writer thread.
 */
export function startAnomalyScheduler(deps: {
  readDb: SqliteDb;
  write: { recordFindings(f: readonly Finding[]): Promise<number>; recordAlarms(a: readonly Alarm[]): Promise<number> };
  log: Logger;
  options?: Partial<AnomalySchedulerOptions>;
}): AnomalyScheduler {
  const opts = { ...DEFAULT_SCHEDULER, ...deps.options };
  const log = deps.log.child({ component: 'analysis' });
  const worker = new Worker(builtWorkerFile(import.meta.url, 'stateful-worker.js', 'analysis worker'));
  const remote = Comlink.wrap<StatefulAnalysisApi>(nodeEndpoint(worker));
  const next = deps.readDb.prepare<[number, number], { seq: number; name: string; ts: number; value: number; quality: number }>(
    'SELECT r.seq, s.name, r.ts, r.value, r.quality FROM readings r JOIN sensors s ON s.id = r.sensor_id WHERE r.seq > ? ORDER BY r.seq LIMIT ?',
  );
  const maxSeq = deps.readDb.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM readings');
  let cursor = Math.max(0, (maxSeq.get()?.seq ?? 0) - opts.warmupReadings);
  const status: AnomalySchedulerStatus = { scoredThrough: cursor, sensors: 0, openIncidents: 0, lastRunAt: null, lastError: null };
  let running: Promise<number> | undefined;
  let stopped = false;

  async function run(): Promise<number> {
    const rows = next.all(cursor, opts.batchReadings);
    if (rows.length === 0) return 0;
    const by = new Map<string, SensorBatch>();
    for (const r of rows) {
      // Bad readings are stored and shown, not scored: a dropout is not a process anomaly.
      if (r.quality === 2) continue;
      let b = by.get(r.name);
      if (!b) by.set(r.name, (b = { sensor: r.name, ts: [], values: [] }));
      b.ts.push(r.ts);
      b.values.push(r.value);
    }
    const updates = await remote.observe([...by.values()]);
    if (updates.length > 0) {
      await deps.write.recordFindings(updates.map((u) => u.finding));
      await deps.write.recordAlarms(updates.map((u) => u.alarm));
      for (const u of updates) log.info(u.alarm.state === 'active' ? 'alarm_raised' : 'alarm_cleared', { id: u.alarm.id, subject: u.alarm.subject, severity: u.alarm.severity, message: u.alarm.message });
    }
    cursor = rows[rows.length - 1]!.seq;
    const s = await remote.stats();
    Object.assign(status, { scoredThrough: cursor, sensors: s.sensors, openIncidents: s.open });
    return rows.length;
  }

  const runOnce = async (): Promise<number> => {
    if (stopped) return 0;
    running ??= run()
      .then((n) => {
        status.lastRunAt = Date.now();
        status.lastError = null;
        return n;
      })
      .catch((err: unknown) => {
        status.lastError = (err as Error).message;
        log.warn('analysis_failed', { err });
        return 0;
      })
      .finally(() => (running = undefined));
    return running;
  };
  let draining = false;
  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      while (!stopped && (await runOnce()) === opts.batchReadings) await new Promise((r) => setImmediate(r));
    } finally {
      draining = false;
    }
  };
  const timer = setInterval(() => void drain(), opts.intervalMs);
  timer.unref();

  return {
    runOnce,
    status: () => ({ ...status }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      remote[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

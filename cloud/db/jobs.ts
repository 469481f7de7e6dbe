import type { Logger } from '../../shared/log.js';
import type { Queryable } from './connect.js';

/**
 * TimescaleDB's policies (compression, retention, continuous-aggregate refresh) are jobs that its
 * background scheduler runs. The embedded PGlite is a single-user PostgreSQL with no background
 * workers, so there nobody runs them: this runner does, with `CALL run_job()`, each job once per
 * its schedule interval. A server runs them itself; this is for the embedded database only.
 */
export interface JobRunner {
  /** Runs the jobs that are due; returns the ids run. The timer calls it; tests call it directly. */
  runDue(now?: number): Promise<number[]>;
  stop(): Promise<void>;
}

interface Job {
  job_id: number;
  proc_name: string;
  interval_ms: number;
}

export function startJobRunner(q: Queryable, log: Logger, opts: { tickMs?: number } = {}): JobRunner {
  const lastRun = new Map<number, number>();
  let running: Promise<number[]> | undefined;

  async function runDue(now = Date.now()): Promise<number[]> {
    const jobs = await q.query<Job>(
      `SELECT job_id, proc_name, (extract(epoch FROM schedule_interval) * 1000)::float8 AS interval_ms
         FROM timescaledb_information.jobs WHERE scheduled ORDER BY job_id`,
    );
    const ran: number[] = [];
    for (const j of jobs.rows) {
      const last = lastRun.get(j.job_id);
      if (last !== undefined && now - last < j.interval_ms) continue;
      lastRun.set(j.job_id, now);
      const t0 = Date.now();
      try {
        await q.query(`CALL run_job(${Number(j.job_id)})`);
        ran.push(j.job_id);
        log.debug('timescale_job_ran', { job: j.job_id, proc: j.proc_name, ms: Date.now() - t0 });
      } catch (err) {
        log.warn('timescale_job_failed', { job: j.job_id, proc: j.proc_name, err });
      }
    }
    return ran;
  }

  const tick = () => {
    running ??= runDue()
      .catch((err: unknown) => {
        log.warn('timescale_jobs_failed', { err });
        return [];
      })
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, opts.tickMs ?? 60_000);
  timer.unref();
  return {
    runDue,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

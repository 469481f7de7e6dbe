import { builtWorkerFile } from '../../shared/worker-file.js';
import { Piscina } from 'piscina';
import type { DetectInput, DetectOutput } from './detect-anomalies.js';

export interface AnalysisPool {
  detectAnomalies(input: DetectInput): Promise<DetectOutput>;
  /** Runs a known series through a worker, so a broken install fails at start, not at 3 a.m. */
  selfCheck(): Promise<void>;
  stats(): { threads: number; queued: number; completed: number };
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Gateways have 2–4 cores and the event loop needs one: default 1 worker. */
  maxThreads?: number;
  /** When-full policy: a task beyond this many queued is refused (Piscina rejects it). */
  maxQueue?: number;
}

export function createAnalysisPool(opts: PoolOptions = {}): AnalysisPool {
  const pool = new Piscina({
    filename: builtWorkerFile(import.meta.url, 'worker.js', 'analysis worker'),
    minThreads: 0,
    maxThreads: opts.maxThreads ?? 1,
    maxQueue: opts.maxQueue ?? 64,
    idleTimeout: 30_000,
  });
  const detect = (input: DetectInput) => pool.run(input, { name: 'detectAnomalies' }) as Promise<DetectOutput>;
  return {
    detectAnomalies: detect,
    async selfCheck() {
      const values = Array.from({ length: 80 }, (_, i) => 10 + Math.sin(i / 3) * 0.1);
      values[70] = 50;
      const out = await detect({ ts: values.map((_, i) => i), values, window: 30 });
      if (out.anomalies.length !== 1 || out.anomalies[0]!.index !== 70) {
        throw new Error(`analysis worker self-check failed: expected one anomaly at index 70, got ${JSON.stringify(out.anomalies.map((a) => a.index))}`);
      }
    },
    stats: () => ({ threads: pool.threads.length, queued: pool.queueSize, completed: pool.completed }),
    close: () => pool.destroy(),
  };
}

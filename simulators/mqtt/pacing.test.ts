import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log.js';
import { startPublisher } from '../mqtt-publisher.js';
import { startTestBroker } from '../testing/broker.js';

describe('publisher pacing', () => {
  it('a realtime run paced faster than the window allows says it is falling behind, once per 10 s, and keeps its lag', async () => {
    const broker = await startTestBroker();
    const events: Array<Record<string, unknown>> = [];
    try {
      // 1 ms of wall time per step, but a window of one message: every reading waits for a PUBACK.
      const summary = await startPublisher({
        url: broker.url, seed: 1, machines: 2, periodMs: 1000, realtime: true, speed: 1000, steps: 40, maxInFlight: 1,
        log: createLogger({}, { write: (line) => events.push(JSON.parse(line) as Record<string, unknown>) }),
      }).done;
      expect(summary.ended).toBe('completed');
      expect(summary.elapsedMs).toBeLessThan(10_000); // so the rate limit allows exactly one
      const behind = events.filter((e) => e.event === 'sim_falling_behind');
      expect(behind).toHaveLength(1);
      expect(behind[0]).toMatchObject({ level: 'warn', component: 'sim-publisher' });
      expect(behind[0]!.lagMs).toBeGreaterThan(1);
      expect(behind[0]!.stepsBehind).toBeGreaterThanOrEqual(1);
      expect(summary.maxLagMs).toBeGreaterThanOrEqual(behind[0]!.lagMs as number);
    } finally {
      await broker.close();
    }
  });

  it('a run that keeps its schedule says nothing about falling behind', async () => {
    const broker = await startTestBroker();
    const events: string[] = [];
    try {
      await startPublisher({
        url: broker.url, seed: 1, machines: 1, periodMs: 1000, realtime: true, speed: 20, steps: 4,
        log: createLogger({}, { write: (line) => events.push(line) }),
      }).done;
      expect(events.join('\n')).not.toContain('sim_falling_behind');
    } finally {
      await broker.close();
    }
  });
});

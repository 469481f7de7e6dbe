import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../shared/log.js';
import { runSim, summaryLine } from './main.js';
import { startTestBroker, type TestBroker } from './testing/broker.js';

describe('runSim', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.close());

  it('runs the given steps with CLI-style (string) numbers and leaves no signal handlers behind', async () => {
    const before = process.listenerCount('SIGINT');
    const summary = await runSim(
      { url: broker.url, seed: '4', machines: '2', periodMs: 1000, steps: 3, realtime: false },
      { log: silentLogger },
    );
    expect(summary.ended).toBe('completed');
    expect(summary.total).toBe(3 * (6 + 5));
    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(summaryLine(summary)).toMatch(/^sim completed: 33 readings from 11 sensors over 3 steps/);
  });

  it('names the option that is wrong', async () => {
    await expect(runSim({ url: broker.url, machines: 0 })).rejects.toThrow(/machines/);
    await expect(runSim({ url: broker.url, colour: 'red' } as never)).rejects.toThrow(/colour/);
  });
});

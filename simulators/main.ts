import { z } from 'zod';
import { LogLevel } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/log.js';
import { DEFAULT_TOPIC_PREFIX } from '../shared/mqtt-json.js';
import { MAX_MACHINES } from './plant.js';
import { startPublisher, type PublisherSummary } from './mqtt-publisher.js';

/**
 * `millwright sim`: plays a plant over MQTT until the steps are done or a signal arrives. The only
 * simulator file that touches the process (signals, exit code, stderr). Numbers are coerced, so
 * the CLI can pass its strings straight in.
 */
export const SimOptions = z.strictObject({
  url: z.string().min(1).describe('MQTT broker URL, e.g. mqtt://127.0.0.1:1883'),
  seed: z.coerce.number<number | string>().int().default(1).describe('seed of all randomness; the same seed replays the same readings'),
  machines: z.coerce.number<number | string>().int().min(1).max(MAX_MACHINES).default(3).describe('number of machines (types dealt round robin)'),
  periodMs: z.coerce.number<number | string>().int().min(1).default(1000).describe('time between two readings of a sensor'),
  steps: z.coerce.number<number | string>().int().min(0).optional().describe('stop after this many periods; omitted, run until SIGINT/SIGTERM'),
  realtime: z.boolean().default(true).describe('pace steps by the wall clock; false: as fast as the broker acknowledges'),
  startMs: z.coerce.number<number | string>().int().optional().describe('timestamp of the first step, ms since the epoch'),
  topicPrefix: z.string().default(DEFAULT_TOPIC_PREFIX).describe('prepended to each sensor id to make the topic'),
  logLevel: LogLevel,
});
export type SimOptions = z.input<typeof SimOptions>;

export async function runSim(input: SimOptions, deps: { log?: Logger } = {}): Promise<PublisherSummary> {
  const parsed = SimOptions.safeParse(input);
  if (!parsed.success) throw new Error(`invalid simulator options:\n${z.prettifyError(parsed.error)}`);
  const opts = parsed.data;
  const log = deps.log ?? createLogger({ service: 'sim' }, { level: opts.logLevel });

  const publisher = startPublisher({ ...opts, log });

  // First signal: stop gracefully (drain the outstanding PUBACKs). A second one: leave now.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn('sim_forced_exit', { signal });
      process.exit(130);
    }
    log.info('sim_stopping', { signal });
    void publisher.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await publisher.done;
    process.stderr.write(summaryLine(summary) + '\n');
    if (summary.ended === 'failed') process.exitCode = 1;
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One line for people, e.g. "sim completed: 1800 readings from 18 sensors in 2.1 s ...". */
export function summaryLine(s: PublisherSummary): string {
  const parts = [
    `sim ${s.ended}: ${s.total} readings from ${s.sensors} sensors over ${s.steps} steps in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `reconnects ${s.reconnects}`,
    `unacknowledged ${s.unacknowledged}`,
    `rejected ${s.rejected}`,
  ];
  if (s.error) parts.push(`error: ${s.error}`);
  return parts.join('; ');
}

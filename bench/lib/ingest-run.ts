/**
 * The shared shape of the MQTT ingest benches: per payload mode, a fresh private broker and a
 * fresh consumer (the edge agent, Node-RED), then warm-up → saturated → drain → paced → drain →
 * check. The consumer is anything that can start against a broker URL and expose its database
 * read-only (IngestTarget). Used by bench/mqtt-ingest.ts and bench/node-red-ingest.ts.
 */
import { parseArgs } from 'node:util';
import { createLoad, describePhase, type IngestTarget, type Load } from './mqtt-load.js';
import { fmt, startMosquitto } from './proc.js';

export interface IngestSettings {
  seconds: number;
  warmup: number;
  sensors: number;
  batch: number;
  modes: ('batched' | 'single')[];
  /** Paced phase rate as a fraction of the saturated one. */
  load: number;
  window: number;
  backlog: number;
  /** Broker → consumer: max_inflight_messages. */
  inflight: number;
  synchronous: 'normal' | 'full';
}

export const TOPIC_PREFIX = 'mwbench/';

export const USAGE =
  '[--seconds 30] [--warmup 5] [--sensors 1000] [--batch 100] [--modes batched,single] [--load 0.5] ' +
  '[--window 1000] [--backlog 20000] [--inflight 100] [--synchronous normal|full]';

export function parseIngestArgs(argv: string[]): IngestSettings {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      sensors: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '100' },
      modes: { type: 'string', default: 'batched,single' },
      load: { type: 'string', default: '0.5' },
      window: { type: 'string', default: '1000' },
      backlog: { type: 'string', default: '20000' },
      inflight: { type: 'string', default: '100' },
      synchronous: { type: 'string', default: 'normal' },
    },
  });
  const num = (name: 'seconds' | 'warmup' | 'sensors' | 'batch' | 'load' | 'window' | 'backlog' | 'inflight', integer = true): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'whole ' : ''}number, got ${values[name]}\nusage: ${USAGE}`);
    return n;
  };
  const modes = values.modes.split(',').filter(Boolean);
  for (const m of modes) if (m !== 'batched' && m !== 'single') throw new Error(`--modes: batched and/or single, got ${m}`);
  if (values.synchronous !== 'normal' && values.synchronous !== 'full') throw new Error(`--synchronous: normal or full, got ${values.synchronous}`);
  const batch = num('batch');
  // The agent's JSON payload takes at most 10,000 readings per message (shared/mqtt-json.ts).
  if (batch > 10_000) throw new Error('--batch: at most 10000 readings per message');
  return {
    seconds: num('seconds', false),
    warmup: num('warmup', false),
    sensors: num('sensors'),
    batch,
    modes: modes as IngestSettings['modes'],
    load: num('load', false),
    window: num('window'),
    backlog: num('backlog'),
    inflight: num('inflight'),
    synchronous: values.synchronous,
  };
}

export interface Consumer {
  /** How its CPU and RSS lines are labelled. */
  name: string;
  pid: number;
  target: IngestTarget;
  /** Extra words for the final check line (e.g. dead letters). */
  check(): Promise<string>;
  /** The consumer's own event-loop delay over its last complete window, if it reports one. */
  eventLoop?(): Promise<string | null>;
  /** Readings stored, counted exactly (count(*)), for the final check. */
  stored(): number;
  stop(): Promise<void>;
}

export type StartConsumer = (brokerUrl: string, s: IngestSettings) => Promise<Consumer>;

export async function runIngestModes(s: IngestSettings, start: StartConsumer): Promise<void> {
  for (const mode of s.modes) await runMode(s, mode === 'single' ? 1 : s.batch, start);
}

async function runMode(s: IngestSettings, perMsg: number, start: StartConsumer): Promise<void> {
  const label = perMsg === 1 ? 'single (1 reading/msg)' : `batched (${perMsg} readings/msg)`;
  const broker = await startMosquitto({ maxInflight: s.inflight });
  let consumer: Consumer | undefined;
  let publisher: Load | undefined;
  try {
    consumer = await start(broker.url, s);
    const { target } = consumer;
    publisher = await createLoad({ url: broker.url, topicPrefix: TOPIC_PREFIX, sensors: s.sensors, batch: perMsg, window: s.window, backlog: s.backlog });
    await publisher.ready(target, 60_000);
    const pids = { [consumer.name]: consumer.pid, mosquitto: broker.pid, publisher: process.pid };

    console.log(`\n${label}; broker: ${broker.settings}`);
    // Warm-up: JIT, page cache, and the backlog filled up to its cap before anything is measured.
    await publisher.phase(target, { seconds: s.warmup }, {});
    const sat = await publisher.phase(target, { seconds: s.seconds }, pids);
    for (const l of describePhase('saturated', sat, perMsg)) console.log(l);
    // Read right away: the agent's last complete 10 s window then lies inside the saturated phase.
    const satLoop = await consumer.eventLoop?.();
    if (satLoop) console.log(`  ${consumer.name} event-loop delay (last 10 s of the saturated phase): ${satLoop}`);
    if (!(await publisher.drain(target, 120_000))) throw new Error(`not drained after the saturated phase: ${fmt(publisher.sent)} sent, ${fmt(target.committed())} committed`);
    const rate = sat.committedPerS * s.load;
    const paced = await publisher.phase(target, { seconds: s.seconds, rate }, pids);
    for (const l of describePhase(`paced at ${fmt(rate)} readings/s (${s.load} × saturated)`, paced, perMsg)) console.log(l);
    const pacedLoop = await consumer.eventLoop?.();
    if (pacedLoop) console.log(`  ${consumer.name} event-loop delay (last 10 s of the paced phase): ${pacedLoop}`);
    const drained = await publisher.drain(target, 120_000);
    console.log(
      `  check: ${fmt(publisher.sent)} readings sent, ${fmt(consumer.stored())} stored${drained ? '' : ' (NOT DRAINED)'}, ` +
        `${publisher.errors} publish errors${await consumer.check()}`,
    );
  } finally {
    await publisher?.close().catch(() => {});
    await consumer?.stop();
    await broker.stop();
  }
}

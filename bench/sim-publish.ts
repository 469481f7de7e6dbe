/**
 * Simulator publishing cost at plant scale: ~10,000 tags at 1 Hz, real time (speed 1), in each
 * publish mode, against an aedes broker in a child process (so this process's CPU is the
 * publisher's: generating the readings, framing, MQTT), or against the broker in
 * MILLWRIGHT_BENCH_MQTT_URL. Then the same modes as fast as the broker acknowledges, to show each
 * mode's ceiling. Prints its figures; it asserts nothing.
 *
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/sim-publish.js [tags] [seconds]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../shared/log.js';
import { generateReadings } from '../simulators/generate.js';
import { startPublisher, type PublisherSummary, type PublishMode } from '../simulators/mqtt-publisher.js';
import { buildPlant } from '../simulators/plant.js';
import { startTestBroker } from '../simulators/testing/broker.js';

type BrokerMessage = { url: string } | { cpuMs: number };

if (process.argv[2] === '--broker') {
  // Child: the embedded broker, reporting its own CPU when asked.
  const broker = await startTestBroker();
  process.send!({ url: broker.url } satisfies BrokerMessage);
  process.on('message', (msg) => {
    if (msg === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuMs: (u.user + u.system) / 1000 } satisfies BrokerMessage);
    } else if (msg === 'exit') {
      void broker.close().then(() => process.exit(0));
    }
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const tags = Number(process.argv[2] ?? 10_000);
  const seconds = Number(process.argv[3] ?? 10);
  const seed = 1;
  // Machines are dealt round robin over the types: size the plant from one of each type.
  const probe = buildPlant({ seed, machines: 5 });
  const perMachine = probe.sensors.length / probe.machines.length;
  const machines = Math.ceil(tags / perMachine);
  const plant = buildPlant({ seed, machines });

  let broker: ChildProcess | undefined;
  let url = process.env.MILLWRIGHT_BENCH_MQTT_URL;
  if (!url) {
    broker = fork(fileURLToPath(import.meta.url), ['--broker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [first] = (await once(broker, 'message')) as [BrokerMessage];
    url = (first as { url: string }).url;
  }
  const brokerCpuMs = async (): Promise<number | undefined> => {
    if (!broker) return undefined;
    broker.send('cpu');
    const [msg] = (await once(broker, 'message')) as [BrokerMessage];
    return (msg as { cpuMs: number }).cpuMs;
  };

  console.log(`plant: ${plant.machines.length} machines, ${plant.sensors.length} tags; broker: ${broker ? 'aedes in a child process' : url}; node ${process.version}`);

  // Generation alone, no MQTT: the floor under every mode (after a few steps of JIT warm-up).
  {
    const steps = 20;
    for (const _ of generateReadings(plant, { startMs: Date.UTC(2025, 0, 5), periodMs: 1000, steps: 5 }));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    for (const step of generateReadings(plant, { startMs: Date.UTC(2025, 0, 6), periodMs: 1000, steps })) n += step.length;
    const wall = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    console.log(`generate only: ${(cpu / steps).toFixed(1)} ms CPU per 1 s step of ${plant.sensors.length} tags = ${((cpu / steps / 1000) * 100).toFixed(1)}% of one core at 1 Hz (${fmt(n / (wall / 1000))} readings/s flat out)`);
  }

  // JIT warm-up of every mode's hot path, so the timed runs measure the steady state (they still
  // include building the plant, ~0.1 s CPU, and connecting).
  for (const mode of ['json-batch', 'sparkplug', 'json'] as const) await measure(mode, { realtime: false, steps: 12 });

  // Sustained rate: readings over the paced span (steps x period), or over the wall time if the
  // run fell behind it. CPU: this process's user + system time over the wall time of the run.
  console.log(`\nreal time, speed 1, period 1 s, ${seconds} steps per mode (maxInFlight 1000, QoS 1):`);
  console.log(pad(['mode', 'readings/s', 'msgs/s', 'publisher CPU', 'CPU/step', 'broker CPU', 'max lag']));
  for (const mode of ['json-batch', 'sparkplug', 'json'] as const) {
    const r = await measure(mode, { realtime: true, steps: seconds });
    const spanS = Math.max(r.wallMs / 1000, seconds);
    console.log(pad([
      label(mode), fmt(r.summary.total / spanS), fmt(r.summary.messages / spanS), pct(r.cpuPct), `${(r.cpuMs / seconds).toFixed(0)} ms`,
      r.brokerPct === undefined ? '-' : pct(r.brokerPct), `${r.summary.maxLagMs} ms`,
    ]));
    if (r.summary.unacknowledged > 0 || r.summary.total !== seconds * plant.sensors.length) console.log(`  (!) ${mode}: ${r.summary.total} readings acknowledged, ${r.summary.unacknowledged} not`);
  }

  const ceilingS = Math.max(3, Math.round(seconds / 2));
  console.log(`\nceiling: as fast as the broker acknowledges, ${ceilingS} s per mode:`);
  console.log(pad(['mode', 'readings/s', 'msgs/s', 'publisher CPU', '', 'broker CPU', 'x real time']));
  for (const mode of ['json-batch', 'sparkplug', 'json'] as const) {
    const r = await measure(mode, { realtime: false, forS: ceilingS });
    console.log(pad([label(mode), fmt(r.readingsPerS), fmt(r.messagesPerS), pct(r.cpuPct), '', r.brokerPct === undefined ? '-' : pct(r.brokerPct), `${(r.readingsPerS / plant.sensors.length).toFixed(1)}x`]));
  }

  broker?.send('exit');

  async function measure(mode: PublishMode, run: { realtime: boolean; steps?: number; forS?: number }) {
    const b0 = await brokerCpuMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const publisher = startPublisher({
      url: url!, seed, machines, periodMs: 1000, realtime: run.realtime, speed: 1, steps: run.steps, mode, batchSteps: 10,
      topicPrefix: `bench/${mode}/`, sparkplug: { groupId: `bench-${mode}` }, maxInFlight: 1000, log: silentLogger,
    });
    let timer: NodeJS.Timeout | undefined;
    if (run.forS !== undefined) timer = setTimeout(() => void publisher.stop(), run.forS * 1000);
    const summary: PublisherSummary = await publisher.done;
    clearTimeout(timer);
    const wallMs = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    const b1 = await brokerCpuMs();
    if (summary.ended === 'failed') throw new Error(`${mode}: ${summary.error}`);
    return {
      summary,
      wallMs,
      cpuMs: cpu,
      readingsPerS: summary.total / (wallMs / 1000),
      messagesPerS: summary.messages / (wallMs / 1000),
      cpuPct: (cpu / wallMs) * 100,
      brokerPct: b0 === undefined || b1 === undefined ? undefined : ((b1 - b0) / wallMs) * 100,
    };
  }
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}
function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
function pct(n: number): string {
  return `${n.toFixed(1)}%`;
}
function label(mode: PublishMode): string {
  return mode === 'json-batch' ? 'json-batch (10 steps/msg)' : mode === 'sparkplug' ? 'sparkplug (DDATA/machine/step)' : 'json (1 reading/msg)';
}
function pad(cols: string[]): string {
  const widths = [32, 12, 10, 15, 10, 12, 12];
  return cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
}

/**
 * An MQTT load generator for ingest benches, and the way it measures what the consumer under test
 * (the edge agent, Node-RED) committed. Used by bench/mqtt-ingest.ts and bench/node-red-ingest.ts.
 *
 * Load: QoS 1 publishes of the plain JSON payload (shared/mqtt-json.ts) on `<prefix><sensor>`,
 * sensors round robin like a plant's steps, either one reading per message or an array of `batch`
 * consecutive readings of one sensor. Source timestamps are per-sensor counters one second apart,
 * so no reading repeats a (sensor, ts) that a consumer would drop as a duplicate.
 *
 * Flow control, two caps, both with the when-full policy "wait":
 * - `window`: messages handed to mqtt.js and not yet PUBACKed by the broker;
 * - `backlog`: readings sent and not yet committed by the consumer. The broker acknowledges on
 *   receipt, not on commit, so without this cap a saturating publisher would pile an unbounded
 *   queue into the broker (or, for a consumer that acks on receipt, into the consumer's memory),
 *   and "throughput" would be the publisher's, not the consumer's.
 * Saturated phases therefore measure the consumer's sustained commit rate; their latency is
 * bounded by backlog / rate and says little. Latency is measured in a paced phase below capacity.
 *
 * Latency probes: every `probeEveryMs` the next message goes to the sensor `bench/probe` (same
 * size as the others, same connection, so it queues behind the same traffic). The send time is
 * taken when the message is handed to mqtt.js; the commit time is when a poll of the consumer's
 * database (every POLL_MS, read-only connection) first sees the probe's first timestamp. So each
 * sample is the publish-to-visible-commit latency, overstated by at most one poll interval.
 */
import { connect, type MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { fmt, sleep, watchProcess, type Usage } from './proc.js';

/** What the load needs to see of the consumer: read-only queries on its database. */
export interface IngestTarget {
  /** Readings committed so far; must be cheap (max(seq), max(rowid)), it is polled every POLL_MS. */
  committed(): number;
  /** Source timestamps of `sensor` committed at or after `fromTs`. */
  committedTs(sensor: string, fromTs: number): number[];
}

export interface LoadOptions {
  url: string;
  topicPrefix: string;
  sensors: number;
  /** Readings per message; 1 sends a single JSON object, more a JSON array. */
  batch: number;
  window: number;
  backlog: number;
  probeEveryMs?: number;
}

export interface PhaseResult {
  seconds: number;
  /** Readings the consumer committed per second during the phase. */
  committedPerS: number;
  /** Readings handed to the broker per second during the phase. */
  sentPerS: number;
  latency: { samples: number; p50: number; p99: number; max: number; unresolved: number };
  usage: Record<string, Usage>;
}

export const POLL_MS = 5;
export const PROBE_SENSOR = 'bench/probe';
const READY_SENSOR = 'bench/ready';
const PERIOD_MS = 1000;

export interface Load {
  /** Publishes single readings to bench/ready until one is committed: the consumer is subscribed. */
  ready(target: IngestTarget, timeoutMs: number): Promise<void>;
  /** Sends for `seconds`, as fast as the caps allow, or at `rate` readings/s; `pids` are watched. */
  phase(target: IngestTarget, p: { seconds: number; rate?: number }, pids: Record<string, number>): Promise<PhaseResult>;
  /** Waits until everything sent is committed; false on timeout. */
  drain(target: IngestTarget, timeoutMs: number): Promise<boolean>;
  /** Readings handed to the broker so far (PUBACKed or not). */
  readonly sent: number;
  readonly errors: number;
  close(): Promise<void>;
}

export async function createLoad(o: LoadOptions): Promise<Load> {
  const client: MqttClient = connect(o.url, { protocolVersion: 4, clean: true, clientId: `mw-bench-pub-${process.pid}`, reconnectPeriod: 1000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const probeEveryMs = o.probeEveryMs ?? 20;
  const t0 = Date.now() - (Date.now() % 60_000);
  const names = Array.from({ length: o.sensors }, (_, i) => `bench/line-1/s${String(i).padStart(5, '0')}`);
  const next = new Map<string, number>(); // per sensor: index of its next reading
  let cursor = 0;
  let sent = 0;
  let inflight = 0;
  let errors = 0;
  let lastError = '';

  /** Sends the sensor's next `n` readings; returns the first one's ts. */
  const send = (sensor: string, n: number): number => {
    const k = next.get(sensor) ?? 0;
    next.set(sensor, k + n);
    const first = t0 + k * PERIOD_MS;
    let payload: string;
    if (n === 1) payload = `{"ts":${first},"value":${value(k)}}`;
    else {
      const items: string[] = [];
      for (let j = 0; j < n; j++) items.push(`{"ts":${first + j * PERIOD_MS},"value":${value(k + j)}}`);
      payload = `[${items.join(',')}]`;
    }
    inflight++;
    sent += n;
    client.publish(o.topicPrefix + sensor, payload, { qos: 1 }, (err) => {
      inflight--;
      if (err) {
        errors++;
        lastError = err.message;
      }
      pump();
    });
    return first;
  };

  // Set by a running phase; pump() is called on every PUBACK and every poll.
  let active: { canSend: () => boolean; sendOne: () => void } | null = null;
  let pumping = false;
  const pump = () => {
    if (!active || pumping) return;
    pumping = true;
    try {
      while (active && active.canSend()) active.sendOne();
    } finally {
      pumping = false;
    }
  };

  return {
    get sent() {
      return sent;
    },
    get errors() {
      return errors;
    },

    async ready(target, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ts = send(READY_SENSOR, 1);
        for (let i = 0; i < 10; i++) {
          await sleep(50);
          if (target.committedTs(READY_SENSOR, ts).length > 0) return;
        }
        if (Date.now() > deadline) throw new Error(`the consumer did not commit a reading within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`);
      }
    },

    async phase(target, p, pids) {
      const probes = new Map<number, number>(); // first ts → send time
      const latencies: number[] = [];
      let committed = target.committed();
      const committed0 = committed;
      const sent0 = sent;
      const start = performance.now();
      const end = start + p.seconds * 1000;
      let lastProbe = start;
      const perMsg = o.batch;
      const watchers = Object.entries(pids).map(([name, pid]) => [name, watchProcess(pid)] as const);

      active = {
        canSend: () => {
          if (inflight >= o.window || sent - committed >= o.backlog) return false;
          const now = performance.now();
          if (now >= end) return false;
          // Paced: the readings due by now, counted from the phase's start.
          return p.rate === undefined || sent - sent0 < ((now - start) / 1000) * p.rate;
        },
        sendOne: () => {
          const now = performance.now();
          if (now - lastProbe >= probeEveryMs) {
            lastProbe = now;
            probes.set(send(PROBE_SENSOR, perMsg), now);
            return;
          }
          send(names[cursor]!, perMsg);
          cursor = (cursor + 1) % names.length;
        },
      };
      const poll = () => {
        committed = target.committed();
        if (probes.size > 0) {
          const now = performance.now();
          let min = Infinity;
          for (const ts of probes.keys()) if (ts < min) min = ts;
          for (const ts of target.committedTs(PROBE_SENSOR, min)) {
            const at = probes.get(ts);
            if (at !== undefined) {
              latencies.push(now - at);
              probes.delete(ts);
            }
          }
        }
        pump();
      };
      const timer = setInterval(poll, POLL_MS);
      pump();
      while (performance.now() < end) await sleep(50);
      poll();
      active = null;
      const seconds = (performance.now() - start) / 1000;
      const committedPerS = (committed - committed0) / seconds;
      const usage = Object.fromEntries(watchers.map(([name, w]) => [name, w.stop()]));
      // Probes sent near the end are still queued: wait for them, or the slowest would be left out.
      const deadline = performance.now() + 60_000;
      while (probes.size > 0 && performance.now() < deadline) await sleep(POLL_MS);
      clearInterval(timer);
      latencies.sort((a, b) => a - b);
      const q = (x: number) => latencies[Math.min(latencies.length - 1, Math.floor(x * latencies.length))] ?? Number.NaN;
      return {
        seconds,
        committedPerS,
        sentPerS: (sent - sent0) / seconds,
        latency: { samples: latencies.length, p50: q(0.5), p99: q(0.99), max: latencies.at(-1) ?? Number.NaN, unresolved: probes.size },
        usage,
      };
    },

    async drain(target, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (inflight > 0 || target.committed() < sent) {
        if (Date.now() > deadline) return false;
        await sleep(20);
      }
      return true;
    },

    async close() {
      await client.endAsync();
    },
  };
}

/** A value that moves a little from reading to reading, with decimals like a real sensor. */
function value(k: number): number {
  return Math.round((50 + 10 * Math.sin(k / 30)) * 1000) / 1000;
}

/** One block of lines for a phase: rates, latency, then each watched process. */
export function describePhase(label: string, r: PhaseResult, batch: number): string[] {
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '-');
  const lines = [
    `${label}: ${fmt(r.committedPerS)} readings/s committed (${fmt(r.committedPerS / batch)} msgs/s), ${fmt(r.sentPerS)} readings/s sent, ${r.seconds.toFixed(1)} s`,
    `  publish-to-commit latency: p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, max ${ms(r.latency.max)} ` +
      `(${r.latency.samples} probes${r.latency.unresolved ? `, ${r.latency.unresolved} never seen` : ''}; poll ${POLL_MS} ms)`,
  ];
  for (const [name, u] of Object.entries(r.usage)) {
    lines.push(`  ${name.padEnd(10)} CPU ${u.cpuPct.toFixed(0).padStart(3)}% of one core, RSS ${u.rssEndMb.toFixed(0)} MB (peak ${u.rssMaxMb.toFixed(0)} MB)`);
  }
  return lines;
}

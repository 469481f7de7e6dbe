import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect, ErrorWithReasonCode, type MqttClient } from 'mqtt';
import type { MqttJsonReading } from '../shared/mqtt-json.js';
import type { SensorId } from '../shared/reading.js';
import { generateReadings, type SimReading } from './generate.js';
import { buildPlant } from './plant.js';
import { redactUrl } from '../shared/url.js';
import { defaultStartMs, resolvePublisherOptions, type PublisherOptions } from './publisher-options.js';

export type { PublisherOptions } from './publisher-options.js';

/**
 * Publishes a simulated plant over MQTT: one message per reading, topic `<topicPrefix><sensor id>`,
 * payload the plain JSON of shared/mqtt-json.ts, QoS 1.
 *
 * Counting contract: a reading counts as published only once the broker's PUBACK for it arrived
 * (mqtt.js calls the publish callback then), and at most once, however often it was sent.
 * QoS 1 is at-least-once [MQTT-4.3.2]: after a dropped connection mqtt.js resends unacknowledged
 * messages with DUP set, so a subscriber may see a reading twice while the summary counts it once.
 * Consumers deduplicate by (sensor, ts).
 *
 * When-full policy of the in-flight window (`maxInFlight` readings sent and not yet acknowledged):
 * block. The generator waits for a PUBACK before producing more, so memory stays bounded while the
 * broker is away; in realtime mode the steps then run late and catch up. Nothing is dropped.
 */

export interface PublisherSummary {
  /** completed: all steps published; stopped: stop() was called; failed: see `error`. */
  ended: 'completed' | 'stopped' | 'failed';
  error?: string;
  startMs: number;
  periodMs: number;
  /** Steps whose readings were (at least partly) handed to the client. */
  steps: number;
  sensors: number;
  /** Readings acknowledged by the broker. */
  total: number;
  perSensor: Record<SensorId, number>;
  /** With keepValues: per sensor, the acknowledged values in timestamp order ... */
  values?: Record<SensorId, number[]>;
  /** ... and their timestamps, index for index. */
  timestamps?: Record<SensorId, number[]>;
  /** Sent but never acknowledged when the publisher ended (possibly delivered: the ack was lost). */
  unacknowledged: number;
  /** Refused by the broker with a reason code (MQTT 5 only); not retried. */
  rejected: number;
  /** Sends repeated because the client failed one before it reached the broker. */
  retries: number;
  reconnects: number;
  elapsedMs: number;
}

export interface PublisherStatus {
  state: 'running' | 'stopping' | 'ended';
  connected: boolean;
  steps: number;
  published: number;
  inFlight: number;
  rejected: number;
  retries: number;
  reconnects: number;
  /** Realtime only: how late the last step started. */
  lagMs: number;
}

export interface Publisher {
  /** Resolves when the run ends, however it ends; never rejects. */
  done: Promise<PublisherSummary>;
  /** Stops producing, waits up to drainTimeoutMs for outstanding PUBACKs, disconnects. */
  stop(): Promise<PublisherSummary>;
  status(): PublisherStatus;
}

/** A reading on its way: one per reading however many times it is sent, so it settles once. */
interface Pending {
  readonly reading: SimReading;
  readonly topic: string;
  readonly payload: string;
  settled: boolean;
}

const RETRY_DELAY_MS = 100;
// A clean disconnect waits for the socket to close; do not let a stuck socket hold up the end.
const END_TIMEOUT_MS = 2000;

export function startPublisher(opts: PublisherOptions): Publisher {
  const { url, seed, machines, periodMs, realtime, steps, topicPrefix, maxInFlight, drainTimeoutMs, reconnectPeriodMs } =
    resolvePublisherOptions(opts);

  const plant = buildPlant({ seed, machines, enterprise: opts.enterprise, site: opts.site });
  const startMs = opts.startMs ?? defaultStartMs(Date.now(), periodMs, realtime, steps);
  const stepIterator = generateReadings(plant, { startMs, periodMs, steps }); // validates the timing
  const log = opts.log.child({ component: 'sim-publisher' });

  const perSensor = new Map<SensorId, number>(plant.sensors.map((s) => [s.id, 0]));
  const kept = opts.keepValues ? new Map<SensorId, Array<[ts: number, value: number]>>(plant.sensors.map((s) => [s.id, []])) : undefined;
  const counts = { published: 0, rejected: 0, retries: 0, reconnects: 0, connects: 0 };
  let inFlight = 0;
  let stepsStarted = 0;
  let lagMs = 0;
  let phase: PublisherStatus['state'] = 'running';
  let stopRequested = false;
  let failure: string | undefined;
  let closing = false;
  let outage = false;
  const retryTimers = new Set<NodeJS.Timeout>();
  const startedAt = performance.now();

  const client: MqttClient = connect(url, {
    clientId: opts.clientId ?? `millwright-sim-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: reconnectPeriodMs,
    connectTimeout: 10_000,
  });
  log.info('sim_publisher_started', {
    url: redactUrl(url), seed, machines, sensors: plant.sensors.length, periodMs, steps, realtime, startMs,
    example_topic: topicPrefix + (plant.sensors[0]?.id ?? ''),
  });

  // --- operational events: each logs and counts in one place -------------------------------

  function onConnected(): void {
    counts.connects++;
    if (counts.connects > 1) counts.reconnects++;
    outage = false;
    log.info('mqtt_connected', { reconnects: counts.reconnects });
  }

  function onConnectionLost(): void {
    // mqtt.js emits 'close' after every failed attempt too; log an outage once. (A broker that
    // was never reached has been reported by the 'error' before this.)
    if (closing || outage) return;
    outage = true;
    if (counts.connects > 0) log.warn('mqtt_connection_lost', { inFlight, reconnectInMs: reconnectPeriodMs });
  }

  function onClientError(err: Error): void {
    // After a CONNACK refusal (bad credentials, not authorised) mqtt.js stops reconnecting, and
    // retrying would not help anyway: end the run with the reason instead of hanging.
    if (err instanceof ErrorWithReasonCode && err.message.startsWith('Connection refused')) {
      fail(`the MQTT broker refused the connection (${err.message}); check the user, password and client id`);
      return;
    }
    if (closing) return;
    if (outage) log.debug('mqtt_error', { error: err });
    else log.warn('mqtt_error', { error: err });
  }

  function onPublished(reading: SimReading): void {
    counts.published++;
    perSensor.set(reading.sensor, (perSensor.get(reading.sensor) ?? 0) + 1);
    kept?.get(reading.sensor)?.push([reading.ts, reading.value]);
    release();
  }

  function onRejected(p: Pending, err: Error): void {
    counts.rejected++;
    // A broker that refuses one topic refuses them all: log the first few, then every 1000th.
    if (counts.rejected <= 10 || counts.rejected % 1000 === 0) {
      log.warn('reading_rejected', { sensor: p.reading.sensor, ts: p.reading.ts, reason: err.message, rejected: counts.rejected });
    }
    release();
  }

  function onRetry(p: Pending, err: Error): void {
    counts.retries++;
    log.debug('publish_retry', { sensor: p.reading.sensor, ts: p.reading.ts, reason: err.message });
    const timer = setTimeout(() => {
      retryTimers.delete(timer);
      if (!closing) send(p);
    }, RETRY_DELAY_MS);
    retryTimers.add(timer);
  }

  function fail(reason: string): void {
    if (failure !== undefined) return;
    failure = reason;
    log.error('sim_publisher_failed', { reason });
    requestStop();
  }

  function requestStop(): void {
    if (stopRequested) return;
    stopRequested = true;
    if (phase === 'running') phase = 'stopping';
    nudge();
  }

  client.on('connect', onConnected);
  client.on('close', onConnectionLost);
  client.on('error', onClientError);

  // --- sending -------------------------------------------------------------------------------

  function send(p: Pending): void {
    client.publish(p.topic, p.payload, { qos: 1 }, (err) => settle(p, err));
  }

  function settle(p: Pending, err: Error | undefined): void {
    if (p.settled || closing) return; // counted already, or ended: stays unacknowledged
    if (!err) {
      p.settled = true;
      onPublished(p.reading);
    } else if (err instanceof ErrorWithReasonCode) {
      // A PUBACK with a reason code >= 0x80 (MQTT 5): the broker saw it and said no.
      p.settled = true;
      onRejected(p, err);
    } else {
      // The client failed it before the broker acknowledged it (e.g. "Connection closed" while
      // mqtt.js was replaying its store after a reconnect): send it again.
      onRetry(p, err);
    }
  }

  function release(): void {
    inFlight--;
    nudge();
  }

  // The run loop is the only waiter: it parks until a condition holds, and everything that can
  // change one (an ack, stop, a failure) nudges it.
  let wake: (() => void) | undefined;
  function nudge(): void {
    const w = wake;
    wake = undefined;
    w?.();
  }
  async function park(ready: () => boolean, maxWaitMs = Infinity): Promise<void> {
    const deadline = performance.now() + maxWaitMs;
    while (!ready() && performance.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (Number.isFinite(deadline)) timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      });
      clearTimeout(timer);
    }
  }

  async function run(): Promise<void> {
    const t0 = performance.now();
    outer: for (const step of stepIterator) {
      if (stopRequested) break;
      if (realtime) {
        const due = t0 + stepsStarted * periodMs;
        await park(() => stopRequested, due - performance.now());
        if (stopRequested) break;
        lagMs = Math.max(0, Math.round(performance.now() - due));
      }
      stepsStarted++;
      for (const reading of step) {
        if (inFlight >= maxInFlight) await park(() => stopRequested || inFlight < maxInFlight);
        if (stopRequested) break outer;
        inFlight++;
        send({ reading, topic: topicPrefix + reading.sensor, payload: encodePayload(reading), settled: false });
      }
    }
    // Drain: a completed run waits for every PUBACK however long the broker is away; a stopped
    // one waits at most drainTimeoutMs, and a failed one not at all.
    await park(() => inFlight === 0 || stopRequested);
    if (inFlight > 0 && failure === undefined) {
      log.info('sim_draining', { inFlight, connected: client.connected, timeoutMs: drainTimeoutMs });
      await park(() => inFlight === 0, drainTimeoutMs);
    }
  }

  async function finish(): Promise<PublisherSummary> {
    closing = true;
    for (const timer of retryTimers) clearTimeout(timer);
    if (client.connected) {
      let endTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.endAsync(inFlight > 0).catch((err: unknown) => log.warn('mqtt_end_failed', { error: err })),
        new Promise<void>((resolve) => (endTimer = setTimeout(resolve, END_TIMEOUT_MS))),
      ]);
      clearTimeout(endTimer);
    } else {
      // Nothing to flush; this stops the reconnect timer. Not awaited: mqtt.js calls back when the
      // socket closes, and a socket that closed already (between attempts) never closes again.
      client.end(true);
    }
    phase = 'ended';
    const summary: PublisherSummary = {
      ended: failure !== undefined ? 'failed' : stopRequested ? 'stopped' : 'completed',
      ...(failure !== undefined && { error: failure }),
      startMs,
      periodMs,
      steps: stepsStarted,
      sensors: plant.sensors.length,
      total: counts.published,
      perSensor: Object.fromEntries(perSensor),
      unacknowledged: inFlight,
      rejected: counts.rejected,
      retries: counts.retries,
      reconnects: counts.reconnects,
      elapsedMs: Math.round(performance.now() - startedAt),
    };
    if (kept) {
      summary.values = {};
      summary.timestamps = {};
      for (const [sensor, pairs] of kept) {
        // Retries after a reconnect can be acknowledged out of order; report in timestamp order.
        pairs.sort((a, b) => a[0] - b[0]);
        summary.timestamps[sensor] = pairs.map((pair) => pair[0]);
        summary.values[sensor] = pairs.map((pair) => pair[1]);
      }
    }
    const { perSensor: _perSensor, values: _values, timestamps: _timestamps, ...brief } = summary;
    log.info('sim_publisher_finished', brief);
    return summary;
  }

  const done = run()
    .catch((err: unknown) => fail(`publisher stopped on an internal error: ${err instanceof Error ? err.message : String(err)}`))
    .then(finish);

  return {
    done,
    stop() {
      requestStop();
      return done;
    },
    status: () => ({
      state: phase,
      connected: client.connected,
      steps: stepsStarted,
      published: counts.published,
      inFlight,
      rejected: counts.rejected,
      retries: counts.retries,
      reconnects: counts.reconnects,
      lagMs,
    }),
  };
}

/** The shared JSON payload: `quality` only when it is not good, as the contract allows. */
export function encodePayload(reading: SimReading): string {
  const body: MqttJsonReading = { ts: reading.ts, value: reading.value };
  if (reading.quality !== undefined && reading.quality !== 'good') body.quality = reading.quality;
  return JSON.stringify(body);
}

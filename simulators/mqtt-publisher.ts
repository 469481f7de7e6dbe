import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect, ErrorWithReasonCode, type IClientOptions, type MqttClient } from 'mqtt';
import type { SensorId } from '../shared/reading.js';
import { generateReadings, type SimReading } from './generate.js';
import { buildPlant } from './plant.js';
import { redactUrl } from '../shared/url.js';
import type { Framer, OutMessage } from './mqtt/framer.js';
import { createJsonBatchFramer, createJsonFramer } from './mqtt/json.js';
import { createSparkplugEdgeNode, type SparkplugEdgeNode } from './mqtt/sparkplug.js';
import { defaultStartMs, resolvePublisherOptions, type PublisherOptions, type PublishMode } from './publisher-options.js';

export type { PublisherOptions, PublishMode, StepSource } from './publisher-options.js';
export { encodePayload } from './mqtt/json.js';

/**
 * Publishes a simulated plant over MQTT with QoS 1, in one of three modes (`mode`):
 *
 * - json (default): one message per reading, topic `<topicPrefix><sensor id>`, payload the plain
 *   JSON of shared/mqtt-json.ts, `{"ts":…,"value":…}`.
 * - json-batch: one message per sensor per `batchSteps` steps, same topic, payload a JSON array of
 *   that sensor's readings in timestamp order (what the edge's MQTT source decodes today).
 * - sparkplug: Sparkplug B, the plant as one edge node and its machines as devices; NBIRTH and an
 *   NDEATH will with the same bdSeq, DBIRTH per machine with aliases, DDATA per machine per step
 *   (simulators/mqtt/sparkplug.ts).
 *
 * Counting contract: a reading counts as published only once the broker's PUBACK for the message
 * carrying it arrived (mqtt.js calls the publish callback then), and at most once, however often
 * it was sent. QoS 1 is at-least-once [MQTT-4.3.2]: after a dropped connection mqtt.js resends
 * unacknowledged messages with DUP set, so a subscriber may see a reading twice while the summary
 * counts it once. Consumers deduplicate by (sensor, ts).
 *
 * When-full policy of the in-flight window (`maxInFlight` messages sent and not yet acknowledged):
 * block. The generator waits for a PUBACK before producing more, so memory stays bounded while the
 * broker is away; in realtime mode the steps then run late and catch up. Nothing is dropped.
 *
 * Pacing: realtime step i starts i·periodMs/speed after the start (speed 1 real time, 1440 a day per
 * minute); readings carry simulated timestamps either way.
 */

export interface PublisherSummary {
  /** completed: all steps published; stopped: stop() was called; failed: see `error`. */
  ended: 'completed' | 'stopped' | 'failed';
  error?: string;
  mode: PublishMode;
  /** Timestamp of the first step (with a step source: of its first reading, if any). */
  startMs: number;
  periodMs: number;
  /**
   * Steps taken from the generator. Their readings were handed to the client, except, in a stopped
   * json-batch run, the batch being filled.
   */
  steps: number;
  sensors: number;
  /** Readings acknowledged by the broker. */
  total: number;
  /** Messages acknowledged by the broker, control messages (NBIRTH, NDEATH) included. */
  messages: number;
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
  /** Realtime only: the latest any step started. */
  maxLagMs: number;
  elapsedMs: number;
  sparkplug?: {
    groupId: string;
    edgeNodeId: string;
    /** bdSeq of the last session. */
    bdSeq: number;
    /** Birth sequences sent: one per connection and per rebirth request. */
    births: number;
  };
}

export interface PublisherStatus {
  state: 'running' | 'stopping' | 'ended';
  connected: boolean;
  steps: number;
  /** Readings acknowledged. */
  published: number;
  /** Messages acknowledged. */
  messages: number;
  /** Messages sent and not yet acknowledged. */
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

/** A message on its way: one per message however many times it is sent, so it settles once. */
interface Pending {
  readonly message: OutMessage;
  settled: boolean;
}

const RETRY_DELAY_MS = 100;
// A clean disconnect waits for the socket to close; do not let a stuck socket hold up the end.
const END_TIMEOUT_MS = 2000;

export function startPublisher(opts: PublisherOptions): Publisher {
  const o = resolvePublisherOptions(opts);
  const { url, periodMs, realtime, speed, mode, topicPrefix, maxInFlight, drainTimeoutMs, reconnectPeriodMs } = o;

  const plant = opts.source?.plant ?? buildPlant({ seed: o.seed!, machines: o.machines!, enterprise: opts.enterprise, site: opts.site });
  let startMs = opts.startMs ?? (opts.source ? Number.NaN : defaultStartMs(Date.now(), periodMs, realtime, o.steps, speed));
  const stepIterator: Iterator<readonly SimReading[]> =
    opts.source?.steps ?? generateReadings(plant, { startMs, periodMs, steps: o.steps }); // validates the timing
  const node: SparkplugEdgeNode | undefined =
    mode === 'sparkplug'
      ? createSparkplugEdgeNode({ plant, groupId: opts.sparkplug?.groupId ?? plant.site, edgeNodeId: opts.sparkplug?.edgeNodeId ?? 'simulator' })
      : undefined;
  const framer: Framer = node ?? (mode === 'json-batch' ? createJsonBatchFramer(topicPrefix, o.batchSteps) : createJsonFramer(topicPrefix));
  const log = opts.log.child({ component: 'sim-publisher' });

  const perSensor = new Map<SensorId, number>(plant.sensors.map((s) => [s.id, 0]));
  const kept = opts.keepValues ? new Map<SensorId, Array<[ts: number, value: number]>>(plant.sensors.map((s) => [s.id, []])) : undefined;
  const counts = { published: 0, messages: 0, rejected: 0, retries: 0, reconnects: 0, connects: 0 };
  let inFlight = 0;
  let unacknowledged = 0; // readings in messages not yet settled
  let stepsTaken = 0;
  let lagMs = 0;
  let maxLagMs = 0;
  let phase: PublisherStatus['state'] = 'running';
  let stopRequested = false;
  let failure: string | undefined;
  let closing = false;
  let outage = false;
  const retryTimers = new Set<NodeJS.Timeout>();
  const startedAt = performance.now();

  const connectOptions: IClientOptions = {
    clientId: opts.clientId ?? `millwright-sim-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: reconnectPeriodMs,
    connectTimeout: 10_000,
  };
  // Sparkplug: the NDEATH is the will of every CONNECT (tck-id-payloads-ndeath-will-message).
  if (node) connectOptions.will = node.will();
  const client: MqttClient = connect(url, connectOptions);
  log.info('sim_publisher_started', {
    url: redactUrl(url), mode, seed: plant.seed, machines: plant.machines.length, sensors: plant.sensors.length, periodMs,
    steps: o.steps, realtime, speed, startMs: Number.isNaN(startMs) ? undefined : startMs, source: opts.source ? 'external' : 'generator',
    ...(node ? { groupId: node.groupId, edgeNodeId: node.edgeNodeId } : { example_topic: topicPrefix + (plant.sensors[0]?.id ?? '') }),
  });

  // --- operational events: each logs and counts in one place -------------------------------

  function onConnected(): void {
    counts.connects++;
    if (counts.connects > 1) counts.reconnects++;
    outage = false;
    if (node) {
      node.onConnect();
      // The will of the next CONNECT carries the next bdSeq; mqtt.js reads it from its options.
      client.options.will = node.will();
      // Rebirth requests. mqtt.js subscribes again by itself after a reconnect.
      if (counts.connects === 1) client.subscribe(node.commandTopic, { qos: 1 }, (err) => err && !closing && log.warn('sparkplug_ncmd_subscribe_failed', { error: err }));
      log.info('mqtt_connected', { reconnects: counts.reconnects, bdSeq: node.bdSeq });
      nudge(); // the run loop sends the births
    } else {
      log.info('mqtt_connected', { reconnects: counts.reconnects });
    }
  }

  function onConnectionLost(): void {
    // mqtt.js emits 'close' after every failed attempt too; log an outage once. (A broker that
    // was never reached has been reported by the 'error' before this.)
    node?.onClose();
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

  function onPublished(message: OutMessage): void {
    counts.messages++;
    for (const reading of message.readings) {
      counts.published++;
      perSensor.set(reading.sensor, (perSensor.get(reading.sensor) ?? 0) + 1);
      kept?.get(reading.sensor)?.push([reading.ts, reading.value]);
    }
    release(message);
  }

  function onRejected(message: OutMessage, err: Error): void {
    counts.rejected += message.readings.length;
    // A broker that refuses one topic refuses them all: log the first few, then every 1000th.
    if (counts.rejected <= 10 || counts.rejected % 1000 < message.readings.length) {
      log.warn('message_rejected', { topic: message.topic, readings: message.readings.length, reason: err.message, rejected: counts.rejected });
    }
    release(message);
  }

  function onControlFailed(message: OutMessage, err: Error): void {
    // An NBIRTH or NDEATH the client failed before the broker had it: the next session sends its own.
    log.debug('control_message_failed', { topic: message.topic, reason: err.message });
    release(message);
  }

  function onRebirthRequested(): void {
    log.info('sparkplug_rebirth_requested', { bdSeq: node?.bdSeq });
    nudge();
  }

  function onBadCommand(topic: string, err: unknown): void {
    log.warn('sparkplug_command_ignored', { topic, reason: err instanceof Error ? err.message : String(err) });
  }

  function onRetry(p: Pending, err: Error): void {
    counts.retries++;
    log.debug('publish_retry', { topic: p.message.topic, readings: p.message.readings.length, reason: err.message });
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
  if (node) {
    client.on('message', (topic, payload) => {
      if (topic !== node.commandTopic) return;
      try {
        if (node.onCommand(payload)) onRebirthRequested();
      } catch (err) {
        onBadCommand(topic, err);
      }
    });
  }

  // --- sending -------------------------------------------------------------------------------

  function transmit(message: OutMessage): void {
    inFlight++;
    unacknowledged += message.readings.length;
    send({ message, settled: false });
  }

  function send(p: Pending): void {
    client.publish(p.message.topic, p.message.payload, { qos: 1 }, (err) => settle(p, err));
  }

  function settle(p: Pending, err: Error | undefined): void {
    if (p.settled || closing) return; // counted already, or ended: stays unacknowledged
    if (!err) {
      p.settled = true;
      onPublished(p.message);
    } else if (err instanceof ErrorWithReasonCode) {
      // A PUBACK with a reason code >= 0x80 (MQTT 5): the broker saw it and said no.
      p.settled = true;
      onRejected(p.message, err);
    } else if (!p.message.retry) {
      p.settled = true;
      onControlFailed(p.message, err);
    } else {
      // The client failed it before the broker acknowledged it (e.g. "Connection closed" while
      // mqtt.js was replaying its store after a reconnect): send it again.
      onRetry(p, err);
    }
  }

  function release(message: OutMessage): void {
    inFlight--;
    unacknowledged -= message.readings.length;
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

  /** Room in the window, and for Sparkplug an open session (its messages are numbered as they go). */
  const maySend = (): boolean => inFlight < maxInFlight && (node === undefined || node.open);
  let births: Iterator<OutMessage> | undefined;

  /**
   * Sends `messages`, pulling each only when it may go out. A Sparkplug birth sequence that falls
   * due (a new session, a rebirth request) goes first, whole, before any further device message.
   * Returns false when stopped.
   */
  async function pump(messages: Iterator<OutMessage>): Promise<boolean> {
    for (;;) {
      if (!maySend()) await park(() => stopRequested || maySend());
      if (stopRequested) return false;
      if (node?.birthDue) births = node.birth();
      if (births) {
        const b = births.next();
        if (!b.done) {
          transmit(b.value);
          continue;
        }
        births = undefined;
      }
      const next = messages.next();
      if (next.done) return true;
      transmit(next.value);
    }
  }

  async function run(): Promise<void> {
    const t0 = performance.now();
    const stepMs = periodMs / speed;
    const nothing: Iterator<OutMessage> = [][Symbol.iterator]();
    while (!stopRequested && (o.steps === undefined || stepsTaken < o.steps)) {
      if (realtime) {
        const due = t0 + stepsTaken * stepMs;
        // Births owed while waiting for the next step go out now, not at the step.
        for (;;) {
          await park(() => stopRequested || (node?.birthDue === true && maySend()), due - performance.now());
          if (stopRequested || !(node?.birthDue && maySend())) break;
          await pump(nothing);
        }
        if (stopRequested) break;
        lagMs = Math.max(0, Math.round(performance.now() - due));
        maxLagMs = Math.max(maxLagMs, lagMs);
      }
      const step = stepIterator.next();
      if (step.done) break;
      if (Number.isNaN(startMs) && step.value[0]) startMs = step.value[0].ts;
      stepsTaken++;
      if (!(await pump(framer.frame(step.value)))) break;
    }
    if (!stopRequested) await pump(framer.flush());
    // Drain: a completed run waits for every PUBACK however long the broker is away; a stopped
    // one waits at most drainTimeoutMs, and a failed one not at all.
    await park(() => inFlight === 0 || stopRequested);
    if (inFlight > 0 && failure === undefined) {
      log.info('sim_draining', { inFlight, connected: client.connected, timeoutMs: drainTimeoutMs });
      await park(() => inFlight === 0, drainTimeoutMs);
    }
  }

  /** Sparkplug: a clean disconnect does not release the will, so say NDEATH ourselves first. */
  async function sayDeath(): Promise<void> {
    if (!node?.open || !client.connected) return;
    const death = node.death();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.publishAsync(death.topic, death.payload, { qos: 1 }).then(
        () => void counts.messages++,
        (err: unknown) => log.warn('sparkplug_ndeath_failed', { error: err }),
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, END_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  async function finish(): Promise<PublisherSummary> {
    await sayDeath();
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
      mode,
      startMs: Number.isNaN(startMs) ? 0 : startMs,
      periodMs,
      steps: stepsTaken,
      sensors: plant.sensors.length,
      total: counts.published,
      messages: counts.messages,
      perSensor: Object.fromEntries(perSensor),
      unacknowledged,
      rejected: counts.rejected,
      retries: counts.retries,
      reconnects: counts.reconnects,
      maxLagMs,
      elapsedMs: Math.round(performance.now() - startedAt),
      ...(node && { sparkplug: { groupId: node.groupId, edgeNodeId: node.edgeNodeId, bdSeq: node.bdSeq, births: node.births } }),
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
      steps: stepsTaken,
      published: counts.published,
      messages: counts.messages,
      inFlight,
      rejected: counts.rejected,
      retries: counts.retries,
      reconnects: counts.reconnects,
      lagMs,
    }),
  };
}

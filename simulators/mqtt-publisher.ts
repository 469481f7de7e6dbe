import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect, ErrorWithReasonCode, type IClientOptions, type MqttClient } from 'mqtt';
import { generateReadings, type SimReading } from './generate.js';
import { buildPlant } from './plant.js';
import { redactUrl } from '../shared/url.js';
import type { Framer, OutMessage } from './mqtt/framer.js';
import { createJsonBatchFramer, createJsonFramer } from './mqtt/json.js';
import { createRunLoop, createWaiter } from './mqtt/pacing.js';
import { createSparkplugSession, type SparkplugSession } from './mqtt/session.js';
import { createSparkplugEdgeNode, type SparkplugEdgeNode } from './mqtt/sparkplug.js';
import { createLedger, type PublisherStatus, type PublisherSummary } from './mqtt/summary.js';
import { defaultStartMs, resolvePublisherOptions, type PublisherOptions } from './publisher-options.js';

export type { PublisherOptions, PublishMode, StepSource } from './publisher-options.js';
export type { PublisherStatus, PublisherSummary } from './mqtt/summary.js';
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
 * minute); readings carry simulated timestamps either way. A step that starts more than a period
 * late logs `sim_falling_behind` (at most every 10 s); the summary keeps `maxLagMs`.
 *
 * The parts: the run loop and its pacing in mqtt/pacing.ts, the Sparkplug session control in
 * mqtt/session.ts, the accounting, summary and status in mqtt/summary.ts; this file wires them to
 * one mqtt.js client and owns the sending, settling and ending.
 */
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

  const ledger = createLedger(plant, opts.keepValues === true);
  const { counts } = ledger;
  const waiter = createWaiter();
  const nudge = (): void => waiter.nudge();
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
  const session: SparkplugSession | undefined = node
    ? createSparkplugSession({ node, client, log, closing: () => closing, onRebirthRequested })
    : undefined;
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
    if (node && session) {
      session.onConnected(counts.connects === 1);
      log.info('mqtt_connected', { reconnects: counts.reconnects, bdSeq: node.bdSeq });
      nudge(); // the run loop sends the births
    } else {
      log.info('mqtt_connected', { reconnects: counts.reconnects });
    }
  }

  function onConnectionLost(): void {
    // mqtt.js emits 'close' after every failed attempt too; log an outage once. (A broker that
    // was never reached has been reported by the 'error' before this.)
    session?.onConnectionLost();
    if (closing || outage) return;
    outage = true;
    if (counts.connects > 0) log.warn('mqtt_connection_lost', { inFlight: ledger.inFlight, reconnectInMs: reconnectPeriodMs });
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
    ledger.acknowledged(message);
    release(message);
  }

  function onRejected(message: OutMessage, err: Error): void {
    const rejected = ledger.rejected(message);
    // A broker that refuses one topic refuses them all: log the first few, then every 1000th.
    if (rejected <= 10 || rejected % 1000 < message.readings.length) {
      log.warn('message_rejected', { topic: message.topic, readings: message.readings.length, reason: err.message, rejected });
    }
    release(message);
  }

  function onControlFailed(message: OutMessage, err: Error): void {
    // An NBIRTH or NDEATH the client failed before the broker had it (or that the session removed
    // from mqtt.js's store when its connection closed): the next session sends its own.
    log.debug('control_message_failed', { topic: message.topic, reason: err.message });
    release(message);
  }

  function onRebirthRequested(): void {
    log.info('sparkplug_rebirth_requested', { bdSeq: node?.bdSeq });
    nudge();
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

  // --- sending -------------------------------------------------------------------------------

  function transmit(message: OutMessage): void {
    ledger.sent(message);
    send({ message, settled: false });
  }

  function send(p: Pending): void {
    const options = session?.publishOptions(p.message) ?? { qos: 1 as const };
    client.publish(p.message.topic, p.message.payload, options, (err) => settle(p, err));
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
    session?.settled(message);
    ledger.released(message);
    nudge();
  }

  const loop = createRunLoop({
    steps: o.steps, realtime, periodMs, speed, drainTimeoutMs, stepIterator, framer, node, waiter, log,
    // Room in the window, and for Sparkplug an open session (its messages are numbered as they go).
    maySend: () => ledger.inFlight < maxInFlight && (node === undefined || node.open),
    transmit,
    onStep: (step) => {
      if (Number.isNaN(startMs) && step[0]) startMs = step[0].ts;
    },
    stopRequested: () => stopRequested,
    failed: () => failure !== undefined,
    inFlight: () => ledger.inFlight,
    connected: () => client.connected,
  });

  // --- ending --------------------------------------------------------------------------------

  async function finish(): Promise<PublisherSummary> {
    await session?.sayDeath(END_TIMEOUT_MS, () => void counts.messages++);
    closing = true;
    for (const timer of retryTimers) clearTimeout(timer);
    if (client.connected) {
      let endTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.endAsync(ledger.inFlight > 0).catch((err: unknown) => log.warn('mqtt_end_failed', { error: err })),
        new Promise<void>((resolve) => (endTimer = setTimeout(resolve, END_TIMEOUT_MS))),
      ]);
      clearTimeout(endTimer);
    } else {
      // Nothing to flush; this stops the reconnect timer. Not awaited: mqtt.js calls back when the
      // socket closes, and a socket that closed already (between attempts) never closes again.
      client.end(true);
    }
    phase = 'ended';
    const summary = ledger.summary({
      ended: failure !== undefined ? 'failed' : stopRequested ? 'stopped' : 'completed',
      error: failure,
      mode,
      startMs: Number.isNaN(startMs) ? 0 : startMs,
      periodMs,
      steps: loop.stepsTaken,
      maxLagMs: loop.maxLagMs,
      elapsedMs: Math.round(performance.now() - startedAt),
      sparkplug: node && { groupId: node.groupId, edgeNodeId: node.edgeNodeId, bdSeq: node.bdSeq, births: node.births },
    });
    const { perSensor: _perSensor, values: _values, timestamps: _timestamps, ...brief } = summary;
    log.info('sim_publisher_finished', brief);
    return summary;
  }

  const done = loop
    .run()
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
      steps: loop.stepsTaken,
      published: counts.published,
      messages: counts.messages,
      inFlight: ledger.inFlight,
      rejected: counts.rejected,
      retries: counts.retries,
      reconnects: counts.reconnects,
      lagMs: loop.lagMs,
    }),
  };
}

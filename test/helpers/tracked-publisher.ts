import mqtt, { type MqttClient } from 'mqtt';
import { readingKey } from './historian.js';

/**
 * A device publishing unique JSON readings (QoS 1, one or a batch per message) and keeping the
 * books a no-loss test needs: every reading it handed to MQTT.js (`sent`) and every one whose
 * PUBACK arrived (`acked`). Identity is sensor + source timestamp, the historian's unique key.
 *
 * Resending is MQTT.js's own: a QoS 1 PUBLISH stays in its outgoing store until its PUBACK, and
 * on every (re)connect MQTT.js resends the store before anything new (`_onConnect` →
 * `startStreamProcess` in mqtt 5), whatever `clean` says. So a broker or agent that dies before
 * acknowledging gets the message again from this publisher, as a real device would resend it.
 * One gap: a publish made while MQTT.js is still resending its store waits in a queue outside
 * the store, and if the connection drops then, its callback fails with "Connection closed"
 * without it having been sent. Such a message is published again (same readings), as a device
 * that checks its callbacks would; `retries()` counts them.
 */
export interface TrackedPublisherOptions {
  url: string;
  clientId: string;
  /** Topic = topicPrefix + sensor id. */
  topicPrefix: string;
  sensors: readonly string[];
  /** First source timestamp; reading i of a sensor gets tsStart + i. */
  tsStart: number;
  /**
   * Readings per message: 1 sends `{"ts","value"}`, more send an array of that many consecutive
   * readings of one sensor (the json-batch shape), all acknowledged by the one PUBACK.
   */
  readingsPerMessage?: number;
  /** Messages per second at most (a steady load, not a flood the broker must queue forever). */
  ratePerSec: number;
  /** Unacknowledged messages at most. */
  window: number;
  reconnectMs?: number;
}

export interface TrackedPublisher {
  readonly sent: ReadonlyMap<string, number>;
  readonly acked: ReadonlySet<string>;
  inFlight(): number;
  /** CONNACKs received (1 + reconnects). */
  connects(): number;
  /** Publishes that failed before being sent and were made again. */
  retries(): number;
  /** Publishes nothing new from now on (failed publishes are still made again). */
  pause(): void;
  /** Resolves true once nothing is unacknowledged, false if `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function startTrackedPublisher(o: TrackedPublisherOptions): TrackedPublisher {
  const sent = new Map<string, number>();
  const acked = new Set<string>();
  const again: number[] = [];
  let retries = 0;
  let inFlight = 0;
  let connects = 0;
  let next = 0;
  let paused = false;
  let budget = 0;
  let last = Date.now();

  const client: MqttClient = mqtt.connect(o.url, {
    clientId: o.clientId,
    clean: false,
    reconnectPeriod: o.reconnectMs ?? 100,
    connectTimeout: 2000,
    keepalive: 10,
  });
  // CONNACKs, not 'connect' events: MQTT.js emits 'connect' only once it has resent its whole
  // store, which a broker dying meanwhile prevents.
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'connack') connects++;
  });
  client.on('error', () => {}); // connection refused while the broker is down: MQTT.js retries

  const perMessage = o.readingsPerMessage ?? 1;
  /** Message i: sensor i mod n, readings numbered from (i div n) * perMessage for that sensor. */
  const publishOne = (i: number) => {
    const sensor = o.sensors[i % o.sensors.length]!;
    const first = Math.floor(i / o.sensors.length) * perMessage;
    const readings = Array.from({ length: perMessage }, (_, j) => ({
      ts: o.tsStart + first + j,
      value: (i * perMessage + j) / 4, // exact in binary, so a stored value compares equal
    }));
    const keys = readings.map((r) => readingKey(sensor, r.ts));
    readings.forEach((r, j) => sent.set(keys[j]!, r.value));
    inFlight++;
    const payload = JSON.stringify(perMessage === 1 ? readings[0] : readings);
    client.publish(`${o.topicPrefix}${sensor}`, payload, { qos: 1 }, (err) => {
      inFlight--;
      if (!err) for (const k of keys) acked.add(k);
      else {
        retries++;
        again.push(i);
      }
    });
  };

  // Token bucket: at most ratePerSec, and never more than `window` unacknowledged.
  const timer = setInterval(() => {
    const now = Date.now();
    budget = Math.min(budget + ((now - last) * o.ratePerSec) / 1000, o.window);
    last = now;
    while (again.length > 0 && inFlight < o.window) publishOne(again.shift()!);
    if (paused) return;
    while (budget >= 1 && inFlight < o.window) {
      budget--;
      publishOne(next++);
    }
  }, 5);

  return {
    sent,
    acked,
    inFlight: () => inFlight,
    connects: () => connects,
    retries: () => retries,
    pause() {
      paused = true;
    },
    async drained(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (inFlight > 0 || again.length > 0) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },
    async close() {
      clearInterval(timer);
      await client.endAsync(true).catch(() => {});
    },
  };
}

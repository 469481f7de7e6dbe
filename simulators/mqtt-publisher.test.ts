import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../shared/log.js';
import { MqttJsonPayload } from '../shared/mqtt-json.js';
import { encodePayload, startPublisher, type PublisherSummary } from './mqtt-publisher.js';
import { buildPlant } from './plant.js';
import { defaultStartMs } from './publisher-options.js';
import { brokerTargets, startTestBroker, type TestBroker } from './testing/broker.js';

const START = Date.UTC(2025, 0, 6, 8, 0, 0);
/** Sensors of a plant of n machines (the machine models own how many each type has). */
const sensorsIn = (machines: number) => buildPlant({ seed: 1, machines }).sensors.length;
const SENSORS_IN_3_MACHINES = sensorsIn(3);

interface Received {
  /** sensor id → readings in arrival order */
  bySensor: Map<string, Array<{ ts: number; value: number }>>;
  count: number;
  /** (sensor, ts) pairs seen, so that copies resent after a reconnect count once. */
  distinct: Set<string>;
  /** Payloads that broke the shared JSON contract. */
  invalid: string[];
}

/** A plain mqtt.js subscriber on `<prefix>#`, QoS 1. */
async function subscribe(url: string, prefix: string, opts: { clientId?: string; clean?: boolean } = {}) {
  const client: MqttClient = await connectAsync(url, { clean: opts.clean ?? true, clientId: opts.clientId, reconnectPeriod: 100 });
  const received: Received = { bySensor: new Map(), count: 0, distinct: new Set(), invalid: [] };
  client.on('message', (topic, payload) => {
    let parsed;
    try {
      parsed = MqttJsonPayload.safeParse(JSON.parse(payload.toString()));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success || Array.isArray(parsed.data) || 'quality' in parsed.data) {
      received.invalid.push(payload.toString());
      return;
    }
    const sensor = topic.slice(prefix.length);
    const list = received.bySensor.get(sensor) ?? [];
    list.push({ ts: parsed.data.ts, value: parsed.data.value });
    received.bySensor.set(sensor, list);
    received.count++;
    received.distinct.add(`${sensor}@${parsed.data.ts}`);
  });
  await client.subscribeAsync(`${prefix}#`, { qos: 1 });
  return { client, received, close: () => client.endAsync() };
}

async function waitFor(what: string, ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the summary says was published, in the subscriber's shape. */
function published(summary: PublisherSummary): Map<string, Array<{ ts: number; value: number }>> {
  const out = new Map<string, Array<{ ts: number; value: number }>>();
  for (const [sensor, values] of Object.entries(summary.values ?? {})) {
    const timestamps = summary.timestamps?.[sensor] ?? [];
    out.set(sensor, values.map((value, i) => ({ ts: timestamps[i]!, value })));
  }
  return out;
}

const uniquePrefix = () => `millwright-test/${randomUUID()}/`;

const targets = brokerTargets();

describe.each(targets)('MQTT publisher against $name', (target) => {
  let url = '';
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => {
    ({ url, close } = await target.start());
  });
  afterAll(() => close());

  it('delivers exactly the readings it counts as published, values and timestamps intact', async () => {
    const prefix = uniquePrefix();
    const sub = await subscribe(url, prefix);
    try {
      const publisher = startPublisher({
        url, seed: 7, machines: 3, periodMs: 1000, steps: 20, realtime: false, startMs: START,
        topicPrefix: prefix, keepValues: true, maxInFlight: 64, log: silentLogger,
      });
      const summary = await publisher.done;
      expect(summary.ended).toBe('completed');
      expect(summary.total).toBe(20 * SENSORS_IN_3_MACHINES);
      expect(Object.values(summary.perSensor)).toEqual(Array(SENSORS_IN_3_MACHINES).fill(20));
      expect(summary.unacknowledged).toBe(0);
      const someSensor = buildPlant({ seed: 7, machines: 3 }).sensors[SENSORS_IN_3_MACHINES - 1]!.id;
      expect(summary.timestamps?.[someSensor]?.[19]).toBe(START + 19 * 1000);

      await waitFor('every reading at the subscriber', () => sub.received.count >= summary.total);
      await new Promise((resolve) => setTimeout(resolve, 200)); // room for any extra copy to show up
      expect(sub.received.invalid).toEqual([]);
      expect(sub.received.count).toBe(summary.total);
      // Per topic, a broker forwards a client's QoS 1 messages in the order it sent them
      // [MQTT-4.6.0-6], and the publisher sends each sensor's readings in timestamp order.
      expect(sub.received.bySensor).toEqual(published(summary));
    } finally {
      await sub.close();
    }
  });

  it('paces realtime steps by the wall clock', async () => {
    const prefix = uniquePrefix();
    const sub = await subscribe(url, prefix);
    try {
      const began = Date.now();
      const summary = await startPublisher({
        url, seed: 1, machines: 1, periodMs: 150, steps: 4, realtime: true, topicPrefix: prefix, log: silentLogger,
      }).done;
      expect(Date.now() - began).toBeGreaterThanOrEqual(3 * 150 - 20);
      expect(summary.total).toBe(4 * sensorsIn(1));
      await waitFor('every reading at the subscriber', () => sub.received.count >= summary.total);
    } finally {
      await sub.close();
    }
  });

  it('stop() ends an endless run after draining, and nothing acknowledged is missing', async () => {
    const prefix = uniquePrefix();
    const sub = await subscribe(url, prefix);
    try {
      const publisher = startPublisher({
        url, seed: 3, machines: 3, periodMs: 1000, realtime: false, topicPrefix: prefix, keepValues: true, maxInFlight: 50, log: silentLogger,
      });
      await waitFor('some readings', () => publisher.status().published >= 300);
      const summary = await publisher.stop();
      expect(summary.ended).toBe('stopped');
      expect(summary.unacknowledged).toBe(0);
      expect(publisher.status().state).toBe('ended');
      await waitFor('every reading at the subscriber', () => sub.received.count >= summary.total);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sub.received.bySensor).toEqual(published(summary));
    } finally {
      await sub.close();
    }
  });
});

describe('MQTT publisher when the broker goes away (embedded aedes)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.close());

  /** Every published (ts, value) arrived, and anything extra is a copy of a published one. */
  function expectAtLeastOnce(summary: PublisherSummary, received: Received): void {
    for (const [sensor, sent] of published(summary)) {
      const want = new Map(sent.map((r) => [r.ts, r.value]));
      const got = received.bySensor.get(sensor) ?? [];
      expect(got.filter((r) => want.get(r.ts) !== r.value), sensor).toEqual([]);
      expect(new Set(got.map((r) => r.ts)), sensor).toEqual(new Set(want.keys()));
    }
  }

  it('reconnects after its connection is cut and counts each reading once', async () => {
    const prefix = uniquePrefix();
    const sub = await subscribe(broker.url, prefix);
    try {
      const publisher = startPublisher({
        url: broker.url, seed: 9, machines: 3, periodMs: 1000, steps: 200, realtime: false, startMs: START,
        topicPrefix: prefix, keepValues: true, maxInFlight: 100, clientId: 'sim-drop-1', reconnectPeriodMs: 50, log: silentLogger,
      });
      await waitFor('a first batch', () => publisher.status().published >= 500);
      expect(broker.dropClients('sim-drop-')).toBe(1);
      const summary = await publisher.done;
      expect(summary.ended).toBe('completed');
      expect(summary.reconnects).toBeGreaterThanOrEqual(1);
      expect(summary.total).toBe(200 * SENSORS_IN_3_MACHINES);
      expect(Object.values(summary.perSensor)).toEqual(Array(SENSORS_IN_3_MACHINES).fill(200));
      await waitFor('every reading at the subscriber', () => sub.received.distinct.size >= summary.total);
      expectAtLeastOnce(summary, sub.received);
    } finally {
      await sub.close();
    }
  });

  it('rides out a broker outage: readings wait in the window and go out after it', async () => {
    const prefix = uniquePrefix();
    // A persistent session, so the broker keeps what arrives while the subscriber is cut off too.
    const sub = await subscribe(broker.url, prefix, { clientId: `sub-${randomUUID()}`, clean: false });
    try {
      const publisher = startPublisher({
        url: broker.url, seed: 10, machines: 3, periodMs: 1000, steps: 150, realtime: false, startMs: START,
        topicPrefix: prefix, keepValues: true, maxInFlight: 100, reconnectPeriodMs: 50, log: silentLogger,
      });
      await waitFor('a first batch', () => publisher.status().published >= 300, 30_000);
      await broker.pause();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const during = publisher.status();
      expect(during.connected).toBe(false);
      expect(during.inFlight).toBeLessThanOrEqual(100); // bounded: the generator waits
      await broker.resume();
      const summary = await publisher.done;
      expect(summary.ended).toBe('completed');
      expect(summary.total).toBe(150 * SENSORS_IN_3_MACHINES);
      expect(summary.reconnects).toBeGreaterThanOrEqual(1);
      await waitFor('every reading at the subscriber', () => sub.received.distinct.size >= summary.total, 30_000);
      expectAtLeastOnce(summary, sub.received);
    } finally {
      await sub.close();
    }
  });

  it('ends as failed, with the reason, when the broker refuses the connection; the password is not logged', async () => {
    const strict = await startTestBroker({
      authenticate: (_client, _user, _password, done) => done(Object.assign(new Error('no'), { returnCode: 4 as const }), false),
    });
    const lines: string[] = [];
    try {
      const authUrl = strict.url.replace('mqtt://', 'mqtt://sim:s3cret@');
      const summary = await startPublisher({
        url: authUrl, seed: 1, machines: 1, periodMs: 1000, steps: 5, realtime: false,
        log: createLogger({}, { level: 'debug', write: (line) => lines.push(line) }),
      }).done;
      expect(summary.ended).toBe('failed');
      expect(summary.error).toMatch(/refused the connection/);
      expect(summary.total).toBe(0);
      expect(lines.join('\n')).not.toContain('s3cret');
    } finally {
      await strict.close();
    }
  });
});

describe('publisher options and payload', () => {
  it('writes the shared JSON payload, with quality only when it is not good', () => {
    expect(encodePayload({ sensor: 'a/b', ts: START, value: 1.5 })).toBe(`{"ts":${START},"value":1.5}`);
    expect(encodePayload({ sensor: 'a/b', ts: START, value: 1.5, quality: 'good' })).toBe(`{"ts":${START},"value":1.5}`);
    expect(JSON.parse(encodePayload({ sensor: 'a/b', ts: START, value: 0, quality: 'bad' }))).toEqual({ ts: START, value: 0, quality: 'bad' });
  });

  it('starts a fast or sped-up run of n steps n periods before now, and a real-time or endless run now', () => {
    expect(defaultStartMs(10_500, 1000, true, 5)).toBe(10_000);
    expect(defaultStartMs(10_500, 1000, false, 5)).toBe(5_000);
    expect(defaultStartMs(10_500, 1000, false, undefined)).toBe(10_000);
    expect(defaultStartMs(10_500, 1000, true, 5, 1440)).toBe(5_000);
    expect(defaultStartMs(10_500, 1000, true, undefined, 1440)).toBe(10_000);
  });

  it('refuses a bad URL, a wildcard prefix, an oversized window or a bad period before connecting', () => {
    const base = { seed: 1, machines: 1, periodMs: 1000, realtime: false, log: silentLogger };
    expect(() => startPublisher({ ...base, url: 'localhost:1883' })).toThrow(/url must/);
    expect(() => startPublisher({ ...base, url: 'mqtt://127.0.0.1:1', topicPrefix: 'a/+/' })).toThrow(/topicPrefix/);
    expect(() => startPublisher({ ...base, url: 'mqtt://127.0.0.1:1', maxInFlight: 70_000 })).toThrow(/maxInFlight/);
    expect(() => startPublisher({ ...base, url: 'mqtt://127.0.0.1:1', periodMs: 0 })).toThrow(/periodMs/);
  });
});

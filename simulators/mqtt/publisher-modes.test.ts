import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { MqttJsonPayload } from '../../shared/mqtt-json.js';
import type { Quality } from '../../shared/reading.js';
import {
  DataType, decodePayload, encodePayload, parseSparkplugTopic, QUALITY_PROPERTY, readBdSeq, readQuality, readValue, REBIRTH_METRIC,
  type Payload, type SparkplugTopic,
} from '../../shared/sparkplug/index.js';
import { generateReadings, type SimReading } from '../generate.js';
import { startPublisher, type PublisherOptions, type PublisherSummary } from '../mqtt-publisher.js';
import { buildPlant, type Plant } from '../plant.js';
import { brokerTargets, startTestBroker } from '../testing/broker.js';
import { metricDatatype } from './sparkplug.js';

/**
 * Each publish mode through a real broker to an independent subscriber (a plain mqtt.js client
 * that decodes what arrives itself), against the embedded aedes broker and, when
 * MILLWRIGHT_TEST_MQTT_URL is set, a real one. Every run uses its own topic prefix / group id.
 */

const START = Date.UTC(2025, 0, 6, 8, 0, 0);
type Point = { ts: number; value: number; quality?: Quality };

async function waitFor(what: string, ready: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What the publisher counted as published, per sensor, in timestamp order. */
function published(summary: PublisherSummary): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const [sensor, values] of Object.entries(summary.values ?? {})) {
    out.set(sensor, values.map((value, i) => ({ ts: summary.timestamps![sensor]![i]!, value })));
  }
  return out;
}

/** Distinct (ts) per sensor, in ts order: what an edge keeps after deduplicating on (sensor, ts). */
function distinct(points: Map<string, Point[]>): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const [sensor, list] of points) {
    const byTs = new Map(list.map((p) => [p.ts, p]));
    out.set(sensor, [...byTs.values()].sort((a, b) => a.ts - b.ts));
  }
  return out;
}

const withoutQuality = (points: Map<string, Point[]>) =>
  new Map([...points].map(([sensor, list]) => [sensor, list.map(({ ts, value }) => ({ ts, value }))]));

// --- JSON subscriber -----------------------------------------------------------------------

async function subscribeJson(url: string, prefix: string) {
  const client: MqttClient = await connectAsync(url, { clean: true, reconnectPeriod: 100 });
  const got = { messages: 0, arrays: 0, readings: 0, invalid: [] as string[], bySensor: new Map<string, Point[]>() };
  client.on('message', (topic, payload) => {
    let parsed;
    try {
      parsed = MqttJsonPayload.safeParse(JSON.parse(payload.toString()));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      got.invalid.push(payload.toString());
      return;
    }
    got.messages++;
    if (Array.isArray(parsed.data)) got.arrays++;
    const sensor = topic.slice(prefix.length);
    const list = got.bySensor.get(sensor) ?? [];
    for (const r of Array.isArray(parsed.data) ? parsed.data : [parsed.data]) {
      list.push(r.quality ? { ts: r.ts, value: r.value, quality: r.quality } : { ts: r.ts, value: r.value });
      got.readings++;
    }
    got.bySensor.set(sensor, list);
  });
  await client.subscribeAsync(`${prefix}#`, { qos: 1 });
  return { got, close: () => client.endAsync() };
}

// --- Sparkplug subscriber: decodes and resolves aliases itself ----------------------------

interface SpMessage {
  topic: SparkplugTopic;
  payload: Payload;
}

async function subscribeSparkplug(url: string, groupId: string) {
  const client: MqttClient = await connectAsync(url, { clean: true, reconnectPeriod: 100 });
  const messages: SpMessage[] = [];
  const invalid: string[] = [];
  client.on('message', (topic, bytes) => {
    const t = parseSparkplugTopic(topic);
    if (!t) return void invalid.push(topic);
    if (t.messageType === 'NCMD') return; // our own rebirth requests
    try {
      messages.push({ topic: t, payload: decodePayload(bytes) });
    } catch (err) {
      invalid.push(`${topic}: ${(err as Error).message}`);
    }
  });
  await client.subscribeAsync(`spBv1.0/${groupId}/#`, { qos: 1 });
  return { client, messages, invalid, close: () => client.endAsync() };
}

/**
 * Walks the messages in arrival order as a host would: aliases from each DBIRTH (name, datatype,
 * device), DDATA read through them. Returns every reading per UNS sensor id, and anything a host
 * could not read.
 */
function readSparkplug(messages: SpMessage[], plant: Plant) {
  const aliases = new Map<number, { sensor: string; datatype: number }>();
  const bySensor = new Map<string, Point[]>();
  const problems: string[] = [];
  const add = (sensor: string, point: Point) => bySensor.set(sensor, [...(bySensor.get(sensor) ?? []), point]);
  for (const { topic, payload } of messages) {
    if (topic.messageType === 'DBIRTH') {
      const machine = plant.machines.find((m) => m.name === topic.deviceId);
      if (!machine) problems.push(`DBIRTH of unknown device ${topic.deviceId}`);
      for (const m of payload.metrics) {
        const sensor = machine?.sensors.find((s) => s.name === m.name);
        if (!sensor || m.alias === undefined || m.datatype === undefined) {
          problems.push(`DBIRTH metric ${m.name} of ${topic.deviceId}`);
          continue;
        }
        aliases.set(m.alias, { sensor: sensor.id, datatype: m.datatype });
        if (m.isNull) continue;
        const q = readQuality(m);
        add(sensor.id, { ts: m.timestamp!, value: Number(readValue(m, m.datatype)), ...(q !== 'good' && { quality: q }) });
      }
    } else if (topic.messageType === 'DDATA') {
      for (const m of payload.metrics) {
        if (m.name !== undefined || m.datatype !== undefined) problems.push(`DDATA metric with a name or datatype: ${m.name}`);
        const def = m.alias === undefined ? undefined : aliases.get(m.alias);
        if (!def) {
          problems.push(`DDATA alias ${m.alias} before its DBIRTH`);
          continue;
        }
        const q = readQuality(m);
        add(def.sensor, { ts: m.timestamp!, value: Number(readValue(m, def.datatype)), ...(q !== 'good' && { quality: q }) });
      }
    }
  }
  return { bySensor, problems };
}

const types = (messages: SpMessage[]) => messages.map((m) => m.topic.messageType);

// --- a TCP proxy that can cut the publisher off any broker --------------------------------

async function startProxy(target: string) {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((inbound) => {
    const outbound = tcpConnect(Number(port || 1883), hostname);
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Both sides of every connection at once: to the broker, the client vanished without DISCONNECT. */
    cut() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Clean readings of a plant, with a dropout and bad / uncertain readings set by hand. */
function faultySource(plant: Plant, steps: number) {
  const [first, second, third] = plant.sensors;
  const clean = generateReadings(plant, { startMs: START, periodMs: 1000, steps });
  function* faulty(): Generator<SimReading[]> {
    let i = 0;
    for (const step of clean) {
      yield step
        .filter((r) => !(i === 0 && r.sensor === first!.id)) // dropout in the first step: the DBIRTH has no value for it
        .map((r): SimReading => (r.sensor === second!.id && i % 2 === 1 ? { ...r, quality: 'bad' } : r.sensor === third!.id && i === 2 ? { ...r, quality: 'uncertain' } : r));
      i++;
    }
  }
  return { plant, steps: faulty() };
}

const targets = brokerTargets();

const base = (url: string): Pick<PublisherOptions, 'url' | 'periodMs' | 'realtime' | 'log' | 'keepValues' | 'startMs'> => ({
  url, periodMs: 1000, realtime: false, startMs: START, keepValues: true, log: silentLogger,
});

describe.each(targets)('publish modes against $name', (target) => {
  let url = '';
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => {
    ({ url, close } = await target.start());
  });
  afterAll(() => close());

  it('json-batch: one array per sensor per batch window, values and timestamps as published', async () => {
    const prefix = `millwright-test/${randomUUID()}/`;
    const sub = await subscribeJson(url, prefix);
    try {
      const summary = await startPublisher({ ...base(url), seed: 4, machines: 3, steps: 25, mode: 'json-batch', batchSteps: 10, topicPrefix: prefix }).done;
      expect(summary).toMatchObject({ ended: 'completed', mode: 'json-batch', unacknowledged: 0, steps: 25 });
      expect(summary.total).toBe(25 * summary.sensors);
      expect(summary.messages).toBe(3 * summary.sensors); // 10 + 10 + 5 steps
      await waitFor('every reading', () => sub.got.readings >= summary.total);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(sub.got.invalid).toEqual([]);
      expect(sub.got.arrays).toBe(sub.got.messages);
      expect(sub.got.messages).toBe(summary.messages);
      expect(sub.got.bySensor).toEqual(published(summary));
    } finally {
      await sub.close();
    }
  });

  it('json and json-batch: readings from an external source keep their quality, a missing reading stays missing', async () => {
    for (const mode of ['json', 'json-batch'] as const) {
      const prefix = `millwright-test/${randomUUID()}/`;
      const sub = await subscribeJson(url, prefix);
      try {
        const plant = buildPlant({ seed: 5, machines: 2 });
        const summary = await startPublisher({ ...base(url), mode, batchSteps: 4, source: faultySource(plant, 6), topicPrefix: prefix }).done;
        expect(summary.ended).toBe('completed');
        expect(summary.startMs).toBe(START);
        expect(summary.total).toBe(6 * plant.sensors.length - 1);
        await waitFor('every reading', () => sub.got.readings >= summary.total);
        expect(withoutQuality(sub.got.bySensor)).toEqual(published(summary));
        expect(sub.got.bySensor.get(plant.sensors[0]!.id)?.[0]?.ts).toBe(START + 1000);
        expect(sub.got.bySensor.get(plant.sensors[1]!.id)?.map((p) => p.quality)).toEqual([undefined, 'bad', undefined, 'bad', undefined, 'bad']);
        expect(sub.got.bySensor.get(plant.sensors[2]!.id)?.[2]?.quality).toBe('uncertain');
      } finally {
        await sub.close();
      }
    }
  });

  it('sparkplug: NBIRTH with bdSeq, a DBIRTH per machine with aliases, DDATA by alias, seq wrapping, NDEATH at stop', async () => {
    const groupId = `mw-${randomUUID().slice(0, 8)}`;
    const sub = await subscribeSparkplug(url, groupId);
    try {
      const plant = buildPlant({ seed: 6, machines: 5 });
      const steps = 60; // 5 machines x 60 steps: seq wraps past 255
      const summary = await startPublisher({ ...base(url), seed: 6, machines: 5, steps, mode: 'sparkplug', sparkplug: { groupId, edgeNodeId: 'gw-1' } }).done;
      expect(summary).toMatchObject({ ended: 'completed', mode: 'sparkplug', unacknowledged: 0, sparkplug: { groupId, edgeNodeId: 'gw-1', bdSeq: 0, births: 1 } });
      expect(summary.total).toBe(steps * plant.sensors.length);
      // NBIRTH + 5 DBIRTH + 5 x 59 DDATA + NDEATH
      expect(summary.messages).toBe(1 + 5 + 5 * (steps - 1) + 1);
      await waitFor('the NDEATH', () => sub.messages.some((m) => m.topic.messageType === 'NDEATH'));
      expect(sub.invalid).toEqual([]);

      const [nbirth, ...rest] = sub.messages;
      expect(nbirth!.topic).toEqual({ groupId, messageType: 'NBIRTH', edgeNodeId: 'gw-1' });
      expect(nbirth!.payload.seq).toBe(0);
      expect(readBdSeq(nbirth!.payload)).toBe(0);
      expect(nbirth!.payload.metrics.find((m) => m.name === REBIRTH_METRIC)).toMatchObject({ datatype: DataType.Boolean, booleanValue: false });

      // Births first, one per machine, before any DDATA; every metric with name, alias, datatype.
      const dbirths = rest.slice(0, 5);
      expect(dbirths.map((m) => [m.topic.messageType, m.topic.deviceId])).toEqual(plant.machines.map((m) => ['DBIRTH', m.name]));
      const aliases = dbirths.flatMap((m) => m.payload.metrics.map((x) => x.alias));
      expect(new Set(aliases).size).toBe(plant.sensors.length);
      for (const [i, machine] of plant.machines.entries()) {
        const metrics = dbirths[i]!.payload.metrics;
        expect(metrics.map((m) => m.name)).toEqual(machine.sensors.map((s) => s.name));
        expect(metrics.map((m) => m.datatype)).toEqual(machine.sensors.map(metricDatatype));
        const props = metrics[0]!.properties!;
        expect(props.values[props.keys.indexOf('sensorId')]?.stringValue).toBe(machine.sensors[0]!.id);
      }
      expect(new Set(dbirths.flatMap((m) => m.payload.metrics.map((x) => x.datatype)))).toEqual(new Set([DataType.Double, DataType.UInt64, DataType.Int32]));

      // seq: 0 at NBIRTH, +1 per message, wrapping 255 -> 0; NDEATH has none and repeats bdSeq.
      const ndeath = sub.messages.at(-1)!;
      expect(ndeath.topic.messageType).toBe('NDEATH');
      expect(ndeath.payload.seq).toBeUndefined();
      expect(readBdSeq(ndeath.payload)).toBe(0);
      const seqs = sub.messages.slice(0, -1).map((m) => m.payload.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i % 256));
      expect(seqs).toContain(255);

      const { bySensor, problems } = readSparkplug(sub.messages, plant);
      expect(problems).toEqual([]);
      expect(bySensor).toEqual(published(summary));
    } finally {
      await sub.close();
    }
  });

  it('sparkplug: a bad reading carries the Quality property, a reading missing at birth is is_null', async () => {
    const groupId = `mw-${randomUUID().slice(0, 8)}`;
    const sub = await subscribeSparkplug(url, groupId);
    try {
      const plant = buildPlant({ seed: 5, machines: 2 });
      const summary = await startPublisher({ ...base(url), mode: 'sparkplug', source: faultySource(plant, 6), sparkplug: { groupId } }).done;
      expect(summary.total).toBe(6 * plant.sensors.length - 1);
      await waitFor('the NDEATH', () => sub.messages.some((m) => m.topic.messageType === 'NDEATH'));
      const firstBirth = sub.messages.find((m) => m.topic.messageType === 'DBIRTH')!;
      expect(firstBirth.topic.edgeNodeId).toBe('simulator');
      expect(firstBirth.payload.metrics[0]).toMatchObject({ name: plant.sensors[0]!.name, isNull: true });
      const { bySensor, problems } = readSparkplug(sub.messages, plant);
      expect(problems).toEqual([]);
      expect(withoutQuality(bySensor)).toEqual(published(summary));
      expect(bySensor.get(plant.sensors[1]!.id)?.map((p) => p.quality)).toEqual([undefined, 'bad', undefined, 'bad', undefined, 'bad']);
      expect(bySensor.get(plant.sensors[2]!.id)?.[2]?.quality).toBe('uncertain');
      const badMetric = sub.messages.filter((m) => m.topic.messageType === 'DDATA')[0]!.payload.metrics.find((m) => m.properties);
      expect(badMetric?.properties).toEqual({ keys: [QUALITY_PROPERTY], values: [{ type: DataType.Int32, intValue: 0 }] });
    } finally {
      await sub.close();
    }
  });

  it('sparkplug: the broker sends the NDEATH will when the connection is cut; the publisher is reborn with the next bdSeq', async () => {
    const groupId = `mw-${randomUUID().slice(0, 8)}`;
    const proxy = await startProxy(url);
    const sub = await subscribeSparkplug(url, groupId);
    try {
      const plant = buildPlant({ seed: 8, machines: 3 });
      const publisher = startPublisher({
        ...base(proxy.url), seed: 8, machines: 3, steps: 400, mode: 'sparkplug', sparkplug: { groupId }, maxInFlight: 20, reconnectPeriodMs: 50,
      });
      await waitFor('some DDATA', () => sub.messages.filter((m) => m.topic.messageType === 'DDATA').length >= 30);
      proxy.cut();
      const summary = await publisher.done;
      expect(summary).toMatchObject({ ended: 'completed', unacknowledged: 0, sparkplug: { bdSeq: 1, births: 2 } });
      expect(summary.reconnects).toBeGreaterThanOrEqual(1);
      expect(summary.total).toBe(400 * plant.sensors.length);
      await waitFor('the final NDEATH', () => sub.messages.filter((m) => m.topic.messageType === 'NDEATH').length >= 2);

      const t = types(sub.messages);
      const will = t.indexOf('NDEATH');
      expect(readBdSeq(sub.messages[will]!.payload)).toBe(0); // the will of session 0, sent by the broker
      const reborn = t.indexOf('NBIRTH', will);
      expect(readBdSeq(sub.messages[reborn]!.payload)).toBe(1);
      expect(sub.messages[reborn]!.payload.seq).toBe(0);
      // After the new NBIRTH, every machine is born again before its next DDATA.
      const after = sub.messages.slice(reborn + 1).filter((m) => m.topic.deviceId !== undefined);
      for (const machine of plant.machines) {
        const mine = after.filter((m) => m.topic.deviceId === machine.name).map((m) => m.topic.messageType);
        // (a DDATA of the old session that was in flight may be redelivered first; it reads by its stable alias)
        expect(mine.indexOf('DBIRTH'), machine.name).toBeGreaterThanOrEqual(0);
      }
      expect(readBdSeq(sub.messages.at(-1)!.payload)).toBe(1); // the clean stop's NDEATH

      // At least once: every published reading arrived, copies of redelivered ones aside.
      const { bySensor, problems } = readSparkplug(sub.messages, plant);
      expect(problems).toEqual([]);
      expect(distinct(bySensor)).toEqual(published(summary));
    } finally {
      await sub.close();
      await proxy.close();
    }
  });

  it('sparkplug: an NCMD Node Control/Rebirth brings NBIRTH (same bdSeq) and every DBIRTH again; garbage NCMDs are ignored', async () => {
    const groupId = `mw-${randomUUID().slice(0, 8)}`;
    const sub = await subscribeSparkplug(url, groupId);
    try {
      const plant = buildPlant({ seed: 9, machines: 3 });
      const publisher = startPublisher({
        ...base(url), seed: 9, machines: 3, periodMs: 60_000, realtime: true, speed: 3_000, steps: 40, startMs: START, mode: 'sparkplug', sparkplug: { groupId },
      });
      await waitFor('some DDATA', () => sub.messages.some((m) => m.topic.messageType === 'DDATA'));
      const ncmd = `spBv1.0/${groupId}/NCMD/simulator`;
      await sub.client.publishAsync(ncmd, Buffer.from('not protobuf'), { qos: 1 });
      await sub.client.publishAsync(ncmd, Buffer.from(encodePayload({ timestamp: Date.now(), metrics: [{ name: REBIRTH_METRIC, datatype: DataType.Boolean, booleanValue: true }] })), { qos: 1 });
      const summary = await publisher.done;
      expect(summary).toMatchObject({ ended: 'completed', unacknowledged: 0, sparkplug: { bdSeq: 0, births: 2 } });
      await waitFor('the NDEATH', () => sub.messages.some((m) => m.topic.messageType === 'NDEATH'));

      const t = types(sub.messages);
      const second = t.indexOf('NBIRTH', 1);
      expect(second).toBeGreaterThan(0);
      expect(readBdSeq(sub.messages[second]!.payload)).toBe(0);
      expect(sub.messages[second]!.payload.seq).toBe(0);
      // The rebirth's DBIRTHs follow at once with the last values, before any further DDATA.
      expect(t.slice(second + 1, second + 4)).toEqual(['DBIRTH', 'DBIRTH', 'DBIRTH']);
      expect(sub.messages.slice(second + 1, second + 4).map((m) => m.topic.deviceId)).toEqual(plant.machines.map((m) => m.name));
      const seqs = sub.messages.slice(second, -1).map((m) => m.payload.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i % 256));

      // Timestamps are simulated: 60 s apart although the steps ran 20 ms apart.
      const { bySensor, problems } = readSparkplug(sub.messages, plant);
      expect(problems).toEqual([]);
      expect(distinct(bySensor)).toEqual(published(summary));
      expect(summary.timestamps![plant.sensors[0]!.id]!.slice(0, 3)).toEqual([START, START + 60_000, START + 120_000]);
    } finally {
      await sub.close();
    }
  });
});

describe('publisher pacing and options', () => {
  it('speed: step i starts i·periodMs/speed after the start, timestamps stay simulated', async () => {
    const broker = await startTestBroker();
    try {
      const began = performance.now();
      const summary = await startPublisher({
        url: broker.url, seed: 1, machines: 1, periodMs: 60_000, realtime: true, speed: 600, steps: 5, startMs: START, keepValues: true, log: silentLogger,
      }).done;
      const elapsed = performance.now() - began;
      expect(elapsed).toBeGreaterThanOrEqual(4 * 100 - 20); // 60 s / 600 = 100 ms per step
      expect(elapsed).toBeLessThan(2_000);
      expect(summary.maxLagMs).toBeLessThan(100);
      expect(Object.values(summary.timestamps!)[0]).toEqual([0, 1, 2, 3, 4].map((i) => START + i * 60_000));
    } finally {
      await broker.close();
    }
  });

  it('refuses a bad mode, speed, batch size, Sparkplug id, or a run with neither seed nor source', () => {
    const ok = { url: 'mqtt://127.0.0.1:1', seed: 1, machines: 1, periodMs: 1000, realtime: false, log: silentLogger };
    expect(() => startPublisher({ ...ok, mode: 'xml' as 'json' })).toThrow(/mode must be/);
    expect(() => startPublisher({ ...ok, speed: 0 })).toThrow(/speed/);
    expect(() => startPublisher({ ...ok, batchSteps: 20_000 })).toThrow(/batchSteps/);
    expect(() => startPublisher({ ...ok, mode: 'sparkplug', sparkplug: { groupId: 'a/b' } })).toThrow(/groupId/);
    expect(() => startPublisher({ url: ok.url, periodMs: 1000, realtime: false, log: silentLogger })).toThrow(/seed and machines/);
  });
});

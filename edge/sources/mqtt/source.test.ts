import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../shared/reading.js';
import { silentLogger } from '../../../shared/log.js';
import { connectClient, eventually, testBroker, type TestBroker } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import type { Sink } from '../types.js';
import { MqttSourceConfig } from './config.js';
import { createMqttSource } from './source.js';
import { topicMatches } from './decode.js';

const T = Date.UTC(2026, 10, 22, 8);

function refusingSink(refusals: number): Sink & { committed: Reading[] } {
  const committed: Reading[] = [];
  return {
    committed,
    commit(_source, readings) {
      if (refusals > 0) {
        refusals--;
        throw new Error('SQLITE_FULL: database or disk is full');
      }
      committed.push(...readings);
    },
    deadLetter() {
      throw new Error('no dead letters expected');
    },
  };
}

describe('embedded broker: the publisher gets its PUBACK only after the commit', () => {
  it('holds the PUBACK while the store refuses, and the reading is committed when it arrives', async () => {
    const sink = refusingSink(3);
    const cfg = MqttSourceConfig.parse({ type: 'mqtt', embeddedBroker: { port: 0 } });
    const source = createMqttSource(cfg, { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    await source.start(sink);
    const pub = await connectClient(source.status().endpoint);
    await pub.publishAsync('factory/a/b/c', JSON.stringify({ ts: T, value: 7 }), { qos: 1 });
    // The PUBACK has arrived: the reading must already be in the store.
    expect(sink.committed.map((r) => r.value)).toEqual([7]);
    // Topics outside the subscription pass through the broker and are not stored.
    await pub.publishAsync('elsewhere/x', 'not ours', { qos: 1 });
    await pub.endAsync();
    await source.stop();
    expect(sink.committed).toHaveLength(1);
    expect(source.status().lastError).toMatch(/SQLITE_FULL/);
  });
});

describe('topic template and payload mapping, through the embedded broker', () => {
  it('stores a device reading under the sensor id built from the topic, and dead-letters a foreign topic', async () => {
    const committed: Reading[] = [];
    const dead: { topic?: string; reason: string }[] = [];
    const sink: Sink = {
      commit: (_source, readings) => void committed.push(...readings),
      deadLetter: (_source, d) => void dead.push({ topic: d.topic, reason: d.reason }),
    };
    const cfg = MqttSourceConfig.parse({
      type: 'mqtt',
      embeddedBroker: { port: 0 },
      topicTemplate: 'plant/+line/+machine/+sensor',
      sensorId: 'acme/plant1/{line}/{machine}/{sensor}',
      subscribe: ['plant/#'],
      json: { value: 'data.v', ts: 'data.t', tsUnit: 's' },
    });
    const source = createMqttSource(cfg, { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    await source.start(sink);
    const pub = await connectClient(source.status().endpoint);
    await pub.publishAsync('plant/line-1/pump-1/flow', '{"data":{"v":3.5,"t":1763798400}}', { qos: 1 });
    await pub.publishAsync('plant/line-1/flow', '{"data":{"v":1,"t":1763798400}}', { qos: 1 });
    await pub.endAsync();
    await source.stop();
    expect(committed).toEqual([{ sensor: 'acme/plant1/line-1/pump-1/flow', ts: 1763798400000, value: 3.5, quality: 'good', receivedAt: expect.any(Number) }]);
    expect(dead).toEqual([{ topic: 'plant/line-1/flow', reason: expect.stringMatching(/does not match topicTemplate .*has 3 levels/) }]);
  });
});

describe('topicMatches', () => {
  it.each([
    ['factory/#', 'factory/a/b', true],
    ['factory/#', 'factory', true],
    ['factory/+/b', 'factory/a/b', true],
    ['factory/+/b', 'factory/a/c', false],
    ['factory/+', 'factory/a/b', false],
    ['#', '$SYS/broker/load', false],
    ['a/b', 'a/b', true],
  ])('%s vs %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('MQTT source acknowledges only what is committed', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('holds a message while the store refuses it, then commits it exactly once', async () => {
    const sink = refusingSink(3);
    const committed = sink.committed;
    const cfg = MqttSourceConfig.parse({ type: 'mqtt', url: broker.url, subscribe: [`${broker.prefix}#`], topicPrefix: broker.prefix, clientId: `mw-src-${broker.unique}` });
    const telemetry = createTelemetry(silentLogger);
    const source = createMqttSource(cfg, { gatewayId: 'gw', telemetry });
    await source.start(sink);
    expect(await eventually(() => source.status().state === 'connected')).toBe(true);

    const pub = await connectClient(broker.url);
    await pub.publishAsync(`${broker.prefix}a/b/c`, JSON.stringify({ ts: T, value: 1 }), { qos: 1 });
    await pub.publishAsync(`${broker.prefix}a/b/c`, JSON.stringify({ ts: T + 1, value: 2 }), { qos: 1 });
    await pub.endAsync();

    expect(await eventually(() => committed.length === 2)).toBe(true);
    await source.stop();
    expect(committed.map((r) => r.value)).toEqual([1, 2]);
    expect(source.status().lastError).toMatch(/SQLITE_FULL/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../shared/reading.js';
import { silentLogger } from '../../../shared/log.js';
import { connectClient, eventually, testBroker, type TestBroker } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import type { Sink } from '../types.js';
import { MqttSourceConfig } from './config.js';
import { createMqttSource } from './source.js';

const T = Date.UTC(2026, 10, 22, 8);

describe('MQTT source acknowledges only what is committed', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('holds a message while the store refuses it, then commits it exactly once', async () => {
    const committed: Reading[] = [];
    let refusals = 3;
    const sink: Sink = {
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

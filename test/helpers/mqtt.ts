import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../edge/sources/mqtt/broker.js';

/**
 * The broker a test talks to: an embedded aedes by default, the real Mosquitto when
 * MILLWRIGHT_TEST_MQTT_URL is set. Each call gets a unique topic prefix and client-id suffix so
 * that test files running at once on one real broker never see each other's messages.
 */
export interface TestBroker {
  url: string;
  kind: 'embedded' | 'real';
  prefix: string;
  unique: string;
  stop(): Promise<void>;
}

export async function testBroker(): Promise<TestBroker> {
  const unique = randomBytes(4).toString('hex');
  const prefix = `mwtest-${unique}/`;
  const real = process.env.MILLWRIGHT_TEST_MQTT_URL;
  if (real) return { url: real, kind: 'real', prefix, unique, stop: async () => {} };
  const b: EmbeddedBroker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
  return { url: b.url, kind: 'embedded', prefix, unique, stop: () => b.stop() };
}

export async function connectClient(url: string, clientId?: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId, reconnectPeriod: 200 });
}

/** Polls until `check` returns true or the time is up; returns the last result. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePayload } from '../shared/sparkplug/index.js';
import { silentLogger } from '../shared/log.js';
import { loadScenario } from '../simulators/scenario.js';
import { startSimulator } from '../simulators/serve.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { testBroker } from './helpers/mqtt.js';

interface Broker {
  url: string;
  prefix: string;
  unique: string;
  stop(): Promise<void>;
}

/**
 * With real brokers asked for, a private Mosquitto with the shipped settings: Debian's default
 * max_queued_messages (1000) drops QoS 1 messages for a subscriber that falls behind a burst of
 * 1,000 batched messages, which is exactly what deploy/mosquitto/millwright.conf is for.
 */
async function broker(): Promise<Broker> {
  const b = await testBroker();
  if (b.kind === 'embedded') return b;
  const m = await startMosquitto();
  return { ...m, prefix: b.prefix, unique: b.unique };
}

/**
 * Issue 3's scale line, in the suite: the bundled 10,000-tag scenario (with its faults) plays in
 * real time (1 Hz, speed 1) for 6 s over Sparkplug B, which sends every step as it happens (one
 * DDATA per machine per step; json-batch would hold 10 steps back and send them in one burst at
 * the end of so short a run). An independent subscriber decodes every reading, and no step
 * starts a period late or more: the simulator keeps up. CPU figures are in bench/RESULTS.md
 * (bench/sim-publish.ts), not asserted here.
 */
describe('scale-10k plays in real time', () => {
  let b: Broker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b.stop();
  });

  it('publishes every reading of 10,000 tags at 1 Hz for 6 s without falling behind', async () => {
    const scenario = loadScenario('scale-10k');
    const steps = 6;
    let received = 0;
    const sub = await mqtt.connectAsync(b.url, { clientId: `mw-scale-sub-${b.unique}` });
    sub.on('message', (topic, payload) => {
      const kind = topic.split('/')[2];
      if (kind !== 'DBIRTH' && kind !== 'DDATA') return;
      received += decodePayload(payload).metrics.filter((m) => !m.isNull).length;
    });
    await sub.subscribeAsync('spBv1.0/#', { qos: 1 });

    const sim = await startSimulator({
      scenario,
      startMs: Math.floor(Date.now() / 1000) * 1000,
      steps,
      mqttUrl: b.url,
      realtime: true,
      speed: 1,
      mode: 'sparkplug',
      topicPrefix: b.prefix,
      log: silentLogger,
    });
    const summary = await sim.publisher.done;
    const tags = sim.simulation.plant.sensors.length;
    expect(tags).toBeGreaterThanOrEqual(10_000);
    expect(summary.ended).toBe('completed');
    // Dropout faults can remove a few readings; nothing else may.
    expect(summary.total).toBeGreaterThan(0.99 * steps * tags);
    expect(summary.unacknowledged).toBe(0);
    // "Falling behind" means a step starting a whole period late.
    expect(summary.maxLagMs).toBeLessThan(scenario.periodMs);
    const deadline = Date.now() + 10_000;
    while (received < summary.total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(received).toBe(summary.total);
    await sub.endAsync();
  });
});

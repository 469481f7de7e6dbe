import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/log.js';
import { startPublisher } from '../../../simulators/mqtt-publisher.js';
import { buildPlant } from '../../../simulators/plant.js';
import { eventually, testBroker } from '../../../test/helpers/mqtt.js';
import { startAgent } from '../../agent.js';
import { EdgeConfig } from '../../config.js';

/**
 * The simulator as a Sparkplug B edge node publishing into the edge agent: the historian ends
 * with exactly what the publisher saw acknowledged, under the simulator's UNS sensor ids, and
 * the node's NDEATH leaves a bad-quality marker per sensor. Through the agent's embedded broker,
 * and through the real Mosquitto when MILLWRIGHT_TEST_MQTT_URL is set.
 */

interface Row {
  name: string;
  ts: number;
  value: number;
  quality: number;
}

function readingRows(dataDir: string): Row[] {
  const db = new Database(join(dataDir, 'historian.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT s.name, r.ts, r.value, r.quality FROM readings r JOIN sensors s ON s.id = r.sensor_id ORDER BY s.name, r.ts').all() as Row[];
  } finally {
    db.close();
  }
}

async function publishInto(source: Record<string, unknown>, url: (agentEndpoint: string) => string, groupId?: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mw-sparkplug-'));
  const cfg = EdgeConfig.parse({ gateway: { id: 'gw-sp', site: 'plant1' }, dataDir, sources: [{ type: 'mqtt', format: 'sparkplug', ...source }], mcp: { http: { port: 0 } } });
  const agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
  try {
    expect(await eventually(() => agent.status().sources[0]!.state === 'connected')).toBe(true);
    const plant = buildPlant({ seed: 3, machines: 2 });
    const publisher = startPublisher({
      url: url(agent.status().sources[0]!.endpoint), seed: 3, machines: 2, periodMs: 1000, steps: 5, realtime: false,
      mode: 'sparkplug', keepValues: true, log: silentLogger, ...(groupId ? { sparkplug: { groupId } } : {}),
    });
    const summary = await publisher.done;
    await publisher.stop();
    expect(summary.ended).toBe('completed');
    expect(summary.unacknowledged).toBe(0);
    const sensors = plant.sensors.map((s) => s.id);
    // Every acknowledged reading plus one death marker per sensor.
    expect(await eventually(() => agent.status().counters.readingsCommitted >= summary.total + sensors.length)).toBe(true);
    return { dataDir, summary, sensors, deadLetters: agent.status().deadLetters };
  } finally {
    await agent.stop();
  }
}

function expectHistorian(run: Awaited<ReturnType<typeof publishInto>>) {
  const { dataDir, summary, sensors, deadLetters } = run;
  const rows = readingRows(dataDir);
  expect(new Set(rows.map((r) => r.name))).toEqual(new Set(sensors));
  for (const sensor of sensors) {
    const mine = rows.filter((r) => r.name === sensor);
    const good = mine.filter((r) => r.quality === 0);
    expect(good.map((r) => r.ts), sensor).toEqual(summary.timestamps![sensor]);
    expect(good.map((r) => r.value), sensor).toEqual(summary.values![sensor]);
    // The gap marker: quality bad (code 2), the last value, after the last reading.
    const bad = mine.filter((r) => r.quality !== 0);
    expect(bad, sensor).toEqual([{ name: sensor, ts: expect.any(Number), value: summary.values![sensor]!.at(-1), quality: 2 }]);
    expect(bad[0]!.ts).toBeGreaterThan(summary.timestamps![sensor]!.at(-1)!);
  }
  expect(deadLetters).toBe(0);
}

describe('Sparkplug B from the simulator into the historian', () => {
  it('embedded broker: exactly the published values, UNS ids, and bad-quality markers after NDEATH', async () => {
    expectHistorian(await publishInto({ embeddedBroker: { port: 0 } }, (endpoint) => endpoint));
  });

  it.runIf(process.env.MILLWRIGHT_TEST_MQTT_URL)('real broker: the same through a QoS 1 subscription', async () => {
    const broker = await testBroker();
    const groupId = `mwtest-${broker.unique}`;
    expectHistorian(
      await publishInto({ url: broker.url, subscribe: [`spBv1.0/${groupId}/#`], clientId: `mw-sp-${broker.unique}` }, () => broker.url, groupId),
    );
  });
});

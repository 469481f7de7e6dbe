import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { registerGateway } from '../cloud/db/gateways.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import { startPublisher } from '../simulators/mqtt-publisher.js';
import { eventually } from './helpers/mqtt.js';

/**
 * The walking skeleton, end to end: the simulator publishes over MQTT, the edge commits and
 * forwards, the cloud stores, and an MCP client asks the cloud over HTTP. What the client gets
 * back must be exactly what the simulator published: every value, every timestamp, the count.
 *
 * Embedded engines by default (the edge's own aedes broker, PGlite with TimescaleDB); the real
 * Mosquitto and PostgreSQL when MILLWRIGHT_TEST_MQTT_URL / MILLWRIGHT_TEST_PG_URL are set.
 */
const realMqtt = process.env.MILLWRIGHT_TEST_MQTT_URL;
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;

describe(`simulator → edge → cloud → MCP (${realMqtt ? 'Mosquitto' : 'embedded broker'}, ${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase | undefined;
  let cloud: CloudService | undefined;
  let edge: Agent | undefined;
  let mcp: Client | undefined;
  afterAll(async () => {
    await mcp?.close();
    await edge?.stop();
    await cloud?.stop();
    await database?.cleanup();
  });

  it('the cloud MCP answers with exactly the values and count the simulator published', async () => {
    const unique = randomBytes(4).toString('hex');
    const gateway = { id: `e2e-${unique}`, site: 'plant1' };
    const topicPrefix = `mw-e2e-${unique}/`;

    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
    const token = `mwg_${randomBytes(24).toString('base64url')}`;
    await registerGateway(cloud.db.pool, { ...gateway, token });

    edge = await startAgent(
      EdgeConfig.parse({
        gateway,
        dataDir: mkdtempSync(join(tmpdir(), 'mw-e2e-edge-')),
        sources: [
          {
            type: 'mqtt',
            ...(realMqtt ? { url: realMqtt, clientId: `mw-e2e-${unique}` } : { embeddedBroker: { port: 0 } }),
            subscribe: [`${topicPrefix}#`],
            topicPrefix,
          },
        ],
        // Small batches, so the run crosses several batch boundaries and watermarks.
        sync: { url: cloud.url, token, batchSize: 50, intervalMs: 50 },
        mcp: { http: { port: 0 } },
      }),
      { log: silentLogger, version: 'test' },
    );
    expect(await eventually(() => edge!.status().sources[0]!.state === 'connected')).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // let the SUBACK land before publishing

    const sim = startPublisher({
      url: edge.status().sources[0]!.endpoint,
      seed: 7,
      machines: 3,
      periodMs: 1000,
      steps: 20,
      realtime: false,
      keepValues: true,
      topicPrefix,
      clientId: `mw-e2e-sim-${unique}`,
      log: silentLogger,
    });
    const published = await sim.done;
    expect(published.ended).toBe('completed');
    expect(published.unacknowledged).toBe(0);
    expect(published.total).toBeGreaterThan(100);

    expect(await eventually(() => edge!.status().storedReadings === published.total, 30_000)).toBe(true);
    expect(await edge.sync!.drained(30_000)).toBe(true);
    // Batches travel gzipped: plain columnar JSON of this data is ~29 bytes per reading.
    const wire = edge.sync!.status().wire;
    expect(wire.records).toBeGreaterThanOrEqual(published.total);
    expect(wire.bytes / wire.records).toBeLessThan(10);

    mcp = new Client({ name: 'e2e', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(cloud.mcpUrl)));

    const overview = await mcp.callTool({ name: 'fleet_overview', arguments: {} });
    const fleet = overview.structuredContent as { gateways: { id: string; readings: number; watermarks: { readings: number } }[] };
    expect(fleet.gateways.find((g) => g.id === gateway.id)).toMatchObject({ readings: published.total, watermarks: { readings: published.total } });

    let answered = 0;
    for (const [sensor, values] of Object.entries(published.values!)) {
      const res = await mcp.callTool({ name: 'get_sensor_history', arguments: { sensor, gateway: gateway.id, maxPoints: 10_000 } });
      expect(res.isError ?? false).toBe(false);
      const h = res.structuredContent as { count: number; downsampled: boolean; points: { ts: number; value: number }[] };
      expect(h.downsampled).toBe(false);
      expect(h.count).toBe(values.length);
      expect(h.points.map((p) => p.value)).toEqual(values);
      expect(h.points.map((p) => p.ts)).toEqual(published.timestamps![sensor]);
      answered += h.count;
    }
    expect(answered).toBe(published.total);
  });
});

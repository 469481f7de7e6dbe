import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerGateway } from '../cloud/db/gateways.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import { createRng } from '../simulators/random.js';
import { byReading, cloudRows, fillBacklog } from './helpers/backlog.js';
import { healthz, spawnEdge, writeConfig } from './helpers/edge-process.js';
import { freePort } from './helpers/mosquitto.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5: `kill -9` of the edge while it drains a backlog to the cloud, several times at random
 * moments of the drain. Each kill can fall between a batch's commit in the cloud and the edge
 * moving its outbox cursor, or in the middle of a request. After the last restart the cloud must
 * hold exactly the edge's readings: same count, no duplicates, same values.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;
const READINGS = 40_000;
const KILLS = 5;

describe(`kill -9 of the edge during sync (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase | undefined;
  let cloud: CloudService | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await cloud?.stop();
    await database?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(`after ${KILLS} kills mid-drain, the cloud holds every reading of the edge exactly once`, async () => {
    const gateway = { id: `sc-${randomBytes(4).toString('hex')}`, site: 'plant1' };
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
    const token = `mwg_${randomBytes(24).toString('base64url')}`;
    await registerGateway(cloud.db.pool, { ...gateway, token });
    const cloudCount = async () =>
      Number((await cloud!.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE gateway = $1', [gateway.id])).rows[0]!.n);

    // The backlog of an outage, in the historian before the agent starts.
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-sync-crash-'));
    dirs.push(dataDir);
    const edgeRows = fillBacklog(dataDir, READINGS, 50, (m) => `acme/plant1/line-1/m-${m}/temp`);
    expect(edgeRows).toHaveLength(READINGS);

    const mcpPort = await freePort();
    const config = writeConfig(
      dataDir,
      `gateway: { id: ${gateway.id}, site: plant1 }
dataDir: ${JSON.stringify(dataDir)}
sources:
  - type: mqtt
    embeddedBroker: { host: 127.0.0.1, port: ${await freePort()} }
sync: { url: ${JSON.stringify(cloud.url)}, token: ${token}, batchSize: 500, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 }, breaker: { failures: 10, openMs: 300 } }
mcp: { http: { host: 127.0.0.1, port: ${mcpPort} } }
log: { level: warn }
`,
    );
    const rng = createRng(20261122);
    const kills: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const before = await cloudCount();
      const edge = spawnEdge(config);
      // Killed at a random point of what is left to drain, chosen so that the kills all come
      // before the end whatever the speed of the machine.
      const target = before + 1 + Math.floor((rng.next() * (READINGS - before)) / (KILLS - k + 1));
      const reached = await eventually(async () => (await cloudCount()) >= target, 30_000, 5);
      expect(reached, `kill ${k}: the drain did not reach ${target}; agent log:\n${edge.stderr()}`).toBe(true);
      await edge.kill('SIGKILL');
      kills.push(`${before} -> ${await cloudCount()}`);
    }
    expect(await cloudCount(), 'the kills came before the end of the drain').toBeLessThan(READINGS);

    const last = spawnEdge(config);
    try {
      const drained = await eventually(async () => (await healthz(`http://127.0.0.1:${mcpPort}/healthz`))?.sync?.pendingRecords === 0, 60_000, 50);
      expect(drained, `not drained after the kills (${kills.join(', ')}); agent log:\n${last.stderr()}`).toBe(true);
    } finally {
      await last.kill('SIGTERM');
    }

    const rows = byReading(await cloudRows(cloud.db.pool, gateway.id));
    expect(rows.sorted.length, `kills: ${kills.join(', ')}`).toBe(READINGS);
    expect(rows.distinct).toBe(READINGS);
    expect(rows.sorted).toEqual(byReading(edgeRows).sorted);
  }, 240_000);
});

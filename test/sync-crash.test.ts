import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerGateway } from '../cloud/db/gateways.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { openStore } from '../edge/store/store.js';
import { CloudConfig } from '../shared/config.js';
import { qualityFromCode } from '../shared/reading.js';
import { silentLogger } from '../shared/log.js';
import { createRng } from '../simulators/random.js';
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

interface Row {
  sensor: string;
  ts: number;
  value: number;
  quality: string;
}

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
    const store = openStore({ file: join(dataDir, 'historian.sqlite') });
    const t0 = Date.now() - 3_600_000;
    for (let k = 0; k < READINGS; k += 5000) {
      store.readings.write(
        Array.from({ length: 5000 }, (_, j) => {
          const i = k + j;
          return { sensor: `acme/plant1/line-1/m-${i % 50}/temp`, ts: t0 + Math.floor(i / 50) * 1000, value: (i * 7919) % 1000 / 8, quality: i % 97 === 0 ? 'bad' : 'good', receivedAt: t0 };
        }),
      );
    }
    const edgeRows: Row[] = store.db
      .prepare<[], { sensor: string; ts: number; value: number; quality: number }>(
        'SELECT s.name AS sensor, r.ts, r.value, r.quality FROM readings r JOIN sensors s ON s.id = r.sensor_id',
      )
      .all()
      .map((r) => ({ ...r, quality: qualityFromCode(r.quality) }));
    store.close();
    expect(edgeRows).toHaveLength(READINGS);

    const mcpPort = await freePort();
    const config = writeConfig(
      dataDir,
      `gateway: { id: ${gateway.id}, site: plant1 }
dataDir: ${JSON.stringify(dataDir)}
sources:
  - type: mqtt
    embeddedBroker: { host: 127.0.0.1, port: ${await freePort()} }
sync: { url: ${JSON.stringify(cloud.url)}, token: ${token}, batchSize: 500, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 } }
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

    const cloudRows = (
      await cloud.db.pool.query<{ sensor: string; ts: string; value: number; quality: number }>(
        'SELECT sensor, (extract(epoch FROM time) * 1000)::bigint AS ts, value, quality FROM readings WHERE gateway = $1',
        [gateway.id],
      )
    ).rows.map((r) => ({ sensor: r.sensor, ts: Number(r.ts), value: r.value, quality: qualityFromCode(r.quality) }));
    const key = (r: Row) => `${r.sensor}@${r.ts}`;
    const sort = (rows: Row[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    expect(cloudRows.length, `kills: ${kills.join(', ')}`).toBe(READINGS);
    expect(new Set(cloudRows.map(key)).size).toBe(READINGS);
    expect(sort(cloudRows)).toEqual(sort(edgeRows));
  }, 240_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../cloud/db/connect.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { silentLogger } from '../shared/log.js';
import { createRng } from '../simulators/random.js';
import { byReading, cloudRows, fillBacklog } from './helpers/backlog.js';
import { freePort } from './helpers/mosquitto.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5: `kill -9` of the cloud (the CLI, a child process) while an edge drains into it, at
 * random moments, so that some kills fall inside the ingest transaction. The database must roll
 * those back (the embedded PGlite recovers its data directory at the next start; a server aborts
 * the dead connection's transaction), and the edge resends from the committed watermark. After
 * the last restart the cloud holds exactly the edge's readings.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;
const bin = fileURLToPath(new URL('../dist/bin/millwright.js', import.meta.url));
const READINGS = 20_000;
const KILLS = 4;

function cli(args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe(`kill -9 of the cloud during ingest (${realPg ? 'PostgreSQL' : 'embedded PGlite-TimescaleDB'})`, () => {
  let database: TestDatabase | undefined;
  let agent: Agent | undefined;
  let cloud: ChildProcess | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    if (cloud && cloud.exitCode === null) cloud.kill('SIGKILL');
    await agent?.stop().catch(() => {});
    await database?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(`after ${KILLS} kills of the cloud, it holds every reading of the edge exactly once`, async () => {
    database = await createTestDatabase({ serverUrl: realPg });
    const dir = mkdtempSync(join(tmpdir(), 'mw-cloud-crash-'));
    dirs.push(dir);
    const port = await freePort();
    const dbYaml = database.config.url ? `{ url: ${JSON.stringify(database.config.url)} }` : `{ dataDir: ${JSON.stringify(database.config.dataDir)} }`;
    const cloudConfig = join(dir, 'cloud.yaml');
    writeFileSync(cloudConfig, `http: { host: 127.0.0.1, port: ${port} }\ndatabase: ${dbYaml}\nlog: { level: warn }\n`);
    const added = await output(cli(['cloud', 'gateway', 'add', '--id', 'cc-gw', '--site', 'plant1', '-c', cloudConfig]));
    expect(added.code, added.stderr).toBe(0);
    const token = added.stdout.trim().split('\n').at(-1)!;

    // The edge's backlog, then the edge itself, in this process: only the cloud is killed.
    const dataDir = join(dir, 'edge');
    const edgeRows = fillBacklog(dataDir, READINGS, 40, (m) => `acme/plant1/line-2/m-${m}/flow`);
    agent = await startAgent(
      EdgeConfig.parse({
        gateway: { id: 'cc-gw', site: 'plant1' },
        dataDir,
        sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
        sync: { url: `http://127.0.0.1:${port}`, token, batchSize: 500, intervalMs: 20, timeoutMs: 2000, backoff: { baseMs: 20, capMs: 200 }, breaker: { failures: 10, openMs: 500 } },
        mcp: { http: { port: 0 } },
      }),
      { log: silentLogger, version: 'test' },
    );
    const acked = () => agent!.status().sync!.ackedSeq;

    const rng = createRng(1122);
    const kills: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const before = acked();
      cloud = cli(['cloud', '-c', cloudConfig]);
      let log = '';
      cloud.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      // A random point of what is left, so that the kills all come before the end whatever the
      // speed of the machine; the ingest transactions in flight then are what the kill cuts.
      const target = before + 1 + Math.floor((rng.next() * (READINGS - before)) / (KILLS - k + 1));
      const reached = await eventually(() => acked() >= target, 60_000, 2);
      expect(reached, `kill ${k}: the edge's acked seq did not reach ${target}; cloud log:\n${log}`).toBe(true);
      cloud.kill('SIGKILL');
      await once(cloud, 'exit');
      kills.push(acked());
    }
    expect(acked(), `the kills came before the end (acked after each: ${kills.join(', ')})`).toBeLessThan(READINGS);

    cloud = cli(['cloud', '-c', cloudConfig]);
    expect(await agent.sync!.drained(90_000), `not drained after the kills (${kills.join(', ')})`).toBe(true);
    cloud.kill('SIGTERM');
    await once(cloud, 'exit');
    await agent.stop();
    agent = undefined;

    // Read back what the cloud holds, with the cloud stopped (the embedded database has one owner).
    const db = await openDatabase(database.config, silentLogger);
    try {
      const rows = byReading(await cloudRows(db.pool, 'cc-gw'));
      expect(rows.sorted.length, `acked after each kill: ${kills.join(', ')}`).toBe(READINGS);
      expect(rows.distinct).toBe(READINGS);
      expect(rows.sorted).toEqual(byReading(edgeRows).sorted);
    } finally {
      await db.close();
    }
  }, 300_000);
});

import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { registerGateway } from '../cloud/db/gateways.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { listen } from '../shared/http.js';
import { silentLogger } from '../shared/log.js';
import { createRng } from '../simulators/random.js';
import { startPublisher } from '../simulators/mqtt-publisher.js';
import { eventually } from './helpers/mqtt.js';

/**
 * DESIGN guarantee 2 through a bad link: a proxy between the edge and the cloud refuses some
 * batches, loses the reply of others after the cloud committed them, and delivers some twice;
 * the edge is restarted in the middle of the drain. The cloud must end with every reading
 * exactly once.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;

type Fate = 'refuse' | 'lose-reply' | 'twice' | 'pass';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function flakyProxy(target: string, seed: number) {
  const rng = createRng(seed);
  const fates: Record<Fate, number> = { refuse: 0, 'lose-reply': 0, twice: 0, pass: 0 };
  // The body as it came (the edge gzips it), with the headers the cloud reads.
  const forward = (req: IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' };
    if (req.headers['content-encoding']) headers['content-encoding'] = req.headers['content-encoding'];
    return fetch(`${target}${req.url}`, { method: req.method, headers, body: new Uint8Array(body) });
  };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const r = rng.next();
    const fate: Fate = r < 0.2 ? 'refuse' : r < 0.4 ? 'lose-reply' : r < 0.5 ? 'twice' : 'pass';
    fates[fate]++;
    if (fate === 'refuse') {
      res.writeHead(503).end('upstream unavailable');
      return;
    }
    if (fate === 'twice') await (await forward(req, body)).text();
    const reply = await forward(req, body);
    const text = await reply.text();
    // The cloud has committed; the edge never hears of it.
    if (fate === 'lose-reply') {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(text);
  });
  return { server, fates };
}

describe(`exactly once through a flaky link and an edge restart (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase | undefined;
  let cloud: CloudService | undefined;
  let proxy: Server | undefined;
  const agents: Agent[] = [];
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    proxy?.close();
    await cloud?.stop();
    await database?.cleanup();
  });

  it('the cloud holds every published reading exactly once', async () => {
    const unique = randomBytes(4).toString('hex');
    const gateway = { id: `eo-${unique}`, site: 'plant1' };
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
    const token = `mwg_${randomBytes(24).toString('base64url')}`;
    await registerGateway(cloud.db.pool, { ...gateway, token });
    const flaky = flakyProxy(cloud.url, 42);
    proxy = flaky.server;
    const proxyPort = await listen(proxy, '127.0.0.1', 0);

    const dataDir = mkdtempSync(join(tmpdir(), 'mw-eo-edge-'));
    const cfg = (withSync: boolean) =>
      EdgeConfig.parse({
        gateway,
        dataDir,
        sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
        ...(withSync
          ? { sync: { url: `http://127.0.0.1:${proxyPort}`, token, batchSize: 37, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 }, breaker: { failures: 10, openMs: 300 } } }
          : {}),
        mcp: { http: { port: 0 } },
      });

    // Fill the historian while the link is down (no sync configured): the backlog of an outage.
    const offline = await startAgent(cfg(false), { log: silentLogger, version: 'test' });
    agents.push(offline);
    const sim = startPublisher({ url: offline.status().sources[0]!.endpoint, seed: 3, machines: 4, periodMs: 1000, steps: 40, realtime: false, log: silentLogger });
    const published = await sim.done;
    expect(published.unacknowledged).toBe(0);
    expect(offline.status().storedReadings).toBe(published.total);
    await offline.stop();

    // The link comes back, flaky; the edge is restarted part-way through the drain.
    const first = await startAgent(cfg(true), { log: silentLogger, version: 'test' });
    agents.push(first);
    expect(await eventually(() => first.status().sync!.ackedSeq >= published.total / 3, 60_000)).toBe(true);
    await first.stop();
    const second = await startAgent(cfg(true), { log: silentLogger, version: 'test' });
    agents.push(second);
    expect(await second.sync!.drained(120_000)).toBe(true);

    const counts = await cloud.db.pool.query<{ n: string; distinct_n: string }>(
      'SELECT count(*) AS n, count(DISTINCT (sensor, time)) AS distinct_n FROM readings WHERE gateway = $1',
      [gateway.id],
    );
    expect(Number(counts.rows[0]!.n)).toBe(published.total);
    expect(Number(counts.rows[0]!.distinct_n)).toBe(published.total);
    // The link really was bad: every kind of failure happened.
    expect(flaky.fates.refuse).toBeGreaterThan(0);
    expect(flaky.fates['lose-reply']).toBeGreaterThan(0);
    expect(flaky.fates.twice).toBeGreaterThan(0);
  });
});

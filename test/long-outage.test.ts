import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { countFindings } from '../cloud/db/findings.js';
import { registerGateway } from '../cloud/db/gateways.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { historianFile, startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { findingId } from '../shared/finding.js';
import { listen } from '../shared/http.js';
import { silentLogger } from '../shared/log.js';
import { qualityFromCode } from '../shared/reading.js';
import { createRng } from '../simulators/random.js';
import { startPublisher } from '../simulators/mqtt-publisher.js';
import { byReading, cloudRows } from './helpers/backlog.js';
import { storedReadings } from './helpers/historian.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5: a long outage at accelerated time, then a flapping link. The simulator plays three
 * hours of a plant as fast as it can while the cloud is unreachable; the link then comes back
 * refusing, losing replies after the cloud committed, and replaying old batches late (duplicated
 * and reordered deliveries); the edge restarts half-way. The cloud must end with exactly the
 * edge's readings, values and all, and its findings.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;

type Mode = 'down' | 'flap';

function switchableProxy(target: string, seed: number) {
  const rng = createRng(seed);
  let mode: Mode = 'down';
  const seen = { down: 0, refused: 0, lostReply: 0, replayed: 0, passed: 0 };
  const old: { url: string; headers: Record<string, string>; body: Buffer }[] = [];
  const forward = (url: string, headers: Record<string, string>, body: Buffer) =>
    fetch(`${target}${url}`, { method: 'POST', headers, body: new Uint8Array(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));
  const server: Server = createServer((req, res) => {
    // A forward that fails (the cloud stopping at the end of the test) is a link failure too.
    handle(req, res).catch(() => req.socket.destroy());
  });
  async function handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (mode === 'down') {
      seen.down++;
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'content-encoding', 'authorization', 'user-agent', 'x-millwright-sync']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const r = rng.next();
    if (r < 0.25) {
      seen.refused++;
      res.writeHead(503).end('link down');
      return;
    }
    if (r < 0.4 && old.length > 0) {
      // An old batch turns up late, after newer ones: a duplicate, out of order.
      seen.replayed++;
      const o = old[Math.floor(rng.next() * old.length)]!;
      await forward(o.url, o.headers, o.body);
    }
    if (req.url === '/v1/ingest') old.push({ url: req.url, headers, body });
    const reply = await forward(req.url ?? '/', headers, body);
    if (r >= 0.4 && r < 0.55) {
      seen.lostReply++;
      req.socket.destroy();
      return;
    }
    seen.passed++;
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.text);
  }
  return { server, seen, set: (m: Mode) => (mode = m) };
}

describe(`a long outage at accelerated time, then a flapping link (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase | undefined;
  let cloud: CloudService | undefined;
  let proxy: Server | undefined;
  const agents: Agent[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    proxy?.close();
    await cloud?.stop();
    await database?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('three simulated hours stored during the outage reach the cloud exactly once, content equal', async () => {
    const gateway = { id: `lo-${randomBytes(4).toString('hex')}`, site: 'plant1' };
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
    const token = `mwg_${randomBytes(24).toString('base64url')}`;
    await registerGateway(cloud.db.pool, { ...gateway, token });
    const link = switchableProxy(cloud.url, 11);
    proxy = link.server;
    const port = await listen(proxy, '127.0.0.1', 0);
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-outage-'));
    dirs.push(dataDir);
    const cfg = EdgeConfig.parse({
      gateway,
      dataDir,
      sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
      sync: { url: `http://127.0.0.1:${port}`, token, batchSize: 2000, intervalMs: 20, pollMs: 200, backoff: { baseMs: 10, capMs: 100 }, breaker: { failures: 5, openMs: 300 } },
      mcp: { http: { port: 0 } },
    });
    const during = await startAgent(cfg, { log: silentLogger, version: 'test' });
    agents.push(during);

    // Three hours of 1 Hz data from 5 machines, published as fast as the agent takes it.
    const sim = startPublisher({ url: during.status().sources[0]!.endpoint, seed: 5, machines: 5, periodMs: 1000, steps: 3 * 3600, realtime: false, mode: 'json-batch', batchSteps: 60, log: silentLogger });
    const published = await sim.done;
    expect(published.unacknowledged).toBe(0);
    const start = Date.now() - 3 * 3600_000;
    await during.writer.events.recordFindings(
      [0, 1, 2].map((i) => ({
        id: findingId('anomaly', `acme/plant1/m${i}/temp`, 'test@1', start + i),
        kind: 'anomaly' as const,
        subject: `acme/plant1/m${i}/temp`,
        start: start + i,
        end: start + i + 600_000,
        score: 0.8,
        severity: 'warning' as const,
        detector: 'test@1',
        message: 'ran hot during the outage',
        details: {},
      })),
    );
    expect(await eventually(() => during.status().storedReadings === published.total, 30_000)).toBe(true);
    const status = during.status().sync!;
    expect(status.ackedSeq).toBe(0);
    // Between tries (a try in flight says "sending").
    expect(await eventually(() => ['backing-off', 'circuit-open'].includes(during.status().sync!.state), 10_000)).toBe(true);
    expect(status.lastError).toMatch(/cannot reach the cloud/);
    expect(link.seen.down).toBeGreaterThan(0);

    // While the cloud is away the writer seals the backlog into pre-encoded batches.
    const probe = new Database(historianFile(cfg), { readonly: true });
    const sealed = () => probe.prepare<[], { n: number | null }>('SELECT sum(records) AS n FROM sealed_batches').get()!.n ?? 0;
    expect(await eventually(() => sealed() >= published.total / 2, 60_000), 'the backlog was not sealed').toBe(true);
    probe.close();

    // The link comes back, flapping; the edge restarts half-way through the drain.
    link.set('flap');
    expect(await eventually(() => during.status().sync!.ackedSeq >= published.total / 2, 120_000)).toBe(true);
    expect(during.status().sync!.wire.sealed).toBeGreaterThan(0);
    await during.stop();
    const after = await startAgent(cfg, { log: silentLogger, version: 'test' });
    agents.push(after);
    expect(await after.sync!.drained(180_000)).toBe(true);
    // The agent's own analysis may still be scoring the backlog: let it finish, then drain its findings.
    while ((await after.anomalies.runOnce()) > 0);
    expect(await after.sync!.drained(30_000)).toBe(true);

    const edge = byReading(storedReadings(dataDir).map((r) => ({ ...r, quality: qualityFromCode(r.quality) })));
    const inCloud = byReading(await cloudRows(cloud.db.pool, gateway.id));
    expect(edge.sorted.length).toBe(published.total);
    expect(inCloud.sorted.length).toBe(published.total);
    expect(inCloud.distinct).toBe(published.total);
    expect(inCloud.sorted).toEqual(edge.sorted);
    // The three recorded during the outage, and whatever the agent's own analysis raised.
    const edgeFindings = (() => {
      const db = new Database(historianFile(cfg), { readonly: true });
      try {
        return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM findings').get()!.n;
      } finally {
        db.close();
      }
    })();
    expect(edgeFindings).toBeGreaterThanOrEqual(3);
    expect(await countFindings(cloud.db.pool, gateway.id)).toBe(edgeFindings);
    // The link really did all of it.
    expect(link.seen.refused).toBeGreaterThan(0);
    expect(link.seen.lostReply).toBeGreaterThan(0);
    expect(link.seen.replayed).toBeGreaterThan(0);
  }, 300_000);
});

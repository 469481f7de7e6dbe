import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlarms } from '../cloud/db/alarms.js';
import { countFindings } from '../cloud/db/findings.js';
import { listGateways, registerGateway } from '../cloud/db/gateways.js';
import { countReadings } from '../cloud/db/readings.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { openStore } from '../edge/store/store.js';
import type { Alarm } from '../shared/alarm.js';
import { CloudConfig } from '../shared/config.js';
import { findingId, type Finding } from '../shared/finding.js';
import { listen } from '../shared/http.js';
import { silentLogger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import { fillBacklog } from './helpers/backlog.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5, edge side: findings and alarms travel on their own stream ahead of readings; the
 * bandwidth cap holds; the circuit breaker stops hammering a dead cloud. Against a real cloud
 * (embedded TimescaleDB, or the PostgreSQL server when MILLWRIGHT_TEST_PG_URL is set).
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;
const subject = (i: number) => `acme/plant1/line2/pump-${i}/bearing_temp`;
const T0 = Date.now() - 3_600_000;
const finding = (i: number): Finding => ({
  id: findingId('anomaly', subject(i), 'test@1', T0 + i),
  kind: 'anomaly',
  subject: subject(i),
  start: T0 + i,
  end: T0 + i + 60_000,
  score: 0.9,
  severity: 'warning',
  detector: 'test@1',
  message: `bearing ${i} ran hot`,
  details: { sigma: 4.2 },
});
const alarm = (i: number, over: Partial<Alarm> = {}): Alarm => ({
  id: findingId('threshold', subject(i), 'alarm@1', T0),
  subject: subject(i),
  severity: 'critical',
  state: 'active',
  raisedAt: T0,
  updatedAt: T0,
  message: `pump ${i} bearing over 90 °C`,
  ...over,
});

interface Seen {
  at: number;
  stream: string;
  bytes: number;
}

/** Forwards to the cloud and notes, per request, when it came, which stream, and its size on the wire. */
function recordingProxy(target: string) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const json = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
    seen.push({ at: Date.now(), stream: (JSON.parse(json.toString('utf8')) as { stream: string }).stream, bytes: body.length });
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'content-encoding', 'authorization', 'user-agent', 'x-millwright-sync']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const reply = await fetch(`${target}${req.url}`, { method: 'POST', headers, body: new Uint8Array(body) });
    // The protocol header too, as any proxy passes it: without it the edge leaves out the optional fields.
    const protocol = reply.headers.get('x-millwright-sync');
    res.writeHead(reply.status, { 'content-type': 'application/json', ...(protocol ? { 'x-millwright-sync': protocol } : {}) }).end(await reply.text());
  });
  return { server, seen };
}

describe(`findings and alarms ahead of readings; bandwidth cap; circuit breaker (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase;
  let cloud: CloudService;
  const agents: Agent[] = [];
  const servers: Server[] = [];
  const dirs: string[] = [];
  const unique = randomBytes(4).toString('hex');

  beforeAll(async () => {
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
  });
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    for (const s of servers) s.close();
    await cloud?.stop();
    await database?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function edge(name: string, sync: Record<string, unknown>, backlog: number): Promise<{ dataDir: string; gateway: string }> {
    const gateway = `${name}-${unique}`;
    const dataDir = mkdtempSync(join(tmpdir(), `mw-${name}-`));
    dirs.push(dataDir);
    if (backlog > 0) fillBacklog(dataDir, backlog, 20, (i) => `acme/plant1/line2/m${i}/temp`);
    await registerGateway(cloud.db.pool, { id: gateway, site: 'plant1', token: `token-${gateway}-0123456789` });
    const cfg = EdgeConfig.parse({
      gateway: { id: gateway, site: 'plant1' },
      dataDir,
      sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
      sync: { token: `token-${gateway}-0123456789`, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 }, ...sync },
      mcp: { http: { port: 0 } },
    });
    agents.push(await startAgent(cfg, { log: silentLogger, version: VERSION }));
    return { dataDir, gateway };
  }

  it('sends findings and alarms before a backlog of readings; all arrive once; later alarm changes follow', async () => {
    const proxy = recordingProxy(cloud.url);
    servers.push(proxy.server);
    const port = await listen(proxy.server, '127.0.0.1', 0);
    // The historian as an outage left it: 30,000 readings and 5 findings and 2 alarms unsent.
    const gateway = `fa-${unique}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-fa-'));
    dirs.push(dataDir);
    fillBacklog(dataDir, 30_000, 20, (i) => `acme/plant1/line2/m${i}/temp`);
    const store = openStore({ file: join(dataDir, 'historian.sqlite') });
    store.events.recordFindings([0, 1, 2, 3, 4].map(finding));
    store.events.recordAlarms([alarm(1), alarm(2)]);
    store.close();
    await registerGateway(cloud.db.pool, { id: gateway, site: 'plant1', token: `token-${gateway}-0123456789` });
    const agent = await startAgent(
      EdgeConfig.parse({
        gateway: { id: gateway, site: 'plant1' },
        dataDir,
        sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
        sync: { url: `http://127.0.0.1:${port}`, token: `token-${gateway}-0123456789`, batchSize: 1000, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 } },
        mcp: { http: { port: 0 } },
      }),
      { log: silentLogger, version: VERSION },
    );
    agents.push(agent);

    expect(await agent.sync!.drained(60_000)).toBe(true);
    expect(proxy.seen[0]?.stream).toBe('findings');
    expect(proxy.seen.filter((s) => s.stream === 'readings').length).toBeGreaterThanOrEqual(30);
    expect(await countReadings(cloud.db.pool, gateway)).toBe(30_000);
    expect(await countFindings(cloud.db.pool, gateway)).toBe(5);
    expect((await openAlarms(cloud.db.pool, gateway)).map((a) => a.subject).sort()).toEqual([subject(1), subject(2)]);

    // An operator acknowledges alarm 1 and the condition of alarm 2 clears, while the edge runs.
    await agent.writer.events.recordAlarms([
      alarm(1, { updatedAt: T0 + 1000, ack: { by: 'op-anna', at: T0 + 1000 } }),
      alarm(2, { state: 'cleared', updatedAt: T0 + 2000, clearedAt: T0 + 2000 }),
    ]);
    expect(await agent.sync!.drained(30_000)).toBe(true);
    const open = await openAlarms(cloud.db.pool, gateway);
    // Alarm 1 is still active (acknowledged); alarm 2 cleared but nobody acknowledged it.
    expect(open.map((a) => [a.subject, a.state, a.ack?.by ?? null]).sort()).toEqual([
      [subject(1), 'active', 'op-anna'],
      [subject(2), 'cleared', null],
    ]);
    expect(agent.status().sync).toMatchObject({ findings: { pendingRecords: 0, parked: false }, breaker: { state: 'closed' } });
    const g = (await listGateways(cloud.db.pool)).find((x) => x.id === gateway)!;
    expect(g.version).toBe(VERSION);
    expect(g.lag?.records).toBeGreaterThan(0);
  });

  it('keeps the bandwidth cap: bytes on the wire never run ahead of the capped rate by more than a batch', async () => {
    const proxy = recordingProxy(cloud.url);
    servers.push(proxy.server);
    const port = await listen(proxy.server, '127.0.0.1', 0);
    const cap = 100_000;
    const { gateway } = await edge('cap', { url: `http://127.0.0.1:${port}`, batchSize: 1000, compression: 'none', maxBytesPerSecond: cap }, 15_000);
    expect(await agents.at(-1)!.sync!.drained(60_000)).toBe(true);
    expect(await countReadings(cloud.db.pool, gateway)).toBe(15_000);
    const first = proxy.seen[0]!.at;
    let before = 0;
    for (const s of proxy.seen) {
      // Each send starts once the bytes before it would have taken at the cap (50 ms of slack for the proxy).
      expect(before).toBeLessThanOrEqual((cap * (s.at - first + 50)) / 1000);
      before += s.bytes;
    }
    // ~29 bytes a reading as plain JSON: the cap, not the link, set the pace.
    expect(before).toBeGreaterThan(300_000);
  });

  it('opens the circuit after the failures in a row, and then stops knocking until the period is over', async () => {
    let attempts = 0;
    const dead = createServer((req) => {
      attempts++;
      req.socket.destroy();
    });
    servers.push(dead);
    const port = await listen(dead, '127.0.0.1', 0);
    await edge('brk', { url: `http://127.0.0.1:${port}`, breaker: { failures: 3, openMs: 60_000 } }, 100);
    const agent = agents.at(-1)!;
    expect(await eventually(() => agent.status().sync?.state === 'circuit-open', 10_000)).toBe(true);
    expect(agent.status().sync?.breaker).toMatchObject({ state: 'open', consecutiveFailures: 3 });
    expect(agent.status().sync?.lastError).toMatch(/cannot reach the cloud/);
    // At the 100 ms backoff cap it would have tried ~10 more times in a second.
    await new Promise((r) => setTimeout(r, 1000));
    expect(attempts).toBe(3);
  });
});

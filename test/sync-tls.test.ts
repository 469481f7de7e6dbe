import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGateway } from '../cloud/db/gateways.js';
import { countReadings } from '../cloud/db/readings.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import { fillBacklog } from './helpers/backlog.js';
import { makePki, type TestPki } from './helpers/certs.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5: the cloud serves ingest over TLS from certificate files and, with clientCa, requires a
 * client certificate (mTLS). The edge trusts a private CA from sync.tls.ca and presents its own
 * certificate. A gateway without the right certificate gets nothing in and says why.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;

describe(`sync over TLS and mTLS (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase;
  let cloud: CloudService;
  let pki: TestPki;
  let rogue: TestPki;
  const agents: Agent[] = [];
  const dirs: string[] = [];
  const unique = randomBytes(4).toString('hex');

  beforeAll(async () => {
    pki = makePki('plant');
    rogue = makePki('rogue');
    dirs.push(pki.dir, rogue.dir);
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(
      CloudConfig.parse({ http: { port: 0 }, tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca }, database: database.config }),
      { log: silentLogger },
    );
  });
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    await cloud?.stop();
    await database?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function edge(name: string, tls: Record<string, string>): Promise<{ agent: Agent; gateway: string }> {
    const gateway = `${name}-${unique}`;
    const dataDir = mkdtempSync(join(tmpdir(), `mw-${name}-`));
    dirs.push(dataDir);
    fillBacklog(dataDir, 2000, 10, (i) => `acme/plant1/line1/m${i}/temp`);
    await registerGateway(cloud.db.pool, { id: gateway, site: 'plant1', token: `token-${gateway}-0123456789` });
    const cfg = EdgeConfig.parse({
      gateway: { id: gateway, site: 'plant1' },
      dataDir,
      sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
      sync: { url: cloud.url, token: `token-${gateway}-0123456789`, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 }, tls },
      mcp: { http: { port: 0 } },
    });
    const agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    agents.push(agent);
    return { agent, gateway };
  }

  it('serves https', () => {
    expect(cloud.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a gateway that trusts the CA and presents its certificate drains everything', async () => {
    const { agent, gateway } = await edge('tls-ok', { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    expect(await agent.sync!.drained(30_000)).toBe(true);
    expect(await countReadings(cloud.db.pool, gateway)).toBe(2000);
  });

  it('without a client certificate, or with one from another CA: refused in the handshake, nothing written, the reason shown', async () => {
    for (const [name, tls] of [
      ['tls-nocert', { ca: pki.ca }],
      ['tls-rogue', { ca: pki.ca, cert: rogue.clientCert, key: rogue.clientKey }],
    ] as const) {
      const { agent, gateway } = await edge(name, tls);
      expect(await eventually(() => /cannot reach the cloud/.test(agent.status().sync?.lastError ?? ''), 10_000)).toBe(true);
      expect(agent.status().sync?.ackedSeq).toBe(0);
      expect(await countReadings(cloud.db.pool, gateway)).toBe(0);
    }
  });

  it('a gateway that does not trust the cloud certificate sends nothing and names TLS in its status', async () => {
    const { agent, gateway } = await edge('tls-untrusted', { cert: pki.clientCert, key: pki.clientKey });
    expect(await eventually(() => /TLS: .*\(check sync\.tls\)/.test(agent.status().sync?.lastError ?? ''), 10_000)).toBe(true);
    expect(await countReadings(cloud.db.pool, gateway)).toBe(0);
  });

  it('a certificate file that is not there fails the start, naming the setting and the file', async () => {
    await expect(
      startCloud(CloudConfig.parse({ http: { port: 0 }, tls: { cert: join(pki.dir, 'nope.pem'), key: pki.serverKey }, database: database.config }), { log: silentLogger }),
    ).rejects.toThrow(/tls\.cert: cannot read .*nope\.pem/);
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-tls-missing-'));
    dirs.push(dataDir);
    const cfg = EdgeConfig.parse({
      gateway: { id: `tls-missing-${unique}`, site: 'plant1' },
      dataDir,
      sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
      sync: { url: cloud.url, token: 'token-0123456789abcdef', tls: { ca: join(pki.dir, 'missing-ca.pem') } },
      mcp: { http: { port: 0 } },
    });
    await expect(startAgent(cfg, { log: silentLogger, version: 'test' })).rejects.toThrow(/sync\.tls\.ca: cannot read .*missing-ca\.pem/);
  });
});

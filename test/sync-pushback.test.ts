import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlarms } from '../cloud/db/alarms.js';
import { listGateways, registerGateway } from '../cloud/db/gateways.js';
import { publishModel, requestAlarmAck, setGatewayConfig } from '../cloud/db/pushback.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import type { Alarm } from '../shared/alarm.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5, the channel back: the cloud pushes remote settings, trained models and managers'
 * alarm acknowledgements in its replies; the edge applies them with version checks, keeps them
 * across a restart, and reports what it applied. Against a real cloud.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;

describe(`pushback: settings, models, alarm acknowledgements (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase;
  let cloud: CloudService;
  let agent: Agent | undefined;
  let cfg: EdgeConfig;
  const dirs: string[] = [];
  const gateway = `pb-${randomBytes(4).toString('hex')}`;
  const token = `token-${gateway}-0123456789`;
  const gw = async () =>
    (await cloud.db.pool.query<{ config_applied: number; config_refused: { version: number; reason: string } | null; models_applied: Record<string, number> }>(
      'SELECT config_applied, config_refused, models_applied FROM gateways WHERE id = $1',
      [gateway],
    )).rows[0]!;

  beforeAll(async () => {
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
    await registerGateway(cloud.db.pool, { id: gateway, site: 'plant1', token });
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-pushback-'));
    dirs.push(dataDir);
    cfg = EdgeConfig.parse({
      gateway: { id: gateway, site: 'plant1' },
      dataDir,
      sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
      sync: { url: cloud.url, token, intervalMs: 20, pollMs: 100, backoff: { baseMs: 10, capMs: 100 } },
      mcp: { http: { port: 0 } },
    });
    agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
  });
  afterAll(async () => {
    await agent?.stop();
    await cloud?.stop();
    await database?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('applies remote settings, reports the version, and keeps them across a restart', async () => {
    expect(await setGatewayConfig(cloud.db.pool, gateway, { 'sync.batchSize': 250, 'sync.maxBytesPerSecond': 1_000_000 }, 'ops')).toBe(1);
    expect(await eventually(async () => (await gw()).config_applied === 1, 10_000)).toBe(true);
    expect(agent!.status().sync?.pushback).toMatchObject({ configVersion: 1, refused: null, lastError: null });

    await agent!.stop();
    agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    expect(agent.status().sync?.pushback?.configVersion).toBe(1);
    // Applied at start from the historian: 1,000 readings go in batches of 250, not the file's 5,000.
    const t = Date.now();
    await agent.writer.commit(Array.from({ length: 1000 }, (_, i) => ({ sensor: `acme/plant1/l1/m${i % 4}/temp`, ts: t - 10_000 + i, value: i, quality: 'good' as const, receivedAt: t })));
    expect(await agent.sync!.drained(20_000)).toBe(true);
    expect(agent.status().sync!.wire).toMatchObject({ records: 1000, batches: 4 });
  });

  it('refuses settings it may not take (a newer cloud, a hand-edited row), says why, and is not sent them again', async () => {
    // Straight into the table, as a cloud newer than this edge might write them.
    await cloud.db.pool.query(`UPDATE gateway_config SET version = 2, settings = $2 WHERE gateway = $1`, [gateway, JSON.stringify({ 'sources.0.url': 'mqtt://elsewhere', 'sync.batchSize': 0 })]);
    expect(await eventually(async () => (await gw()).config_refused?.version === 2, 10_000)).toBe(true);
    const g = await gw();
    expect(g.config_applied).toBe(1);
    expect(g.config_refused!.reason).toMatch(/unknown key "sources\.0\.url"/);
    expect(agent!.status().sync?.pushback?.lastError).toMatch(/remote config version 2: not applied/);
    expect(agent!.status().sync?.pushback?.configVersion).toBe(1);
  });

  it('installs a published model for its site (verified by hash), not one for another site', async () => {
    const content = Buffer.from(JSON.stringify({ kind: 'rul', version: 'test', weights: Array.from({ length: 1000 }, (_, i) => i / 7) }));
    const m = await publishModel(cloud.db.pool, { name: 'rul-pump', content });
    await publishModel(cloud.db.pool, { name: 'rul-press', content: Buffer.from('other site'), site: 'plant9' });
    expect(await eventually(async () => (await gw()).models_applied['rul-pump'] === m.version, 10_000)).toBe(true);
    const file = join(cfg.dataDir, 'models', `rul-pump@${m.version}.model`);
    expect(readFileSync(file)).toEqual(content);
    expect(existsSync(`${file}.part`)).toBe(false);
    expect(agent!.status().sync?.pushback?.models).toEqual({ 'rul-pump': m.version });
    // Another version replaces it on the next contact.
    const m2 = await publishModel(cloud.db.pool, { name: 'rul-pump', content: Buffer.from('{"kind":"rul","v":2}') });
    expect(await eventually(() => agent!.status().sync?.pushback?.models['rul-pump'] === m2.version, 10_000)).toBe(true);
    expect(await eventually(async () => (await gw()).models_applied['rul-pump'] === m2.version, 10_000)).toBe(true);
    const listed = (await listGateways(cloud.db.pool)).find((g) => g.id === gateway)!;
    expect(listed.applied).toEqual({ config: 1, refused: { version: 2, reason: expect.stringMatching(/not applied/) }, models: { 'rul-pump': m2.version } });
  });

  it('a pushback row the edge could not read (a name too long, written by hand) is left out; the sync goes on', async () => {
    await expect(requestAlarmAck(cloud.db.pool, { gateway, alarmId: 'e'.repeat(32), by: '' })).rejects.toThrow(/acknowledgement is not valid/);
    await cloud.db.pool.query(`INSERT INTO alarm_acks (gateway, alarm_id, by, at) VALUES ($1, $2, $3, now())`, [gateway, 'e'.repeat(32), 'x'.repeat(300)]);
    const t = Date.now();
    await agent!.writer.commit(Array.from({ length: 200 }, (_, i) => ({ sensor: 'acme/plant1/l1/m9/temp', ts: t - 5_000 + i, value: i, quality: 'good' as const, receivedAt: t })));
    expect(await agent!.sync!.drained(20_000)).toBe(true);
    expect(agent!.status().sync?.state).not.toBe('circuit-open');
    await cloud.db.pool.query('DELETE FROM alarm_acks WHERE alarm_id = $1', ['e'.repeat(32)]);
  });

  it("applies a manager's acknowledgement to the edge alarm, which flows back to the cloud acknowledged", async () => {
    const alarm: Alarm = {
      id: 'd'.repeat(32),
      subject: 'acme/plant1/l1/pump-2/bearing_temp',
      severity: 'critical',
      state: 'active',
      raisedAt: Date.now() - 60_000,
      updatedAt: Date.now() - 60_000,
      message: 'bearing over 90 °C',
    };
    await agent!.writer.events.recordAlarms([alarm]);
    expect(await eventually(async () => (await openAlarms(cloud.db.pool, gateway)).length === 1, 10_000)).toBe(true);
    await requestAlarmAck(cloud.db.pool, { gateway, alarmId: alarm.id, by: 'manager-mo', note: 'stop planned Friday' });
    expect(
      await eventually(async () => (await openAlarms(cloud.db.pool, gateway))[0]?.ack?.by === 'manager-mo', 10_000),
      'the acknowledgement did not come back from the edge',
    ).toBe(true);
    expect(await eventually(async () => (await cloud.db.pool.query('SELECT 1 FROM alarm_acks WHERE delivered_at IS NOT NULL')).rowCount === 1, 10_000)).toBe(true);
    const [back] = await openAlarms(cloud.db.pool, gateway);
    expect(back).toMatchObject({ state: 'active', ack: { by: 'manager-mo', note: 'stop planned Friday' } });
  });
});

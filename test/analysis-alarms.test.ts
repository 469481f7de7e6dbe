import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { historianFile, startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import type { Alarm } from '../shared/alarm.js';
import { silentLogger } from '../shared/log.js';
import { createRng } from '../simulators/random.js';

/**
 * Issue 6 in the agent: the scheduler scores the historian's readings in the stateful analysis
 * worker and stores one finding and one alarm per incident (raised, then cleared), none for a
 * healthy sensor, and none twice when the agent restarts and scores its recent history again.
 */
describe('anomaly findings and alarms in the agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-alarms-'));
  let agent: Agent | undefined;
  afterAll(async () => {
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const cfg = EdgeConfig.parse({ gateway: { id: 'alarm-gw', site: 'plant1' }, dataDir: dir, sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }], mcp: { http: { port: 0 } } });
  const hot = 'acme/plant1/line2/pump-1/bearing_temp';
  const calm = 'acme/plant1/line2/pump-2/bearing_temp';

  async function drain(a: Agent): Promise<void> {
    await a.writer.fileLanded();
    while ((await a.anomalies.runOnce()) > 0);
  }
  const alarms = (): Alarm[] => {
    const db = new Database(historianFile(cfg), { readonly: true });
    try {
      return db.prepare<[], { body: string }>('SELECT body FROM alarms ORDER BY raised_at').all().map((r) => JSON.parse(r.body) as Alarm);
    } finally {
      db.close();
    }
  };
  const logged = () => {
    const db = new Database(historianFile(cfg), { readonly: true });
    try {
      return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM event_log').get()!.n;
    } finally {
      db.close();
    }
  };

  it('a bearing that runs hot for two minutes: one alarm, raised then cleared, with its finding; the healthy pump none', async () => {
    agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    const rng = createRng(9);
    const t0 = Date.now() - 3600_000;
    const readings = [];
    for (let i = 0; i < 3000; i++) {
      const ts = t0 + i * 1000;
      const shift = i >= 2000 && i < 2120 ? 15 : 0;
      readings.push({ sensor: hot, ts, value: 60 + Math.sin(i / 60) + (rng.next() - 0.5) + shift, quality: 'good' as const, receivedAt: ts });
      readings.push({ sensor: calm, ts, value: 55 + Math.sin(i / 60) + (rng.next() - 0.5), quality: 'good' as const, receivedAt: ts });
    }
    for (let k = 0; k < readings.length; k += 1000) await agent.writer.commit(readings.slice(k, k + 1000));
    await drain(agent);

    const a = alarms();
    expect(a.map((x) => [x.subject, x.state])).toEqual([[hot, 'cleared']]);
    expect(a[0]!.raisedAt).toBe(t0 + 2000 * 1000);
    expect(a[0]!.message).toMatch(/bearing_temp .*standard deviations/);
    expect(agent.status().analysis).toMatchObject({ sensors: 2, openIncidents: 0, lastError: null });
    // Findings and alarm versions went to the findings stream (for the cloud): raised, cleared.
    expect(logged()).toBe(4);
  });

  it('after a restart the recent history is scored again without a second alarm or a new version', async () => {
    await agent!.stop();
    agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    await drain(agent);
    expect(alarms()).toHaveLength(1);
    expect(logged()).toBe(4);
  });
});

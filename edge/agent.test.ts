import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../shared/log.js';
import { connectClient, eventually, testBroker, type TestBroker } from '../test/helpers/mqtt.js';
import { startAgent } from './agent.js';
import { EdgeConfig } from './config.js';
import { openStore } from './store/store.js';

const T = Date.UTC(2026, 10, 22, 8);

function config(dataDir: string, broker: TestBroker | undefined, gateway = 'gw-test') {
  return EdgeConfig.parse({
    gateway: { id: gateway, site: 'plant1' },
    dataDir,
    sources: [
      {
        type: 'mqtt',
        ...(broker ? { url: broker.url, subscribe: [`${broker.prefix}#`], topicPrefix: broker.prefix, clientId: `mw-agent-${broker.unique}` } : { embeddedBroker: { port: 0 } }),
      },
    ],
    mcp: { http: { port: 0 } },
  });
}

function rows(dataDir: string, sql: string): unknown[] {
  const db = new Database(join(dataDir, 'historian.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('edge agent retention', () => {
  it('applies age retention at start and reports it in the status counters', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const seed = openStore({ file: join(dataDir, 'historian.sqlite') });
    const old = Date.now() - 40 * 86_400_000;
    seed.readings.write([0, 1, 2].map((i) => ({ sensor: 'a/x', ts: old + i, value: i, quality: 'good' as const, receivedAt: old })));
    seed.readings.write([{ sensor: 'a/x', ts: Date.now(), value: 9, quality: 'good' as const, receivedAt: Date.now() }]);
    seed.close();
    // No sync configured: age applies to every raw reading.
    const agent = await startAgent(config(dataDir, undefined), { log: silentLogger, version: 'test' });
    expect(await eventually(() => agent.status().counters.rawEvicted === 3)).toBe(true);
    expect(agent.status().counters).toMatchObject({ rawEvicted: 3, keptUnsynced: 0 });
    await agent.stop();
    expect(rows(dataDir, 'SELECT seq FROM readings')).toEqual([{ seq: 4 }]);
  });
});

describe('edge agent disk budget', () => {
  it('evicts by the policy at start when over budget, and reports size, evictions and counters', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const seed = openStore({ file: join(dataDir, 'historian.sqlite') });
    const now = Date.now();
    // ~20 MiB of raw readings: more than the 16 MiB budget below.
    for (let b = 0; b < 40; b++) {
      seed.readings.write(
        Array.from({ length: 10_000 }, (_, i) => ({ sensor: `a/s${i % 50}`, ts: now - 3_600_000 + b * 10_000 + i, value: i, quality: 'good' as const, receivedAt: now })),
      );
    }
    seed.close();
    const cfg = { ...config(dataDir, undefined), store: { ...config(dataDir, undefined).store, budget: { maxMiB: 16, lowWater: 0.9, thinUnsynced: false, checkIntervalSeconds: 3600 } } };
    const agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    expect(await eventually(() => agent.status().counters.budgetEvicted > 0, 30_000)).toBe(true);
    const disk = agent.status().disk;
    // No cloud configured: every raw reading counts as synced, so the oldest raw readings went first.
    expect(disk.evicted.raw_synced).toBe(agent.status().counters.budgetEvicted);
    expect(disk.usedBytes).toBeLessThanOrEqual(16 * 1024 * 1024 * 0.9 + 64 * 1024);
    expect(disk.overBudget).toBe(false);
    await agent.stop();
    const left = rows(dataDir, 'SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM readings')[0] as { n: number; lo: number; hi: number };
    expect(left.n).toBe(400_000 - disk.evicted.raw_synced);
    expect(left.hi).toBe(400_000);
    expect(left.lo).toBe(disk.evicted.raw_synced + 1); // oldest first
  }, 60_000);
});

describe('edge agent over MQTT', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('commits valid readings, dead-letters bad ones, and keeps going', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const agent = await startAgent(config(dataDir, broker), { log: silentLogger, version: 'test' });
    expect(await eventually(() => agent.status().sources[0]!.state === 'connected')).toBe(true);
    const pub = await connectClient(broker.url);
    const topic = (s: string) => `${broker.prefix}acme/plant1/line-1/pump-1/${s}`;
    await pub.publishAsync(topic('flow'), JSON.stringify({ ts: T, value: 12.5 }), { qos: 1 });
    await pub.publishAsync(topic('flow'), '{"ts": 1, "value": NaN}', { qos: 1 });
    await pub.publishAsync(topic('temp'), JSON.stringify([{ ts: T, value: 40 }, { ts: T + 1000, value: 41, quality: 'bad' }]), { qos: 1 });
    await pub.publishAsync(topic('flow'), JSON.stringify({ ts: T, value: 'high' }), { qos: 1 });
    await pub.publishAsync(topic('flow'), JSON.stringify({ ts: T + 1000, value: 13 }), { qos: 1 });
    await pub.endAsync();

    expect(await eventually(() => agent.status().counters.readingsCommitted === 4 && agent.status().deadLetters === 2)).toBe(true);
    await agent.stop();

    // Stopped: everything is filed into `readings`, seqs 1..4.
    expect(rows(dataDir, 'SELECT r.seq, s.name, r.ts, r.value, r.quality FROM readings r JOIN sensors s ON s.id = r.sensor_id ORDER BY s.name, r.ts')).toEqual([
      { seq: expect.any(Number), name: 'acme/plant1/line-1/pump-1/flow', ts: T, value: 12.5, quality: 0 },
      { seq: expect.any(Number), name: 'acme/plant1/line-1/pump-1/flow', ts: T + 1000, value: 13, quality: 0 },
      { seq: expect.any(Number), name: 'acme/plant1/line-1/pump-1/temp', ts: T, value: 40, quality: 0 },
      { seq: expect.any(Number), name: 'acme/plant1/line-1/pump-1/temp', ts: T + 1000, value: 41, quality: 2 },
    ]);
    expect(rows(dataDir, 'SELECT seq FROM readings ORDER BY seq')).toEqual([1, 2, 3, 4].map((seq) => ({ seq })));
    const dead = rows(dataDir, 'SELECT reason, raw, raw_bytes FROM dead_letters ORDER BY id') as { reason: string; raw: Buffer }[];
    expect(dead.map((d) => d.reason)).toEqual(['payload is not JSON', expect.stringMatching(/^payload is not a reading/)]);
    expect(dead[0]!.raw.toString()).toBe('{"ts": 1, "value": NaN}');
  });

  it('receives what was published while it was down (persistent session, QoS 1)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const cfg = config(dataDir, broker);
    const first = await startAgent(cfg, { log: silentLogger, version: 'test' });
    expect(await eventually(() => first.status().sources[0]!.state === 'connected')).toBe(true);
    // Give the SUBACK time to land so the broker holds the subscription in the session.
    await new Promise((r) => setTimeout(r, 300));
    await first.stop();

    const pub = await connectClient(broker.url);
    for (let i = 0; i < 50; i++) {
      await pub.publishAsync(`${broker.prefix}acme/plant1/line-1/press-1/pressure`, JSON.stringify({ ts: T + i * 1000, value: i }), { qos: 1 });
    }
    await pub.endAsync();

    const second = await startAgent(cfg, { log: silentLogger, version: 'test' });
    expect(await eventually(() => second.status().storedReadings === 50)).toBe(true);
    await second.stop();
    const values = rows(dataDir, 'SELECT value FROM readings ORDER BY ts').map((r) => (r as { value: number }).value);
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('runs its own broker when none is configured', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const agent = await startAgent(config(dataDir, undefined), { log: silentLogger, version: 'test' });
    const url = agent.status().sources[0]!.endpoint;
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const pub = await connectClient(url);
    await pub.publishAsync('factory/acme/plant1/line-1/cnc-1/speed', JSON.stringify({ ts: T, value: 12000 }), { qos: 1 });
    await pub.endAsync();
    expect(await eventually(() => agent.status().storedReadings === 1)).toBe(true);
    await agent.stop();
  });
});

describe('edge agent start-up failure', () => {
  it('stops what it had started and says why when its MCP port is taken', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const first = await startAgent(config(dataDir, undefined), { log: silentLogger, version: 'test' });
    const port = Number(new URL(first.mcpUrl).port);
    const otherDir = mkdtempSync(join(tmpdir(), 'mw-edge-'));
    const cfg = config(otherDir, undefined);
    cfg.mcp.http.port = port;
    await expect(startAgent(cfg, { log: silentLogger, version: 'test' })).rejects.toThrow(/EADDRINUSE/);
    // The failed agent released its historian: a new agent can open it and work.
    const again = await startAgent(config(otherDir, undefined), { log: silentLogger, version: 'test' });
    expect(again.status().sources[0]!.state).toBe('connected');
    await again.stop();
    await first.stop();
  });
});

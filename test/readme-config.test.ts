import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../shared/log.js';
import { startAgent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { SourceConfig } from '../edge/sources/registry.js';
import { connectClient, eventually, testBroker, type TestBroker } from './helpers/mqtt.js';

/** The YAML blocks of the README's source and store configuration section, in order. */
function readmeBlocks(): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('#### MQTT sources'), readme.indexOf('A cloud service:'));
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const T_S = 1763798400;

describe('README configuration examples', () => {
  const blocks = readmeBlocks();
  const sources = blocks.filter((b) => /^- type:/m.test(b)).map((b) => (parseYaml(b) as unknown[])[0]);

  it('are valid: three MQTT sources, two OPC-UA sources and the store settings', () => {
    expect(sources.map((s) => (s as { type: string }).type)).toEqual(['mqtt', 'mqtt', 'mqtt', 'opcua', 'opcua']);
    for (const s of sources) expect(SourceConfig.safeParse(s).error).toBeUndefined();
    const store = blocks.find((b) => b.startsWith('store:'));
    const cfg = EdgeConfig.parse({ gateway: { id: 'gw', site: 's' }, sources: [sources[0]], ...(parseYaml(store!) as object) });
    expect(cfg.store.budget).toEqual({ maxMiB: 2048, lowWater: 0.9, thinUnsynced: false, checkIntervalSeconds: 60 });
  });

  it('the edge and cloud examples under Configuration are valid, with their commented-out tls lines too', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const yamlAfter = (marker: string) => /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(marker)))![1]!;
    const edge = yamlAfter('### Configuration');
    const cloud = yamlAfter('A cloud service:');
    const uncomment = (y: string) => y.replace(/^(\s*)# (tls:)/m, '$1$2');
    for (const y of [edge, uncomment(edge)]) expect(EdgeConfig.safeParse(parseYaml(y)).error).toBeUndefined();
    for (const y of [cloud, uncomment(cloud)]) expect(CloudConfig.safeParse(parseYaml(y)).error).toBeUndefined();
    expect(EdgeConfig.parse(parseYaml(uncomment(edge))).sync.tls).toMatchObject({ ca: 'certs/plant-ca.pem' });
    expect(CloudConfig.parse(parseYaml(uncomment(cloud))).tls).toMatchObject({ clientCa: 'certs/plant-ca.pem' });
  });

  describe('work as written, against a broker', () => {
    let broker: TestBroker;
    beforeAll(async () => {
      broker = await testBroker();
    });
    afterAll(async () => {
      await broker.stop();
    });

    async function ingest(source: unknown, publish: { topic: string; payload: string }) {
      const dataDir = mkdtempSync(join(tmpdir(), 'mw-readme-'));
      const cfg = EdgeConfig.parse({
        // A gateway id of its own gives the source a client id (and session) no other run shares.
        gateway: { id: `readme-${randomBytes(3).toString('hex')}`, site: 'plant1' },
        dataDir,
        sources: [{ ...(source as object), url: broker.url }],
        mcp: { http: { port: 0 } },
      });
      const agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
      try {
        expect(await eventually(() => agent.status().sources[0]!.state === 'connected', 10_000)).toBe(true);
        const pub = await connectClient(broker.url);
        await pub.publishAsync(publish.topic, publish.payload, { qos: 1 });
        await pub.endAsync();
        const db = new Database(join(dataDir, 'historian.sqlite'), { readonly: true });
        const read = () =>
          db.prepare('SELECT s.name AS sensor, r.ts, r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id ORDER BY r.seq').all() as {
            sensor: string;
            ts: number;
            value: number;
          }[];
        expect(await eventually(() => read().length > 0, 10_000)).toBe(true);
        const rows = read();
        db.close();
        return rows;
      } finally {
        await agent.stop();
      }
    }

    it("the millwright JSON source stores a reading under the topic's sensor id", async () => {
      const rows = await ingest(sources[0], { topic: 'factory/acme/plant1/line-1/pump-1/flow', payload: JSON.stringify({ ts: T_S * 1000, value: 12.5 }) });
      expect(rows).toContainEqual({ sensor: 'acme/plant1/line-1/pump-1/flow', ts: T_S * 1000, value: 12.5 });
    });

    it('the device source maps topic and payload as its comments say', async () => {
      const rows = await ingest(sources[1], { topic: 'plant/line-1/pump-1/flow', payload: JSON.stringify({ data: { v: 3.5, t: T_S } }) });
      expect(rows).toContainEqual({ sensor: 'acme/plant1/line-1/pump-1/flow', ts: T_S * 1000, value: 3.5 });
    });
  });
});

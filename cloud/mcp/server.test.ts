import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudConfig } from '../../shared/config.js';
import { parseConfig } from '../../shared/config-load.js';
import { silentLogger } from '../../shared/log.js';
import { registerGateway } from '../db/gateways.js';
import { createTestDatabase, type TestDatabase } from '../db/testing.js';
import { postIngest, readingsBatch, sequencedReadings, T0, valueOf } from '../ingest/testing.js';
import { startCloud, type CloudService } from '../service.js';
import { buildCloudMcpServer } from './server.js';
import { serveCloudMcpStdio } from './stdio.js';

const serverUrl = process.env.MILLWRIGHT_TEST_PG_URL;
const GW = 'plant1-gw1';
const TOKEN = 'mcp-test-token-0123456789abcdef';
const S1 = 'acme/plant1/press-line/press-3/vibration_rms';
const S2 = 'acme/plant1/press-line/press-3/temperature';
const DENSE = 'acme/plant1/press-line/press-4/current';

let testDb: TestDatabase;
let cloud: CloudService;
let client: Client;

beforeAll(async () => {
  testDb = await createTestDatabase({ serverUrl });
  cloud = await startCloud(parseConfig(CloudConfig, { http: { port: 0 }, database: testDb.config }, 'test'), { log: silentLogger });
  await registerGateway(cloud.db.pool, { id: GW, site: 'plant1', token: TOKEN });
  await registerGateway(cloud.db.pool, { id: 'plant2-gw1', site: 'plant2', token: `${TOKEN}-2` });
  // seq 1..200 alternate S1 and S2, one second apart: S1 holds the odd seqs.
  const a = await postIngest(cloud.ingestUrl, readingsBatch(GW, sequencedReadings(1, 200, { sensors: [S1, S2] })), TOKEN);
  expect(a.status).toBe(200);
  // seq 201..1200: DENSE, one reading a second.
  const b = await postIngest(cloud.ingestUrl, readingsBatch(GW, sequencedReadings(201, 1000, { sensors: [DENSE] })), TOKEN);
  expect(b.status).toBe(200);

  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await buildCloudMcpServer(cloud.db.pool, { timescale: cloud.db.timescale }).connect(serverSide);
  client = new Client({ name: 'test', version: '0' });
  await client.connect(clientSide);
});

afterAll(async () => {
  await client?.close();
  await cloud?.stop();
  await testDb?.cleanup();
});

async function call(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}
const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

interface Point {
  ts: number;
  value: number;
  quality: string;
}
interface BucketOut {
  start: number;
  count: number;
  bad: number;
  min: number | null;
  max: number | null;
  avg: number | null;
}

describe(`cloud MCP tools (${serverUrl ? 'PostgreSQL server' : 'embedded PGlite'})`, () => {
  it('lists the tools, all read-only', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['fleet_overview', 'get_sensor_history', 'list_sensors']);
    for (const t of tools) expect(t.annotations?.readOnlyHint).toBe(true);
  });

  it('get_sensor_history returns exactly the ingested readings of the sensor', async () => {
    const r = await call('get_sensor_history', { sensor: S1 });
    expect(r.isError).toBeFalsy();
    const out = r.structuredContent as { downsampled: boolean; count: number; points: Point[]; gateways: string[] };
    expect(out.downsampled).toBe(false);
    expect(out.count).toBe(100);
    expect(out.gateways).toEqual([GW]);
    const oddSeqs = Array.from({ length: 100 }, (_, i) => 2 * i + 1);
    expect(out.points.map((p) => p.ts)).toEqual(oddSeqs.map((s) => T0 + (s - 1) * 1000));
    expect(out.points.map((p) => p.value)).toEqual(oddSeqs.map(valueOf));
    expect(out.points.every((p) => p.quality === 'good')).toBe(true);
    expect(text(r)).toMatch(/^100 readings of acme\/plant1/);
  });

  it('get_sensor_history honours an inclusive range given as ISO text or epoch ms', async () => {
    // S2 holds even seqs: ts = T0 + (seq-1) s, so seqs 10..20 lie in [T0+9s, T0+19s].
    const from = new Date(T0 + 9000).toISOString();
    const r = await call('get_sensor_history', { sensor: S2, gateway: GW, from, to: T0 + 19_000 });
    const out = r.structuredContent as { count: number; points: Point[]; from: string; to: string };
    expect(out.points.map((p) => p.value)).toEqual([10, 12, 14, 16, 18, 20].map(valueOf));
    expect(out.count).toBe(6);
    expect(out.from).toBe(from);
  });

  it('get_sensor_history downsamples into at most maxPoints buckets with exact aggregates', async () => {
    const from = T0 + 200_000; // DENSE: seq 201..1200 at T0 + (seq-1) s
    const to = T0 + 1_199_000;
    const r = await call('get_sensor_history', { sensor: DENSE, from, to, maxPoints: 10 });
    expect(r.isError).toBeFalsy();
    const out = r.structuredContent as { downsampled: boolean; count: number; bucketMs: number; buckets: BucketOut[] };
    expect(out.downsampled).toBe(true);
    expect(out.count).toBe(1000);
    expect(out.buckets.length).toBeLessThanOrEqual(10);
    expect(out.buckets.reduce((n, b) => n + b.count, 0)).toBe(1000);

    // The same buckets computed here from what was sent.
    const sent = sequencedReadings(201, 1000, { sensors: [DENSE] });
    const expected = new Map<number, { values: number[]; n: number }>();
    for (const s of sent) {
      const start = from + Math.floor((s.ts - from) / out.bucketMs) * out.bucketMs;
      const e = expected.get(start) ?? { values: [], n: 0 };
      e.n++;
      e.values.push(s.value);
      expected.set(start, e);
    }
    expect(out.buckets.map((b) => b.start)).toEqual([...expected.keys()]);
    for (const b of out.buckets) {
      const e = expected.get(b.start)!;
      expect(b.count).toBe(e.n);
      expect(b.bad).toBe(0);
      expect(b.min).toBe(Math.min(...e.values));
      expect(b.max).toBe(Math.max(...e.values));
      expect(b.avg).toBeCloseTo(e.values.reduce((x, y) => x + y, 0) / e.n, 9);
    }
  });

  it('get_sensor_history over everything also downsamples when the history is longer than maxPoints', async () => {
    const r = await call('get_sensor_history', { sensor: DENSE, maxPoints: 999 });
    const out = r.structuredContent as { downsampled: boolean; count: number; buckets: BucketOut[] };
    expect(out.downsampled).toBe(true);
    expect(out.buckets.length).toBeLessThanOrEqual(999);
    expect(out.buckets.reduce((n, b) => n + b.count, 0)).toBe(1000);
  });

  it('an unknown sensor is a tool error that says how to find sensors', async () => {
    const r = await call('get_sensor_history', { sensor: 'acme/plant1/press-line/press-9/vibration_rms' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/No readings of sensor "acme\/plant1\/press-line\/press-9\/vibration_rms"/);
    expect(text(r)).toMatch(/list_sensors/);
    expect(text(r)).toContain(S1);
  });

  it('bad arguments are tool errors with clear messages', async () => {
    let r = await call('get_sensor_history', { sensor: S1, from: 'yesterday' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/from: "yesterday" is not an ISO 8601 time/);
    r = await call('get_sensor_history', { sensor: S1, maxPoints: 0 });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/maxPoints/);
    r = await call('get_sensor_history', {});
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/sensor/);
    r = await call('get_sensor_history', { sensor: S1, from: T0 + 10, to: T0 });
    expect(text(r)).toMatch(/is after to/);
  });

  it('fleet_overview shows each gateway with its readings, watermarks and clock', async () => {
    const r = await call('fleet_overview');
    expect(r.isError).toBeFalsy();
    const out = r.structuredContent as {
      gateways: { id: string; online: boolean; readings: number; lastSeen: string | null; watermarks: { readings: number; findings: number }; clockOffsetMs: number | null }[];
      totals: { gateways: number; online: number; readings: number };
    };
    expect(out.totals).toEqual({ gateways: 2, online: 1, readings: 1200 });
    const gw1 = out.gateways.find((g) => g.id === GW)!;
    expect(gw1).toMatchObject({ online: true, readings: 1200, watermarks: { readings: 1200, findings: 0 } });
    expect(typeof gw1.clockOffsetMs).toBe('number');
    expect(out.gateways.find((g) => g.id === 'plant2-gw1')).toMatchObject({ online: false, lastSeen: null, readings: 0, clockOffsetMs: null });
    expect(text(r)).toMatch(/2 gateways, 1 online, 1200 readings/);
  });

  it('list_sensors filters by prefix', async () => {
    const r = await call('list_sensors', { prefix: 'acme/plant1/press-line/press-3/' });
    const out = r.structuredContent as { sensors: { sensor: string; readings: number }[]; truncated: boolean };
    expect(out.sensors.map((s) => [s.sensor, s.readings])).toEqual([
      [S2, 100],
      [S1, 100],
    ]);
    expect(out.truncated).toBe(false);
  });
});

describe('cloud MCP transports', () => {
  it('serves the tools over Streamable HTTP at /mcp', async () => {
    const http = new Client({ name: 'http-test', version: '0' });
    await http.connect(new StreamableHTTPClientTransport(new URL(cloud.mcpUrl)));
    try {
      const r = (await http.callTool({ name: 'get_sensor_history', arguments: { sensor: S1, maxPoints: 5 } })) as CallToolResult;
      expect(r.structuredContent).toMatchObject({ downsampled: true, count: 100 });
    } finally {
      await http.close();
    }
  });

  it('serves the tools over stdio streams', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stdio = await serveCloudMcpStdio(cloud.db.pool, { stdin, stdout }, { timescale: cloud.db.timescale });
    const lines: string[] = [];
    let buffered = '';
    stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.trim() !== ''));
    });
    const send = (msg: object) => stdin.write(JSON.stringify({ jsonrpc: '2.0', ...msg }) + '\n');
    const reply = async (id: number) => {
      for (let i = 0; i < 200; i++) {
        const found = lines.map((l) => JSON.parse(l) as { id?: number; result?: unknown }).find((m) => m.id === id);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no reply to request ${id}`);
    };
    try {
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
      await reply(1);
      send({ method: 'notifications/initialized' });
      send({ id: 2, method: 'tools/call', params: { name: 'fleet_overview', arguments: {} } });
      const r = (await reply(2)) as { result: { structuredContent: { totals: { readings: number } } } };
      expect(r.result.structuredContent.totals.readings).toBe(1200);
    } finally {
      await stdio.close();
    }
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadOnlyDb } from '../store/db.js';
import { createHistorianQueries } from '../store/queries.js';
import { openStore, type Store } from '../store/store.js';
import { buildEdgeMcpServer } from './server.js';

const T = Date.UTC(2026, 10, 22, 8);
const FLOW = 'acme/plant1/line-1/pump-1/flow';

describe('edge MCP tools', () => {
  let store: Store;
  let client: Client;
  beforeAll(async () => {
    store = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-mcp-')), 'historian.sqlite') });
    const readings = Array.from({ length: 3600 }, (_, i) => ({
      sensor: FLOW,
      ts: T + i * 1000,
      value: i === 1234 ? 99 : 10 + (i % 10) / 10,
      quality: 'good' as const,
      receivedAt: T + i * 1000 + 5,
    }));
    store.readings.write(readings, 'plc-1');
    store.readings.write([{ sensor: 'acme/plant1/line-1/pump-1/temp', ts: T, value: 41, quality: 'uncertain', receivedAt: T }], 'broker');
    // plc-1 (the flow's source) lost its connection for 5 minutes; the broker had a gap a day later.
    store.gaps.record('plc-1', { start: T + 600_000, end: T + 900_000, reason: 'connection lost' });
    store.gaps.backfilled('plc-1', T + 600_000, { outcome: 'partial', values: 240 });
    store.gaps.record('broker', { start: T + 1_200_000, end: T + 1_300_000, reason: 'stale' });
    const server = buildEdgeMcpServer({ queries: createHistorianQueries(openReadOnlyDb(store.file)), gatewayId: 'gw-1', version: 'test' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'test', version: '1' });
    await Promise.all([server.connect(a), client.connect(b)]);
  });
  afterAll(async () => {
    await client.close();
    store.close();
  });

  it('lists sensors with their latest value, paged by cursor', async () => {
    const first = await client.callTool({ name: 'list_sensors', arguments: { limit: 1 } });
    const page1 = first.structuredContent as { sensors: { sensor: string; latest: { value: number } }[]; nextCursor: string };
    expect(page1.sensors).toEqual([{ sensor: FLOW, firstSeen: T + 5, latest: { ts: T + 3599_000, value: 10.9, quality: 'good' } }]);
    const second = await client.callTool({ name: 'list_sensors', arguments: { limit: 1, cursor: page1.nextCursor } });
    expect(second.structuredContent).toMatchObject({ sensors: [{ sensor: 'acme/plant1/line-1/pump-1/temp', latest: { quality: 'uncertain' } }], nextCursor: null });
  });

  it("shows the gaps of the sensor's own source in its history", async () => {
    const r = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: FLOW, from: T, to: T + 3_599_000, maxPoints: 60 } });
    const h = r.structuredContent as { gaps: unknown[] };
    expect(h.gaps).toEqual([{ source: 'plc-1', start: T + 600_000, end: T + 900_000, reason: 'connection lost', backfill: { outcome: 'partial', values: 240 } }]);
    expect((r.content as { text: string }[])[0]!.text).toContain(
      'no data from source plc-1 2026-11-22T08:10:00.000Z → 2026-11-22T08:15:00.000Z (connection lost; backfill partial, 240 values)',
    );
    const before = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: FLOW, from: T, to: T + 9_000 } });
    expect((before.structuredContent as { gaps: unknown[] }).gaps).toEqual([]);
  });

  it('returns raw readings when they fit', async () => {
    const r = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: FLOW, from: new Date(T).toISOString(), to: T + 9_000 } });
    const h = r.structuredContent as { count: number; downsampled: boolean; points: { value: number }[] };
    expect(h.count).toBe(10);
    expect(h.downsampled).toBe(false);
    expect(h.points.map((p) => p.value)).toEqual([10, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6, 10.7, 10.8, 10.9]);
  });

  it('downsamples long ranges without hiding the spike', async () => {
    const r = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: FLOW, maxPoints: 60 } });
    const h = r.structuredContent as { count: number; downsampled: boolean; buckets: { max: number; count: number }[] };
    expect(h.count).toBe(3600);
    expect(h.downsampled).toBe(true);
    expect(h.buckets.length).toBeLessThanOrEqual(60);
    expect(h.buckets.reduce((n, b) => n + b.count, 0)).toBe(3600);
    expect(Math.max(...h.buckets.map((b) => b.max))).toBe(99);
  });

  it('counts bad readings in a bucket but leaves them out of min, max and avg', async () => {
    store.readings.write([
      { sensor: 'acme/plant1/line-1/pump-1/pressure', ts: T, value: 5, quality: 'good', receivedAt: T },
      { sensor: 'acme/plant1/line-1/pump-1/pressure', ts: T + 1000, value: 9999, quality: 'bad', receivedAt: T },
      { sensor: 'acme/plant1/line-1/pump-1/pressure', ts: T + 2000, value: 7, quality: 'uncertain', receivedAt: T },
    ]);
    const r = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: 'acme/plant1/line-1/pump-1/pressure', maxPoints: 1 } });
    expect(r.structuredContent).toMatchObject({ count: 3, downsampled: true, buckets: [{ start: T, count: 3, bad: 1, min: 5, max: 7, avg: 6 }] });
  });

  it('says what to do about an unknown sensor or a bad time', async () => {
    const unknown = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: 'acme/nope' } });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toMatch(/unknown sensor .*list_sensors/);
    const badTime = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: FLOW, from: 'yesterday-ish' } });
    expect(badTime.isError).toBe(true);
    expect(JSON.stringify(badTime.content)).toMatch(/is not an ISO 8601 time/);
    const badType = await client.callTool({ name: 'get_sensor_history', arguments: { sensor: FLOW, maxPoints: 'many' } });
    expect(badType.isError).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../shared/alarm.js';
import { CloudConfig } from '../../shared/config.js';
import { parseConfig } from '../../shared/config-load.js';
import { silentLogger } from '../../shared/log.js';
import { SYNC_VERSION_HEADER, SyncErrorReply, SyncReply } from '../../shared/sync.js';
import { openAlarms } from '../db/alarms.js';
import { listGateways, registerGateway } from '../db/gateways.js';
import { countReadings } from '../db/readings.js';
import { createTestDatabase, type TestDatabase } from '../db/testing.js';
import { startCloud, type CloudService } from '../service.js';
import { alarmsBatch, postIngest, readingsBatch, sequencedReadings, T0 } from './testing.js';

/** Protocol versions (426), what a gateway says about itself, and alarms on the findings stream. */
const serverUrl = process.env.MILLWRIGHT_TEST_PG_URL;
const token = (id: string) => `versions-token-for-${id}-0123456789`;
let testDb: TestDatabase;
let cloud: CloudService;

beforeAll(async () => {
  testDb = await createTestDatabase({ serverUrl });
  cloud = await startCloud(parseConfig(CloudConfig, { http: { port: 0 }, database: testDb.config }, 'test'), { log: silentLogger });
  for (const id of ['gw-v', 'gw-s', 'gw-al']) await registerGateway(cloud.db.pool, { id, site: 'plant1', token: token(id) });
});

afterAll(async () => {
  await cloud?.stop();
  await testDb?.cleanup();
});

describe(`sync protocol versions (${serverUrl ? 'PostgreSQL server' : 'embedded PGlite'})`, () => {
  it('426 with the reason and an Upgrade header for another protocol version; nothing written', async () => {
    const r = await postIngest(cloud.ingestUrl, readingsBatch('gw-v', sequencedReadings(1, 5)), token('gw-v'), { [SYNC_VERSION_HEADER]: '2' });
    expect(r.status).toBe(426);
    expect(SyncErrorReply.parse(r.body).error).toMatchObject({ code: 'UNSUPPORTED_VERSION', message: expect.stringMatching(/protocol 1; the batch says 2/) });
    expect(await countReadings(cloud.db.pool, 'gw-v')).toBe(0);
    const res = await fetch(cloud.ingestUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token('gw-v')}`, [SYNC_VERSION_HEADER]: '7' },
      body: '{}',
    });
    expect(res.status).toBe(426);
    expect(res.headers.get('upgrade')).toBe('millwright-sync/1');
  });

  it('426, not 422, for a body encoding from another version; nothing written', async () => {
    const batch = { ...readingsBatch('gw-v', sequencedReadings(1, 5)), encoding: 'columnar-json-v2' };
    const r = await postIngest(cloud.ingestUrl, batch, token('gw-v'));
    expect(r.status).toBe(426);
    expect(SyncErrorReply.parse(r.body).error.message).toMatch(/columnar-json-v1, not columnar-json-v2/);
    expect(await countReadings(cloud.db.pool, 'gw-v')).toBe(0);
  });

  it('accepts the current version, and a batch without the header (edges before it)', async () => {
    let r = await postIngest(cloud.ingestUrl, readingsBatch('gw-v', sequencedReadings(1, 5)), token('gw-v'), { [SYNC_VERSION_HEADER]: '1' });
    expect(SyncReply.parse(r.body).written).toBe(5);
    r = await postIngest(cloud.ingestUrl, readingsBatch('gw-v', sequencedReadings(6, 5)), token('gw-v'));
    expect(SyncReply.parse(r.body).written).toBe(5);
  });
});

describe('what a gateway says about itself', () => {
  it('records its version (User-Agent) and readings backlog; a batch without them keeps the last', async () => {
    const batch = { ...readingsBatch('gw-s', sequencedReadings(1, 5)), backlog: { records: 12_345, seconds: 3600.5 } };
    await postIngest(cloud.ingestUrl, batch, token('gw-s'), { 'user-agent': 'millwright-edge/9.8.7' });
    let g = (await listGateways(cloud.db.pool)).find((x) => x.id === 'gw-s')!;
    expect(g).toMatchObject({ version: '9.8.7', lag: { records: 12_345, seconds: 3600.5 } });
    await postIngest(cloud.ingestUrl, readingsBatch('gw-s', sequencedReadings(6, 5)), token('gw-s'));
    g = (await listGateways(cloud.db.pool)).find((x) => x.id === 'gw-s')!;
    expect(g).toMatchObject({ version: '9.8.7', lag: { records: 12_345, seconds: 3600.5 } });
  });
});

describe('alarms on the findings stream', () => {
  const alarm = (over: Partial<Alarm>): Alarm => ({
    id: 'a'.repeat(32),
    subject: 'acme/plant1/line2/pump-1/bearing_temp',
    severity: 'warning',
    state: 'active',
    raisedAt: T0,
    updatedAt: T0,
    message: 'bearing temperature 12 K above its usual level',
    ...over,
  });

  it('keeps the latest version of each alarm; an older version resent later changes nothing', async () => {
    const acked = alarm({ updatedAt: T0 + 60_000, severity: 'critical', ack: { by: 'op-anna', at: T0 + 60_000, note: 'on it' } });
    let r = await postIngest(cloud.ingestUrl, alarmsBatch('gw-al', 1, [alarm({}), acked]), token('gw-al'));
    expect(SyncReply.parse(r.body)).toMatchObject({ acceptedThrough: 2, written: 1 });
    // A second gateway's copy of the same id, and then gw-al's first version again at seq 3.
    r = await postIngest(cloud.ingestUrl, alarmsBatch('gw-al', 3, [alarm({})]), token('gw-al'));
    expect(SyncReply.parse(r.body)).toMatchObject({ acceptedThrough: 3, written: 0 });
    const open = await openAlarms(cloud.db.pool, 'gw-al');
    expect(open).toEqual([{ ...acked, gateway: 'gw-al' }]);

    const cleared = { ...acked, state: 'cleared' as const, updatedAt: T0 + 120_000, clearedAt: T0 + 120_000 };
    r = await postIngest(cloud.ingestUrl, alarmsBatch('gw-al', 4, [cleared]), token('gw-al'));
    expect(SyncReply.parse(r.body).written).toBe(1);
    // Cleared and acknowledged: done, no longer open.
    expect(await openAlarms(cloud.db.pool, 'gw-al')).toEqual([]);
  });

  it('422 for an alarm that does not match the schema, naming the field', async () => {
    const bad = alarmsBatch('gw-al', 5, [alarm({ updatedAt: T0 + 180_000 })]);
    (bad.findings[0] as { alarm: Record<string, unknown> }).alarm.state = 'exploded';
    const r = await postIngest(cloud.ingestUrl, bad, token('gw-al'));
    expect(r.status).toBe(422);
    expect(SyncErrorReply.parse(r.body).error.message).toMatch(/state/);
  });
});

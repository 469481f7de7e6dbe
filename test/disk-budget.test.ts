import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGateway } from '../cloud/db/gateways.js';
import { countReadings } from '../cloud/db/readings.js';
import { createTestDatabase, type TestDatabase } from '../cloud/db/testing.js';
import { listWatermarks } from '../cloud/db/watermarks.js';
import { postIngest, readingsBatch, sequencedReadings } from '../cloud/ingest/testing.js';
import { startCloud, type CloudService } from '../cloud/service.js';
import { enforceDiskBudget, evictionTotals } from '../edge/store/budget.js';
import { openStore, type Store } from '../edge/store/store.js';
import { createSyncClient, type SyncClient } from '../edge/sync/client.js';
import { createTelemetry } from '../edge/telemetry/events.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import type { Reading } from '../shared/reading.js';
import { SyncErrorReply, SyncReply } from '../shared/sync.js';

/**
 * DESIGN guarantees 2 and 3 together: the disk budget thins readings the cloud never received,
 * and exactly-once sync still drains. The edge declares the evicted seqs in its batches; the
 * cloud writes only the records and moves its watermark past the hole, instead of refusing the
 * stream as a gap forever.
 */
const realPg = process.env.MILLWRIGHT_TEST_PG_URL;
const T0 = Date.UTC(2026, 0, 1);
/** Reading i is seq i in a fresh store; its value is i, so the cloud's values name the seqs. */
const reading = (i: number): Reading => ({ sensor: `acme/plant1/line1/m${i % 4}/temp`, ts: T0 + i * 250, value: i, quality: 'good', receivedAt: T0 + i * 250 + 3 });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

describe(`disk budget thinning, then exactly-once sync (${realPg ? 'PostgreSQL' : 'embedded TimescaleDB'})`, () => {
  let database: TestDatabase | undefined;
  let cloud: CloudService;
  let store: Store | undefined;
  let client: SyncClient | undefined;
  const gateway = `budget-${randomBytes(4).toString('hex')}`;
  const token = `mwg_${randomBytes(24).toString('base64url')}`;

  beforeAll(async () => {
    database = await createTestDatabase({ serverUrl: realPg });
    cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: database.config }), { log: silentLogger });
    await registerGateway(cloud.db.pool, { id: gateway, site: 'plant1', token });
    await registerGateway(cloud.db.pool, { id: `${gateway}-p`, site: 'plant1', token: `${token}-p` });
  });
  afterAll(async () => {
    await client?.stop();
    store?.close();
    await cloud?.stop();
    await database?.cleanup();
  });

  const cloudValues = async (gw: string): Promise<number[]> =>
    (await cloud.db.pool.query<{ value: number }>('SELECT value FROM readings WHERE gateway = $1 ORDER BY value', [gw])).rows.map((r) => r.value);
  const watermark = async (gw: string) => (await listWatermarks(cloud.db.pool)).find((w) => w.gateway === gw && w.stream === 'readings')?.watermark;

  it('drains past the unsynced readings the budget thinned, and the cloud holds the rest exactly once', async () => {
    store = openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-budget-sync-')), 'historian.sqlite') });
    const s = store;
    const sync = () =>
      createSyncClient(s.outbox, { url: cloud.url, token, gatewayId: gateway, batchSize: 300, intervalMs: 20, timeoutMs: 10_000, backoff: { baseMs: 10, capMs: 100 } }, createTelemetry(silentLogger));

    // Online: 1..1000 reach the cloud.
    s.readings.write(range(1, 1000).map(reading));
    client = sync();
    client.start();
    expect(await client.drained(30_000)).toBe(true);
    await client.stop();
    expect(await watermark(gateway)).toBe(1000);

    // The link is down; 1001..3000 pile up and the disk budget (thinUnsynced) drops every one.
    s.readings.write(range(1001, 3000).map(reading));
    const r = await enforceDiskBudget(s.db, { maxBytes: 1, lowWater: 0.9, thinUnsynced: true, syncConfigured: true });
    expect(r.evicted).toMatchObject({ raw_synced: 1000, raw_unsynced: 2000 });
    expect(r.overBudget).toBe(true);
    expect(r.reason).toMatch(/nothing the policy may evict is left/);
    // 3001..4000 arrive after it; the pending stream now has a hole of 2000 seqs before them.
    s.readings.write(range(3001, 4000).map(reading));
    expect(s.outbox.state()).toMatchObject({ ackedSeq: 1000, lastSeq: 4000, pending: 1000 });

    // The link is back: the first batch spans 1001..3300 with 1001..3000 declared evicted.
    client = sync();
    client.start();
    expect(await client.drained(30_000)).toBe(true);
    await client.stop();
    expect(s.outbox.state()).toMatchObject({ ackedSeq: 4000, pending: 0, lastError: null });
    expect(await watermark(gateway)).toBe(4000);
    expect(await cloudValues(gateway)).toEqual([...range(1, 1000), ...range(3001, 4000)]);
    expect(evictionTotals(s.db)).toMatchObject({ raw_synced: 1000, raw_unsynced: 2000 });
  });

  describe('the cloud, given evicted ranges', () => {
    const gw = () => `${gateway}-p`;
    const post = (body: unknown) => postIngest(cloud.ingestUrl, body, `${token}-p`);
    /** Records `present` of the span first..last, the rest declared evicted. */
    const thinned = (first: number, last: number, present: number[], evicted: [number, number][]) => ({
      ...readingsBatch(gw(), sequencedReadings(1, last).filter((r) => present.includes(r.seq))),
      firstSeq: first,
      lastSeq: last,
      evicted,
    });

    it('writes only the records, moves the watermark past the hole, and treats a resend as a duplicate', async () => {
      const batch = thinned(1, 10, [1, 2, 6, 10], [[3, 5], [7, 9]]);
      const first = await post(batch);
      expect(first.status).toBe(200);
      expect(SyncReply.parse(first.body)).toMatchObject({ acceptedThrough: 10, written: 4, duplicate: false });
      const again = await post(batch);
      expect(SyncReply.parse(again.body)).toMatchObject({ acceptedThrough: 10, written: 0, duplicate: true });
      expect(await countReadings(cloud.db.pool, gw())).toBe(4);
    });

    it('trims a thinned batch that overlaps the watermark', async () => {
      const r = await post(thinned(8, 14, [10, 11, 14], [[8, 9], [12, 13]]));
      expect(SyncReply.parse(r.body)).toMatchObject({ acceptedThrough: 14, written: 2 });
      expect(await countReadings(cloud.db.pool, gw())).toBe(6);
    });

    it('refuses, and writes nothing of, a batch whose evicted ranges overlap a record or leave a seq out', async () => {
      for (const bad of [thinned(15, 18, [15, 16, 17], [[17, 18]]), thinned(15, 18, [15, 16], [[18, 18]])]) {
        const r = await post(bad);
        expect(r.status).toBe(422);
        expect(SyncErrorReply.parse(r.body).error.code).toBe('INVALID_BATCH');
      }
      expect(await countReadings(cloud.db.pool, gw())).toBe(6);
      expect(await watermark(gw())).toBe(14);
    });
  });
});

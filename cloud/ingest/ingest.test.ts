import { createServer } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../shared/http.js';
import { CloudConfig } from '../../shared/config.js';
import { parseConfig } from '../../shared/config-load.js';
import { findingId, type Finding } from '../../shared/finding.js';
import { silentLogger } from '../../shared/log.js';
import { SyncErrorReply, SyncReply } from '../../shared/sync.js';
import { countFindings } from '../db/findings.js';
import { registerGateway, revokeGateway } from '../db/gateways.js';
import { countReadings } from '../db/readings.js';
import { createTestDatabase, type TestDatabase } from '../db/testing.js';
import { startCloud, type CloudService } from '../service.js';
import { createIngestHandler } from './handler.js';
import { findingsBatch, postIngest, readingsBatch, sequencedReadings, T0, valueOf } from './testing.js';

const serverUrl = process.env.MILLWRIGHT_TEST_PG_URL;
const MAX_BODY = 64 * 1024;
const token = (id: string) => `test-token-for-${id}-0123456789`;
const GATEWAYS = ['gw-a', 'gw-b', 'gw-c', 'gw-d', 'gw-e', 'gw-r', 'gw-t', 'gw-z', 'gw-big'];

let testDb: TestDatabase;
let cloud: CloudService;
const configFor = (db: TestDatabase) =>
  parseConfig(CloudConfig, { http: { port: 0 }, database: db.config, ingest: { maxBodyBytes: MAX_BODY } }, 'test');

beforeAll(async () => {
  testDb = await createTestDatabase({ serverUrl });
  cloud = await startCloud(configFor(testDb), { log: silentLogger });
  for (const id of GATEWAYS) await registerGateway(cloud.db.pool, { id, site: 'plant1', token: token(id) });
});

afterAll(async () => {
  await cloud?.stop();
  await testDb?.cleanup();
});

const rows = (gateway: string) => countReadings(cloud.db.pool, gateway);
const post = (body: unknown, tok?: string) => postIngest(cloud.ingestUrl, body, tok);
const ok = (body: unknown) => SyncReply.parse(body);
const refused = (body: unknown) => SyncErrorReply.parse(body);

describe(`ingest exactly once (${serverUrl ? 'PostgreSQL server' : 'embedded PGlite'})`, () => {
  const gw = 'gw-a';

  it('writes the first batch ever and reports the watermark', async () => {
    const r = await post(readingsBatch(gw, sequencedReadings(1, 100)), token(gw));
    expect(r.status).toBe(200);
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 100, duplicate: false, written: 100 });
    expect(await rows(gw)).toBe(100);
  });

  it('acknowledges a resent batch without writing it again', async () => {
    const r = await post(readingsBatch(gw, sequencedReadings(1, 100)), token(gw));
    expect(r.status).toBe(200);
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 100, duplicate: true, written: 0 });
    expect(await rows(gw)).toBe(100);
  });

  it('writes the exact next batch', async () => {
    const r = await post(readingsBatch(gw, sequencedReadings(101, 50)), token(gw));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 150, duplicate: false, written: 50 });
    expect(await rows(gw)).toBe(150);
  });

  it('refuses a batch that leaves a gap with 409 and the current watermark', async () => {
    const r = await post(readingsBatch(gw, sequencedReadings(160, 10)), token(gw));
    expect(r.status).toBe(409);
    const body = refused(r.body);
    expect(body.error.code).toBe('SEQUENCE_GAP');
    expect(body.acceptedThrough).toBe(150);
    expect(body.error.message).toMatch(/resend from 151/);
    expect(await rows(gw)).toBe(150);
  });

  it('writes only the new part of a batch that overlaps the watermark', async () => {
    const r = await post(readingsBatch(gw, sequencedReadings(141, 60)), token(gw));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 200, duplicate: false, written: 50 });
    expect(await rows(gw)).toBe(200);
  });

  it('stored every reading once, with its value, quality and receive time', async () => {
    const res = await cloud.db.pool.query<{ ms: string; value: number; quality: number; lag: string }>(
      `SELECT round(extract(epoch FROM time) * 1000)::bigint AS ms, value, quality,
              round(extract(epoch FROM received_at - time) * 1000)::bigint AS lag
       FROM readings WHERE gateway = $1 ORDER BY time`,
      [gw],
    );
    expect(res.rows.map((r) => Number(r.ms))).toEqual(Array.from({ length: 200 }, (_, i) => T0 + i * 1000));
    expect(res.rows.map((r) => r.value)).toEqual(Array.from({ length: 200 }, (_, i) => valueOf(i + 1)));
    expect(res.rows.filter((r) => r.quality === 1)).toHaveLength(4);
    expect(new Set(res.rows.map((r) => Number(r.lag)))).toEqual(new Set([7]));
  });

  it('stores a large batch (COPY on a server, INSERT on PGlite) with every time, value, quality and lag exact', async () => {
    const gwz = 'gw-big';
    const batch = sequencedReadings(1, 2000, { sensors: ['a/big/s1', 'a/big/s2', 'a/big/s3', 'a/big/s4'], stepMs: 250 });
    const r = await post(readingsBatch(gwz, batch), token(gwz));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 2000, written: 2000 });
    const res = await cloud.db.pool.query<{ sensor: string; ms: string; value: number; quality: number; lag: string }>(
      `SELECT sensor, round(extract(epoch FROM time) * 1000)::bigint AS ms, value, quality,
              round(extract(epoch FROM received_at - time) * 1000)::bigint AS lag
       FROM readings WHERE gateway = $1 ORDER BY time`,
      [gwz],
    );
    expect(res.rows.map((x) => [x.sensor, Number(x.ms), x.value, x.quality, Number(x.lag)])).toEqual(
      batch.map((b) => [b.sensor, b.ts, b.value, b.quality === 'good' ? 0 : 1, 7]),
    );
  });

  it('stores a batch posted many times at once exactly once', async () => {
    const gwc = 'gw-c';
    const batch = readingsBatch(gwc, sequencedReadings(1, 300, { sensors: ['a/s1', 'a/s2', 'a/s3'] }));
    const replies = await Promise.all(Array.from({ length: 6 }, () => post(batch, token(gwc))));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const bodies = replies.map((r) => ok(r.body));
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(bodies.reduce((n, b) => n + b.written, 0)).toBe(300);
    expect(await rows(gwc)).toBe(300);
  });

  it.skipIf(!serverUrl)('stores a batch posted to two cloud replicas at once exactly once', async () => {
    const gwt = 'gw-t';
    const second = await startCloud(configFor(testDb), { log: silentLogger });
    try {
      const batch = readingsBatch(gwt, sequencedReadings(1, 500));
      const replies = await Promise.all([cloud, second, cloud, second].map((c) => postIngest(c.ingestUrl, batch, token(gwt))));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(replies.map((r) => ok(r.body).written).reduce((a, b) => a + b, 0)).toBe(500);
      expect(await rows(gwt)).toBe(500);
    } finally {
      await second.stop();
    }
  });

  it('records when the gateway was seen and how far its clock is off', async () => {
    const gwe = 'gw-e';
    const r = await post(readingsBatch(gwe, sequencedReadings(1, 3), Date.now() - 5000), token(gwe));
    expect(r.status).toBe(200);
    const g = await cloud.db.pool.query<{ offset: string; seen: Date | null }>(
      'SELECT last_clock_offset_ms AS offset, last_seen_at AS seen FROM gateways WHERE id = $1',
      [gwe],
    );
    expect(Number(g.rows[0]?.offset)).toBeGreaterThanOrEqual(5000);
    expect(Number(g.rows[0]?.offset)).toBeLessThan(10_000);
    expect(g.rows[0]?.seen).toBeInstanceOf(Date);
  });
});

describe('ingest refuses bad requests and writes nothing of them', () => {
  const gw = 'gw-b';
  const valid = () => readingsBatch(gw, sequencedReadings(1, 10));

  it('401 without a token, with an unknown token, and with a revoked one', async () => {
    for (const tok of [undefined, 'not-a-real-token-at-all']) {
      const r = await post(valid(), tok);
      expect(r.status).toBe(401);
      expect(refused(r.body).error.code).toBe('UNAUTHORIZED');
    }
    expect(await revokeGateway(cloud.db.pool, 'gw-r')).toBe(true);
    const r = await post(readingsBatch('gw-r', sequencedReadings(1, 10)), token('gw-r'));
    expect(r.status).toBe(401);
    expect(await rows(gw)).toBe(0);
    expect(await rows('gw-r')).toBe(0);
  });

  it("403 when a gateway sends data as another gateway", async () => {
    const before = await rows('gw-a');
    const r = await post(readingsBatch('gw-a', sequencedReadings(201, 10)), token(gw));
    expect(r.status).toBe(403);
    expect(refused(r.body).error).toMatchObject({ code: 'FORBIDDEN_GATEWAY' });
    expect(await rows('gw-a')).toBe(before);
  });

  it('400 when the body is not JSON', async () => {
    const r = await post('{"gateway": "gw-b", ', token(gw));
    expect(r.status).toBe(400);
    expect(refused(r.body).error.code).toBe('NOT_JSON');
    expect(await rows(gw)).toBe(0);
  });

  it('422 with the problems named when the batch does not match the schema', async () => {
    const short = { ...valid(), lastSeq: 20 };
    let r = await post(short, token(gw));
    expect(r.status).toBe(422);
    expect(refused(r.body).error).toMatchObject({ code: 'INVALID_BATCH' });
    expect(refused(r.body).error.message).toMatch(/at lastSeq: batch declares 20 records \(seq 1\.\.20\) but carries 10/);

    const b = valid();
    const broken = { ...b, series: [{ ...b.series[0]!, values: ['x', ...b.series[0]!.values.slice(1)] }] };
    r = await post(broken, token(gw));
    expect(r.status).toBe(422);
    expect(refused(r.body).error.message).toMatch(/series\[0\]\.values\[0\]/);
    expect(await rows(gw)).toBe(0);
  });

  it('413 when the body is over the limit', async () => {
    const big = readingsBatch(gw, sequencedReadings(1, 5000));
    expect(JSON.stringify(big).length).toBeGreaterThan(MAX_BODY);
    const r = await post(big, token(gw));
    expect(r.status).toBe(413);
    expect(refused(r.body).error.code).toBe('BODY_TOO_LARGE');
    expect(await rows(gw)).toBe(0);
  });

  it('still accepts the valid batch afterwards', async () => {
    const r = await post(valid(), token(gw));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 10, written: 10 });
    expect(await rows(gw)).toBe(10);
  });
});

describe('compressed bodies', () => {
  const gw = 'gw-z';
  const send = async (body: Buffer, encoding: string) => {
    const res = await fetch(cloud.ingestUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(gw)}`, 'content-type': 'application/json', 'content-encoding': encoding },
      body: new Uint8Array(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const json = (first: number, n: number) => Buffer.from(JSON.stringify(readingsBatch(gw, sequencedReadings(first, n))));

  it('accepts gzip, deflate and br bodies, as the edge sends them', async () => {
    let r = await send(gzipSync(json(1, 100)), 'gzip');
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 100, written: 100 });
    r = await send(deflateSync(json(101, 100)), 'deflate');
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 200, written: 100 });
    r = await send(brotliCompressSync(json(201, 100)), 'br');
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 300, written: 100 });
    expect(await rows(gw)).toBe(300);
  });

  it('413 for a body that inflates past the limit (a few KB of gzip can hold gigabytes), nothing written', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * MAX_BODY, 0x20));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const r = await send(bomb, 'gzip');
    expect(r.status).toBe(413);
    expect(refused(r.body).error.code).toBe('BODY_TOO_LARGE');
    expect(refused(r.body).error.message).toMatch(/inflates to over/);
    expect(await rows(gw)).toBe(300);
  });

  it('400 for a garbled gzip body, 415 for an encoding it does not know; nothing written', async () => {
    const good = gzipSync(json(301, 10));
    const garbled = Buffer.concat([good.subarray(0, 20), Buffer.alloc(30, 0xff)]);
    let r = await send(garbled, 'gzip');
    expect(r.status).toBe(400);
    expect(refused(r.body).error.code).toBe('BAD_COMPRESSION');
    r = await send(good, 'zstd');
    expect(r.status).toBe(415);
    expect(refused(r.body).error.code).toBe('UNSUPPORTED_ENCODING');
    expect(await rows(gw)).toBe(300);
    // The same batch, intact, goes through.
    r = await send(good, 'gzip');
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 310, written: 10 });
  });
});

describe('findings', () => {
  const finding = (score: number, subject = 'acme/plant1/press-line/press-3/vibration_rms'): Finding => ({
    id: findingId('anomaly', subject, 'zscore@1', T0),
    kind: 'anomaly',
    subject,
    start: T0,
    end: T0 + 60_000,
    score,
    severity: 'warning',
    detector: 'zscore@1',
    message: 'vibration rose 4 sigma',
    details: { sigma: 4 },
  });

  it('upserts by deterministic id; each gateway keeps its own finding of that id', async () => {
    const gw = 'gw-d';
    let r = await post(findingsBatch(gw, 1, [finding(0.5), finding(0.1, 'acme/plant1/other')]), token(gw));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 2, written: 2 });
    r = await post(findingsBatch(gw, 3, [finding(0.9)]), token(gw));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 3, written: 1 });
    expect(await countFindings(cloud.db.pool, gw)).toBe(2);
    const score = await cloud.db.pool.query<{ score: number }>('SELECT score FROM findings WHERE id = $1 AND gateway = $2', [finding(0).id, gw]);
    expect(score.rows[0]?.score).toBe(0.9);

    r = await post(findingsBatch('gw-e', 1, [finding(0.0)]), token('gw-e'));
    expect(ok(r.body)).toMatchObject({ acceptedThrough: 1, written: 1 });
    const after = await cloud.db.pool.query<{ score: number; gateway: string }>('SELECT score, gateway FROM findings WHERE id = $1 ORDER BY gateway', [finding(0).id]);
    expect(after.rows).toEqual([
      { score: 0.9, gateway: gw },
      { score: 0, gateway: 'gw-e' },
    ]);
  });
});

describe('service', () => {
  it('answers /healthz', async () => {
    const res = await fetch(`${cloud.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, timescale: cloud.db.timescale });
  });

  it('records skipped TimescaleDB migrations honestly', async () => {
    const r = await cloud.db.pool.query<{ name: string; outcome: string }>('SELECT name, outcome FROM schema_migrations ORDER BY name');
    expect(r.rows).toContainEqual({ name: '001_init.sql', outcome: 'applied' });
    expect(r.rows).toContainEqual({ name: '002_timescale.sql', outcome: cloud.db.timescale ? 'applied' : 'skipped' });
  });
});

describe('ingest when the database is down', () => {
  it('answers 503 DB_UNAVAILABLE with Retry-After, so the edge keeps the batch and retries', async () => {
    // A real pool pointed at a port nobody listens on.
    const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    const server = createServer((req, res) => void createIngestHandler({ pool, maxBodyBytes: MAX_BODY, log: silentLogger })(req, res));
    const port = await listen(server, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token('gw-a')}`, 'content-type': 'application/json' },
        body: JSON.stringify(readingsBatch('gw-a', sequencedReadings(1, 5))),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(refused(await res.json()).error.code).toBe('DB_UNAVAILABLE');
    } finally {
      server.close();
      await pool.end();
    }
  });
});

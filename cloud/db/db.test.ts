import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { sequencedReadings } from '../ingest/testing.js';
import { openDatabase, type Database } from './connect.js';
import { addGateway, findGatewayByToken, GatewayError, hashToken, listGateways, registerGateway, revokeGateway } from './gateways.js';
import { migrate } from './migrate.js';
import { countReadings, insertReadings } from './readings.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

const serverUrl = process.env.MILLWRIGHT_TEST_PG_URL;
let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase({ serverUrl });
  db = await openDatabase(testDb.config, silentLogger);
  await migrate(db.pool, { timescale: db.timescale, log: silentLogger });
});

afterAll(async () => {
  await db?.close();
  await testDb?.cleanup();
});

describe(`cloud database (${serverUrl ? 'PostgreSQL server' : 'embedded PGlite'})`, () => {
  it('uses TimescaleDB when the database has it', () => {
    if (serverUrl) return; // whatever the server offers; the embedded build always has it
    expect(db.timescale).toBe(true);
    expect(db.timescaleVersion).toMatch(/^2\./);
  });

  it('migrates once: a second run applies nothing and still reports what it skipped', async () => {
    const again = await migrate(db.pool, { timescale: db.timescale, log: silentLogger });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toContain('001_init.sql');
    expect(again.skipped).toEqual(db.timescale ? ['004_rollups_plain.sql'] : ['002_timescale.sql', '003_rollups.sql']);
  });

  it('makes readings a hypertable only on TimescaleDB', async () => {
    const r = await db.pool.query<{ n: string }>(
      db.timescale
        ? `SELECT count(*) AS n FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'`
        : `SELECT 0 AS n`,
    );
    expect(Number(r.rows[0]?.n)).toBe(db.timescale ? 1 : 0);
  });

  it('adds a gateway with a fresh token that is stored only as its hash', async () => {
    const g = await addGateway(db.pool, { id: 'gw-1', site: 'plant1' });
    expect(g.token).toMatch(/^mwg_[A-Za-z0-9_-]{43}$/);
    const stored = await db.pool.query<{ token_hash: string }>('SELECT token_hash FROM gateways WHERE id = $1', [g.id]);
    expect(stored.rows[0]?.token_hash).toBe(hashToken(g.token));
    expect(await findGatewayByToken(db.pool, g.token)).toEqual({ id: 'gw-1', site: 'plant1' });
    expect(await findGatewayByToken(db.pool, g.token + 'x')).toBeUndefined();
    await expect(addGateway(db.pool, { id: 'gw-1', site: 'plant1' })).rejects.toMatchObject({ code: 'GATEWAY_EXISTS' });
    await expect(addGateway(db.pool, { id: 'not a valid id!', site: 'plant1' })).rejects.toBeInstanceOf(GatewayError);
  });

  it('revokes a gateway: its token stops working and its row stays', async () => {
    const g = await addGateway(db.pool, { id: 'gw-2', site: 'plant2' });
    expect(await revokeGateway(db.pool, 'gw-2')).toBe(true);
    expect(await revokeGateway(db.pool, 'gw-2')).toBe(false);
    expect(await findGatewayByToken(db.pool, g.token)).toBeUndefined();
    const listed = await listGateways(db.pool);
    expect(listed.find((x) => x.id === 'gw-2')?.revokedAt).toBeInstanceOf(Date);
  });

  it('registers a caller-chosen token idempotently, one token per gateway', async () => {
    const token = 'demo-token-plant3-0123456789';
    await registerGateway(db.pool, { id: 'gw-3', site: 'plant3', token });
    await registerGateway(db.pool, { id: 'gw-3', site: 'plant3', token });
    expect(await findGatewayByToken(db.pool, token)).toEqual({ id: 'gw-3', site: 'plant3' });
    await expect(registerGateway(db.pool, { id: 'gw-4', site: 'plant3', token })).rejects.toMatchObject({ code: 'TOKEN_IN_USE' });
    await expect(registerGateway(db.pool, { id: 'gw-4', site: 'plant3', token: 'short' })).rejects.toMatchObject({ code: 'GATEWAY_INVALID' });
  });

  it('inserts a large batch in one statement', async () => {
    // ~50 000 rows make a Bind message of several MB: more than one TCP read on the embedded socket.
    const rows = sequencedReadings(1, 50_000, { sensors: ['a/b/c1', 'a/b/c2', 'a/b/c3'], stepMs: 10 });
    const client = await db.pool.connect();
    try {
      expect(await insertReadings(client, 'gw-3', rows)).toBe(50_000);
    } finally {
      client.release();
    }
    expect(await countReadings(db.pool, 'gw-3')).toBe(50_000);
  });
});

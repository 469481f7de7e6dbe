import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureOutput } from '../test/helpers/capture.js';
import { openDatabase } from './db/connect.js';
import { gatewayAdd } from './main.js';
import { alarmAck, gatewayConfig, modelPublish } from './pushback-cli.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';

/** The pushback commands as a person runs them: exit codes, what they print, what they stored. */
let dir: string;
let configPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mw-pushback-cli-'));
  configPath = join(dir, 'cloud.yaml');
  await writeFile(configPath, `database:\n  dataDir: ${join(dir, 'pglite')}\n`);
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  await gatewayAdd({ configPath, id: 'gw1', site: 'plant1' });
  vi.restoreAllMocks();
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function query<T>(sql: string): Promise<T[]> {
  const db = await openDatabase(CloudConfig.parse({ database: { dataDir: join(dir, 'pglite') } }).database, silentLogger);
  try {
    return (await db.pool.query(sql)).rows as T[];
  } finally {
    await db.close();
  }
}

describe('millwright cloud gateway config / model publish / alarm ack', () => {
  it('gateway config saves the next version of the settings; a wrong one is refused with the reason', async () => {
    let io = captureOutput();
    expect(await gatewayConfig({ configPath, id: 'gw1', set: ['sync.batchSize=2000', 'sync.maxBytesPerSecond=50000'] })).toBe(0);
    expect(io.out()).toMatch(/version 1 saved/);
    io = captureOutput();
    expect(await gatewayConfig({ configPath, id: 'gw1', set: ['sync.batchSize=500'] })).toBe(0);
    expect(io.out()).toMatch(/version 2 saved/);
    io = captureOutput();
    expect(await gatewayConfig({ configPath, id: 'gw1', set: ['sources.0.url=mqtt://elsewhere'] })).toBe(1);
    expect(io.err()).toMatch(/unknown key "sources\.0\.url"/);
    io = captureOutput();
    expect(await gatewayConfig({ configPath, id: 'gw1', set: ['sync.batchSize=lots'] })).toBe(1);
    expect(io.err()).toMatch(/sync\.batchSize/);
    io = captureOutput();
    expect(await gatewayConfig({ configPath, id: 'nobody', set: ['sync.batchSize=1'] })).toBe(1);
    expect(io.err()).toMatch(/no gateway "nobody"/);
    io = captureOutput();
    expect(await gatewayConfig({ configPath, id: 'gw1', set: ['batchSize'] })).toBe(2);
    expect(io.err()).toMatch(/expected key=value/);
    expect(await query('SELECT version, settings FROM gateway_config')).toEqual([{ version: 2, settings: { 'sync.batchSize': 500 } }]);
  });

  it('model publish stores numbered versions with their hash; a missing file exits 2', async () => {
    const file = join(dir, 'rul.model');
    await writeFile(file, '{"kind":"rul","weights":[1,2,3]}');
    let io = captureOutput();
    expect(await modelPublish({ configPath, name: 'rul-pump', file })).toBe(0);
    expect(io.out()).toMatch(/version 1 \(32 bytes, sha256 [0-9a-f]{64}\) published to every site/);
    io = captureOutput();
    expect(await modelPublish({ configPath, name: 'rul-pump', file, site: 'plant1' })).toBe(0);
    expect(io.out()).toMatch(/version 2 .* published to site plant1/);
    io = captureOutput();
    expect(await modelPublish({ configPath, name: 'rul-pump', file: join(dir, 'nope') })).toBe(2);
    expect(io.err()).toMatch(/--file .*nope: ENOENT/);
    io = captureOutput();
    expect(await modelPublish({ configPath, name: 'Bad Name', file })).toBe(1);
    expect(io.err()).toMatch(/model name "Bad Name"/);
    expect(await query('SELECT name, version, site FROM models ORDER BY version')).toEqual([
      { name: 'rul-pump', version: 1, site: null },
      { name: 'rul-pump', version: 2, site: 'plant1' },
    ]);
  });

  it('alarm ack queues the acknowledgement for the gateway', async () => {
    let io = captureOutput();
    expect(await alarmAck({ configPath, gateway: 'gw1', alarm: 'c'.repeat(32), by: 'manager-mo', note: 'planned stop Friday' })).toBe(0);
    expect(io.out()).toMatch(/queued for gateway "gw1"/);
    io = captureOutput();
    expect(await alarmAck({ configPath, gateway: 'gw1', alarm: 'xyz', by: 'mo' })).toBe(2);
    expect(io.err()).toMatch(/32 hex digits/);
    expect(await query('SELECT alarm_id, by, note, delivered_at FROM alarm_acks')).toEqual([
      { alarm_id: 'c'.repeat(32), by: 'manager-mo', note: 'planned stop Friday', delivered_at: null },
    ]);
  });
});

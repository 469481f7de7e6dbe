/**
 * Issue 5 benchmark: drain a backlog of simulator readings from an edge historian into the cloud,
 * end to end (agent, sync, HTTP, ingest, TimescaleDB), beside the raw COPY rate of the same rows
 * into the same database in the same run; and the bytes on the wire per reading.
 *
 *   npm run build && node dist/bench/sync-drain.js [--readings 10000000] [--machines 100] [--batch 20000] [--sealed]
 *                                                   [--pg-url postgres://…]   (absent: embedded PGlite-TimescaleDB)
 *
 * Prints its figures; asserts nothing. The historian is filled first (not timed), with the
 * simulator's plant at 1 Hz, as an outage would leave it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { copyRows } from '../cloud/db/copy.js';
import { registerGateway } from '../cloud/db/gateways.js';
import { createTestDatabase } from '../cloud/db/testing.js';
import { startCloud } from '../cloud/service.js';
import { historianFile, startAgent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { openStore } from '../edge/store/store.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import { generateReadings } from '../simulators/generate.js';
import { buildPlant } from '../simulators/plant.js';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '10000000' },
    machines: { type: 'string', default: '100' },
    batch: { type: 'string', default: '20000' },
    'pg-url': { type: 'string' },
    sealed: { type: 'boolean', default: false },
  },
});
const total = Number(args.readings);
const batchSize = Number(args.batch);
const dir = mkdtempSync(join(tmpdir(), 'mw-bench-drain-'));
const gateway = { id: `drain-${randomBytes(4).toString('hex')}`, site: 'bench' };
const token = `mwg_${randomBytes(24).toString('base64url')}`;
const mem = () => `${Math.round(process.memoryUsage().rss / 2 ** 20)} MB RSS`;
const progress = (what: string, done: number, of: number, t0: number) =>
  process.stderr.write(`\r${what}: ${done.toLocaleString('en')} / ${of.toLocaleString('en')} (${Math.round(done / ((performance.now() - t0) / 1000)).toLocaleString('en')}/s, ${mem()})   `);

// 1. The backlog: the plant's readings at 1 Hz, committed in dense chunks (~30 steps per commit).
const plant = buildPlant({ seed: 7, machines: Number(args.machines) });
const steps = Math.ceil(total / plant.sensors.length);
const edgeCfg = EdgeConfig.parse({
  gateway,
  dataDir: join(dir, 'edge'),
  sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
  mcp: { http: { port: 0 } },
});
{
  const store = openStore({ file: historianFile(edgeCfg) });
  const t0 = performance.now();
  const startMs = Date.now() - steps * 1000;
  let chunk: { sensor: string; ts: number; value: number; quality: 'good' | 'uncertain' | 'bad'; receivedAt: number }[] = [];
  let written = 0;
  for (const readings of generateReadings(plant, { startMs, periodMs: 1000, steps })) {
    for (const r of readings) {
      if (written + chunk.length >= total) break;
      chunk.push({ sensor: r.sensor, ts: r.ts, value: r.value, quality: r.quality ?? 'good', receivedAt: r.ts + 40 });
    }
    if (chunk.length >= plant.sensors.length * 30 || written + chunk.length >= total) {
      store.readings.write(chunk);
      written += chunk.length;
      chunk = [];
      progress('filling the historian', written, total, t0);
    }
    if (written >= total) break;
  }
  store.close();
  process.stderr.write('\n');
}

// 1b. --sealed: the outage as the agent lives it, its sync unable to reach the cloud, so that the
// writer seals the backlog (edge/store/sealed.ts) before the cloud comes back. Not timed.
if (args.sealed) {
  const away = await startAgent(EdgeConfig.parse({ ...edgeCfg, sync: { url: 'http://127.0.0.1:9', token, batchSize } }), { log: silentLogger, version: 'bench' });
  const probe = new Database(historianFile(edgeCfg), { readonly: true });
  const sealedCount = () => probe.prepare<[], { n: number | null }>('SELECT sum(records) AS n FROM sealed_batches').get()!.n ?? 0;
  const s0 = performance.now();
  while (sealedCount() < total - batchSize) {
    await new Promise((r) => setTimeout(r, 1000));
    progress('sealing the backlog', sealedCount(), total, s0);
  }
  probe.close();
  await away.stop();
  process.stderr.write('\n');
}

// 2. The cloud, on a fresh database, and the agent with sync on: time to drained.
const database = await createTestDatabase({ serverUrl: args['pg-url'] });
const cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: { ...database.config, poolSize: 4 } }), { log: silentLogger });
const target = args['pg-url'] ? `PostgreSQL server ${new URL(args['pg-url']).host}` : `embedded PGlite-TimescaleDB (TimescaleDB ${cloud.db.timescale ? 'on' : 'off'})`;
await registerGateway(cloud.db.pool, { ...gateway, token });
const edge = await startAgent(EdgeConfig.parse({ ...edgeCfg, sync: { url: cloud.url, token, batchSize, intervalMs: 50 } }), { log: silentLogger, version: 'bench' });
const t0 = performance.now();
const timer = setInterval(() => progress('draining', edge.status().sync!.ackedSeq, total, t0), 2000);
const drained = await edge.sync!.drained(6 * 3600_000);
clearInterval(timer);
const drainSec = (performance.now() - t0) / 1000;
const wire = edge.sync!.status().wire;
await edge.stop();
process.stderr.write('\n');
const cloudRows = Number((await cloud.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE gateway = $1', [gateway.id])).rows[0]!.n);

// 3. The same rows, read from the same historian, COPYed into the same table under another
// gateway name: same indexes, same hypertable, same continuous-aggregate triggers.
const copyGateway = `${gateway.id}-copy`;
const historian = new Database(historianFile(edgeCfg), { readonly: true });
const rows = historian
  .prepare<[], { name: string; ts: number; value: number; quality: number; received_at: number }>(
    'SELECT s.name, r.ts, r.value, r.quality, r.received_at FROM readings r JOIN sensors s ON s.id = r.sensor_id ORDER BY r.seq',
  )
  .iterate();
const iso = (ms: number) => new Date(ms).toISOString();
function* lines(): Generator<string> {
  let buf: string[] = [];
  for (const r of rows) {
    buf.push(`${iso(r.ts)}\t${copyGateway}\t${r.name}\t${r.value}\t${r.quality}\t${iso(r.received_at)}\n`);
    if (buf.length === 2000) {
      yield buf.join('');
      buf = [];
    }
  }
  if (buf.length > 0) yield buf.join('');
}
let copySec = Number.NaN;
let copyError: string | undefined;
try {
  const c0 = performance.now();
  await copyRows(cloud.db, 'readings (time, gateway, sensor, value, quality, received_at)', lines());
  copySec = (performance.now() - c0) / 1000;
} catch (err) {
  copyError = (err as Error).message;
} finally {
  historian.close();
}
const copied = Number((await cloud.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE gateway = $1', [copyGateway])).rows[0]!.n);
await cloud.stop();
await database.cleanup();
rmSync(dir, { recursive: true, force: true });

const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');
console.log(`sync drain benchmark: ${total.toLocaleString('en')} readings, ${plant.sensors.length} sensors (${args.machines} simulated machines), batch ${batchSize}, into ${target}`);
console.log(`  end to end: ${drained ? 'drained' : 'NOT drained'} in ${drainSec.toFixed(1)} s = ${rate(cloudRows, drainSec)} readings/s (cloud holds ${cloudRows.toLocaleString('en')})`);
console.log(`  on the wire: ${(wire.bytes / wire.records).toFixed(2)} bytes per reading (${wire.bytes.toLocaleString('en')} bytes, ${wire.batches} batches, ${wire.sealed} of them sealed ahead, gzip)`);
if (copyError) console.log(`  raw COPY: failed: ${copyError}`);
else {
  console.log(`  raw COPY of the same rows into the same table: ${copySec.toFixed(1)} s = ${rate(copied, copySec)} readings/s (${copied.toLocaleString('en')} rows)`);
  console.log(`  end to end / raw COPY: ${((cloudRows / drainSec / (copied / copySec)) * 100).toFixed(0)} %`);
}
console.log(`  peak ${mem()} (this process: agent, cloud${args['pg-url'] ? '' : ', PGlite'})`);

/**
 * Walking-skeleton throughput: how fast readings go (1) from the simulator over MQTT into the
 * edge historian, one reading per message, and (2) from the historian's outbox into the cloud
 * (embedded TimescaleDB or the server in MILLWRIGHT_BENCH_PG_URL). Prints its figures; it asserts
 * nothing. Run: npm run build && node dist/bench/skeleton-throughput.js [machines] [steps]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { registerGateway } from '../cloud/db/gateways.js';
import { startCloud } from '../cloud/service.js';
import { historianFile, startAgent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { silentLogger } from '../shared/log.js';
import { startPublisher } from '../simulators/mqtt-publisher.js';

const machines = Number(process.argv[2] ?? 30);
const steps = Number(process.argv[3] ?? 200);
const pgUrl = process.env.MILLWRIGHT_BENCH_PG_URL;
const dir = mkdtempSync(join(tmpdir(), 'mw-bench-'));
// A fresh gateway id per run: a reused one would meet its old watermark and write nothing.
const gateway = { id: `bench-${randomBytes(4).toString('hex')}`, site: 'bench' };
const token = `mwg_${randomBytes(24).toString('base64url')}`;

const cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: pgUrl ? { url: pgUrl } : { dataDir: join(dir, 'pglite') } }), { log: silentLogger });
await registerGateway(cloud.db.pool, { ...gateway, token });

// Phase 1: ingest only (sync not configured), so the two figures do not share the CPU.
const edgeCfg = (withSync: boolean) =>
  EdgeConfig.parse({
    gateway,
    dataDir: join(dir, 'edge'),
    sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
    ...(withSync ? { sync: { url: cloud.url, token, batchSize: 5000, intervalMs: 100 } } : {}),
    mcp: { http: { port: 0 } },
  });
let edge = await startAgent(edgeCfg(false), { log: silentLogger, version: 'bench' });
const sim = startPublisher({ url: edge.status().sources[0]!.endpoint, seed: 1, machines, periodMs: 1000, steps, realtime: false, maxInFlight: 2000, log: silentLogger });
// Event-loop delay of this process (agent, broker and publisher share it) while ingesting:
// issue 4 asks for p99 under 20 ms at full load. Printed, not asserted.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const t0 = performance.now();
const published = await sim.done;
while (edge.status().storedReadings < published.total) await new Promise((r) => setTimeout(r, 5));
const ingestSec = (performance.now() - t0) / 1000;
loopDelay.disable();
await edge.stop();
const rollupRows = (() => {
  const db = new Database(historianFile(edgeCfg(false)), { readonly: true, fileMustExist: true });
  const n = (t: string) => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${t}`).get()!.n;
  try {
    return `${n('rollup_1m')} 1-minute, ${n('rollup_1h')} 1-hour`;
  } finally {
    db.close();
  }
})();

// Phase 2: drain the whole backlog to the cloud.
edge = await startAgent(edgeCfg(true), { log: silentLogger, version: 'bench' });
const t1 = performance.now();
const drained = await edge.sync!.drained(600_000);
const syncSec = (performance.now() - t1) / 1000;
const wire = edge.sync!.status().wire;
await edge.stop();
await cloud.stop();
rmSync(dir, { recursive: true, force: true });

const n = published.total;
console.log(`readings: ${n} (${machines} machines, ${published.sensors} sensors, ${steps} steps), one reading per MQTT message, QoS 1`);
console.log(`ingest  MQTT → edge SQLite (commit before PUBACK): ${(n / ingestSec).toFixed(0)} readings/s (${ingestSec.toFixed(2)} s)`);
const ms = (ns: number) => (ns / 1e6).toFixed(1);
console.log(`        event-loop delay during ingest: p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms; rollup rows: ${rollupRows}`);
console.log(`sync    edge outbox → cloud ${pgUrl ? 'PostgreSQL server' : 'embedded TimescaleDB'} (5000/batch): ${drained ? (n / syncSec).toFixed(0) + ' readings/s' : 'NOT DRAINED'} (${syncSec.toFixed(2)} s)`);
console.log(`        on the wire (gzip request bodies): ${(wire.bytes / Math.max(1, wire.records)).toFixed(2)} bytes per reading (${wire.bytes} bytes for ${wire.records} readings sent)`);

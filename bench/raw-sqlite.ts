/**
 * The raw limit of the edge historian: better-sqlite3 inserting the rows the agent stores, in
 * batches of one transaction each, with nothing else in the way (no MQTT, no JSON, no
 * validation). Whatever the agent reaches end to end is below this line; the gap is what the
 * rest of the pipeline costs. Prints its figures; it asserts nothing.
 *
 * Schema: the real migrations (openStoreDb on a temp file: WAL, synchronous NORMAL unless
 * `full` is given). Rows: one per sensor per 1 s step, with the explicit seq and the ON CONFLICT
 * clause of the agent's insert, in two arrival orders (see rowAt). Each order is measured
 * without and with the 1-minute and 1-hour rollup upserts (edge/store/rollups.ts) in each
 * batch's transaction, as the agent does. "CPU % of wall" well under 100 means the run waited
 * on I/O: in step order a batch dirties one index leaf per sensor, so each commit writes
 * megabytes of WAL and sets off checkpoints.
 *
 * Run: npm run bench:raw -- [readings=1000000] [batch=1000] [sensors=1000] [normal|full]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStoreDb, type SqliteDb, type Synchronous } from '../edge/store/db.js';
import { createRollupWriter, RollupBatch } from '../edge/store/rollups.js';

const total = Number(process.argv[2] ?? 1_000_000);
const batch = Number(process.argv[3] ?? 1000);
const sensors = Number(process.argv[4] ?? 1000);
const synchronous: Synchronous = process.argv[5] === 'full' ? 'full' : 'normal';
// Readings per sensor per batched payload, as bench/mqtt-ingest.ts sends by default.
const RUN = 100;
if (![total, batch, sensors].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: node dist/bench/raw-sqlite.js [readings] [batch] [sensors] [normal|full]');
  process.exit(2);
}

// Source timestamps start at the current minute, so the rows look like live data (a retention
// rule by age would keep them); one step per simulated second, so a sensor fills a 1-minute
// rollup bucket every 60 readings.
const T0 = Date.now() - (Date.now() % 60_000);
const PERIOD_MS = 1000;

interface Run {
  readingsPerS: number;
  seconds: number;
  /** This process's CPU time over the wall time: well under 100% means waiting on I/O. */
  cpuPct: number;
  rollupRows: number;
  bytesPerReading: number;
}

/**
 * The order rows arrive in, which decides both index locality and how many rollup buckets a
 * batch touches. `run` 1: every sensor's reading of step k, then of step k+1 (one reading per
 * MQTT message, OPC-UA). `run` R > 1: each sensor's R consecutive steps together (batched MQTT
 * payloads of R readings).
 */
function rowAt(i: number, run: number): { sensor: number; step: number } {
  const block = sensors * run;
  const j = i % block;
  return { sensor: Math.floor(j / run), step: Math.floor(i / block) * run + (j % run) };
}

function measure(opts: { rollups: boolean; run: number; count?: number }): Run {
  const count = opts.count ?? total;
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-raw-'));
  const file = join(dir, 'historian.sqlite');
  const db = openStoreDb(file, synchronous);
  try {
    const ids = registerSensors(db, sensors);
    const insert = db.prepare<[number, number, number, number, number, number]>(
      `INSERT INTO readings (seq, sensor_id, ts, value, quality, received_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (sensor_id, ts) DO NOTHING`,
    );
    const rollups = createRollupWriter(db);
    let rollupRows = 0;
    // One transaction per batch: rows [from, from + n). Values are cheap arithmetic, not parsed.
    const writeBatch = db.transaction((from: number, n: number) => {
      const agg = opts.rollups ? new RollupBatch() : undefined;
      const receivedAt = Date.now();
      for (let i = from; i < from + n; i++) {
        const { sensor, step } = rowAt(i, opts.run);
        const sensorId = ids[sensor]!;
        const ts = T0 + step * PERIOD_MS;
        const value = 50 + ((i * 7919) % 1000) / 100;
        insert.run(i + 1, sensorId, ts, value, 0, receivedAt);
        agg?.add(sensorId, ts, value, 0);
      }
      if (agg) rollupRows += rollups.apply(agg);
    });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let from = 0; from < count; from += batch) writeBatch(from, Math.min(batch, count - from));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuPct = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
    const stored = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM readings').get()!.n;
    if (stored !== count) throw new Error(`stored ${stored} readings, expected ${count}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { readingsPerS: count / seconds, seconds, cpuPct, rollupRows, bytesPerReading: statSync(file).size / count };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function registerSensors(db: SqliteDb, n: number): number[] {
  const add = db.prepare<[string, number]>('INSERT INTO sensors (name, first_seen) VALUES (?, ?)');
  return db.transaction(() => Array.from({ length: n }, (_, i) => Number(add.run(`bench/line-1/m${String(i).padStart(5, '0')}/value`, Date.now()).lastInsertRowid)))();
}

console.log(
  `raw SQLite: ${fmt(total)} readings per line, ${fmt(sensors)} sensors, ${fmt(batch)} rows per transaction, ` +
    `WAL, synchronous ${synchronous.toUpperCase()}, unique (sensor_id, ts) index; node ${process.version}`,
);
// A short warm-up of both paths, so the JIT does not count against the first line.
measure({ rollups: true, run: 1, count: Math.min(total, 50_000) });
for (const run of [1, RUN]) {
  const order = run === 1 ? 'step order (1 reading/sensor/step)' : `runs of ${run} per sensor (batched payloads)`;
  const plain = measure({ rollups: false, run });
  const rolled = measure({ rollups: true, run });
  const cost = (1 - rolled.readingsPerS / plain.readingsPerS) * 100;
  console.log(`${order}:`);
  console.log(`  readings only:       ${fmt(plain.readingsPerS).padStart(9)} readings/s (${plain.seconds.toFixed(2)} s, CPU ${plain.cpuPct.toFixed(0)}% of wall; ${plain.bytesPerReading.toFixed(0)} bytes/reading on disk)`);
  console.log(
    `  with rollup upserts: ${fmt(rolled.readingsPerS).padStart(9)} readings/s (${rolled.seconds.toFixed(2)} s, CPU ${rolled.cpuPct.toFixed(0)}% of wall; ` +
      `${(rolled.rollupRows / total).toFixed(3)} bucket upserts per reading, ${cost.toFixed(0)}% slower)`,
  );
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

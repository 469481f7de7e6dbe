/**
 * The peer: the same MQTT load as bench/mqtt-ingest.ts (lib/ingest-run.ts: same private broker
 * settings, topics, payloads, phases and probes) into Node-RED 4 with node-red-node-sqlite,
 * headless, flow bench/node-red/flows.json: mqtt in (QoS 1) → function (one INSERT per message,
 * all its readings) → sqlite. Prints readings/s committed (rows in its SQLite file), latency,
 * and Node-RED's CPU and RSS.
 *
 * What differs from the agent, on purpose or by nature:
 * - Node-RED's MQTT node (mqtt.js) sends the PUBACK when the message arrives, before the INSERT
 *   runs, and has no backpressure: what the broker delivers queues in Node-RED's memory. So it
 *   does not give the agent's guarantee (acknowledged means committed); its throughput here is
 *   bounded by the publisher's backlog cap, not by a broker in-flight window.
 * - Its table: sensor name as TEXT (no sensors table), no seq, no rollups; the unique
 *   (sensor, ts) index and INSERT OR IGNORE do keep QoS 1 redeliveries out, as the agent does.
 * - WAL mode (set here when the file is created) and synchronous NORMAL (or FULL, by
 *   --synchronous; set by an inject node when the flow starts), as the agent's historian.
 *
 * bench/node-red/ is a tool folder with its own package.json and lockfile, outside the project's
 * dependencies; it is installed here on first use (`npm ci --prefix bench/node-red`). sqlite3's
 * prebuilt binary comes from GitHub, which may be out of reach: it then builds from source
 * (node-gyp; needs python3, make, a C++ compiler and Node's headers, e.g. npm's nodedir).
 *
 * Run: npm run bench:node-red -- [same options as bench:mqtt]
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parseIngestArgs, runIngestModes, type Consumer, type IngestSettings } from './lib/ingest-run.js';
import { fmt, freePort, stopChild, tail, waitUntil } from './lib/proc.js';

// Compiled to dist/bench/; the tool folder stays in the source tree.
const NR_DIR = fileURLToPath(new URL('../../bench/node-red/', import.meta.url));
const RED_JS = join(NR_DIR, 'node_modules', 'node-red', 'red.js');
const SQLITE3_BINARY = join(NR_DIR, 'node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node');

const settings = parseIngestArgs(process.argv.slice(2));
ensureInstalled();
const { version } = JSON.parse(readFileSync(join(NR_DIR, 'node_modules', 'node-red', 'package.json'), 'utf8')) as { version: string };
console.log(
  `MQTT → Node-RED ${version} (mqtt in → function → node-red-node-sqlite) → SQLite, PUBACK on receipt. ` +
    `${fmt(settings.sensors)} sensors; publisher window ${fmt(settings.window)} msgs, backlog cap ${fmt(settings.backlog)} readings; ` +
    `synchronous ${settings.synchronous}; node ${process.version}`,
);
await runIngestModes(settings, startNodeRed);

function ensureInstalled(): void {
  if (existsSync(RED_JS) && existsSync(SQLITE3_BINARY)) return;
  console.log(`installing Node-RED into ${NR_DIR} (first run only; sqlite3 may build from source, a few minutes) ...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const lock = existsSync(join(NR_DIR, 'package-lock.json'));
  execFileSync(npm, [lock ? 'ci' : 'install', '--prefix', NR_DIR, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (!existsSync(SQLITE3_BINARY)) throw new Error(`npm finished but ${SQLITE3_BINARY} is missing: sqlite3 neither downloaded nor built`);
}

async function startNodeRed(brokerUrl: string, s: IngestSettings): Promise<Consumer> {
  const userDir = mkdtempSync(join(tmpdir(), 'mw-bench-node-red-'));
  const dbFile = join(userDir, 'readings.sqlite');
  createTable(dbFile);
  copyFileSync(join(NR_DIR, 'flows.json'), join(userDir, 'flows.json'));
  const port = await freePort();
  const nr = spawn(process.execPath, [RED_JS, '--settings', join(NR_DIR, 'settings.js'), '--userDir', userDir, '--port', String(port), 'flows.json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MW_BENCH_MQTT_PORT: new URL(brokerUrl).port,
      MW_BENCH_DB: dbFile,
      MW_BENCH_PRAGMA: `PRAGMA synchronous = ${s.synchronous.toUpperCase()}`,
    },
  });
  const stderr = tail(nr);
  // Node-RED logs to stdout, one line per event: "Started flows" (info) says the flow is
  // deployed; later [warn] and [error] lines (a failed INSERT, a bad payload) are kept for the check.
  let started = false;
  let partial = '';
  const problems: string[] = [];
  nr.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // Warnings before the flows start are about settings (no projects, no credential key).
      if (started && /\[(warn|error)\]/.test(line)) problems.push(line);
      if (line.includes('Started flows')) started = true;
    }
  });
  let db: Database.Database | undefined;
  const stop = async () => {
    db?.close();
    await stopChild(nr);
    rmSync(userDir, { recursive: true, force: true });
  };
  try {
    await waitUntil('Node-RED to start its flows', () => {
      if (nr.exitCode !== null) throw new Error(`Node-RED exited with ${nr.exitCode}:\n${stderr()}\n${problems.slice(-5).join('\n')}`);
      return started;
    }, 60_000);
    db = new Database(dbFile, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const maxRowid = db.prepare<[], { n: number | null }>('SELECT max(rowid) AS n FROM readings');
    const tsOf = db.prepare<[string, number], { ts: number }>('SELECT ts FROM readings WHERE sensor = ? AND ts >= ?');
    const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM readings');
    return {
      name: 'node-red',
      pid: nr.pid!,
      // max(rowid) counts rows: a rowid table without deletes, and OR IGNORE takes no rowid.
      target: { committed: () => maxRowid.get()?.n ?? 0, committedTs: (sensor, fromTs) => tsOf.all(sensor, fromTs).map((r) => r.ts) },
      stored: () => count.get()!.n,
      async check() {
        const lines = [...problems, ...stderr().split('\n').filter((l) => l.trim())];
        return `, ${problems.length} Node-RED warnings/errors${lines.length ? ` (last lines):\n${lines.slice(-5).join('\n')}` : ''}`;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Node-RED's table, created before the flow starts so no message meets a missing table. */
function createTable(file: string): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE readings (
      sensor      TEXT    NOT NULL,
      ts          INTEGER NOT NULL,
      value       REAL    NOT NULL,
      quality     INTEGER NOT NULL,
      received_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX readings_sensor_ts ON readings (sensor, ts);`);
  } finally {
    db.close();
  }
}

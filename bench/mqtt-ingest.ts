/**
 * MQTT → edge SQLite through a real broker, acknowledged after commit: a private Mosquitto (free
 * port, queues raised, see lib/proc.ts), the edge agent as a child process started by its CLI
 * with a temp config (one MQTT source on that broker, sync off), and the publisher in this
 * process (lib/mqtt-load.ts). Two payload modes: `batched` (a JSON array of --batch readings of
 * one sensor per message) and `single` (one reading per message). Prints its figures; it asserts
 * nothing beyond reporting whether every sent reading was stored.
 *
 * Per mode, on a fresh broker and historian (lib/ingest-run.ts): warm-up; a saturated phase (the
 * sustained commit rate, the agent's CPU and RSS); drain; a paced phase at --load × that rate
 * (publish-to-commit latency p50/p99 from probes, see lib/mqtt-load.ts); a check that the
 * historian holds every reading sent. The agent is seen only through its CLI, its config file,
 * its historian's `readings` and `sensors` tables (read-only connection) and GET /healthz.
 *
 * The machine has 2 cores: the agent, Mosquitto and this publisher share them, so each phase
 * prints the CPU of all three.
 *
 * Run: npm run bench:mqtt -- [--seconds 30] [--warmup 5] [--sensors 1000] [--batch 100]
 *      [--modes batched,single] [--load 0.5] [--window 1000] [--backlog 20000] [--inflight 100]
 *      [--synchronous normal|full]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parseIngestArgs, runIngestModes, TOPIC_PREFIX, type Consumer, type IngestSettings } from './lib/ingest-run.js';
import type { IngestTarget } from './lib/mqtt-load.js';
import { fmt, freePort, stopChild, tail, waitUntil } from './lib/proc.js';

const CLI = fileURLToPath(new URL('../bin/millwright.js', import.meta.url));

const settings = parseIngestArgs(process.argv.slice(2));
console.log(
  `MQTT → edge agent (CLI, child process) → SQLite, ack after commit. ${fmt(settings.sensors)} sensors; publisher window ` +
    `${fmt(settings.window)} msgs, backlog cap ${fmt(settings.backlog)} readings; historian synchronous ${settings.synchronous}; node ${process.version}`,
);
await runIngestModes(settings, startAgent);

interface Healthz {
  ok: boolean;
  deadLetters?: number;
  eventLoop?: { p50Ms: number; p99Ms: number; maxMs: number } | null;
}

async function startAgent(brokerUrl: string, s: IngestSettings): Promise<Consumer> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-mqtt-'));
  const httpPort = await freePort();
  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      'gateway: { id: bench-gw, site: bench }',
      `dataDir: ${JSON.stringify(join(dir, 'edge'))}`,
      `store: { synchronous: ${s.synchronous} }`,
      'sources:',
      '  - type: mqtt',
      '    name: bench',
      `    url: ${brokerUrl}`,
      `    subscribe: ["${TOPIC_PREFIX}#"]`,
      `    topicPrefix: ${TOPIC_PREFIX}`,
      // A batch of 10,000 readings (the payload's limit) is ~400 KB, over the 256 KiB default.
      '    maxPayloadBytes: 1048576',
      `mcp: { http: { host: 127.0.0.1, port: ${httpPort} } }`,
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  const agent = spawn(process.execPath, [CLI, 'edge', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const agentLog = tail(agent);
  const healthz = async (): Promise<Healthz | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      return res.ok ? ((await res.json()) as Healthz) : null;
    } catch {
      return null;
    }
  };
  let db: Database.Database | undefined;
  const stop = async () => {
    db?.close();
    await stopChild(agent);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('the agent\'s GET /healthz', async () => {
      if (agent.exitCode !== null) throw new Error(`the agent exited with ${agent.exitCode}:\n${agentLog()}`);
      return (await healthz()) !== null;
    }, 60_000);
    db = new Database(join(dir, 'edge', 'historian.sqlite'), { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const count = db.prepare<[], { n: number }>('SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM landing) AS n');
    return {
      name: 'agent',
      pid: agent.pid!,
      target: historianTarget(db),
      stored: () => count.get()!.n,
      async eventLoop() {
        const l = (await healthz())?.eventLoop;
        return l ? `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms` : null;
      },
      async check() {
        const h = await healthz();
        // At log level warn, anything but the start banner is worth showing.
        const log = agentLog().split('\n').filter((l) => l.trim() && !l.startsWith('millwright edge '));
        return `, ${h?.deadLetters ?? '?'} dead letters${log.length ? `; agent stderr (last lines):\n${log.slice(-5).join('\n')}` : ''}`;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The historian's schema, read-only. A committed reading is filed (`readings`, with a seq) or
 * landed and not yet filed (`landing`, edge/store/migrations/007_landing.sql): max(seq) plus the
 * landed count counts them (seqs are dense: the agent assigns them only to inserted rows, and
 * nothing is deleted during a run). Both tables' unique (sensor_id, ts) indexes answer the probes.
 */
function historianTarget(db: Database.Database): IngestTarget {
  const maxSeq = db.prepare<[], { n: number | null }>('SELECT (SELECT coalesce(max(seq), 0) FROM readings) + (SELECT count(*) FROM landing) AS n');
  const tsOf = db.prepare<[string, number, string, number], { ts: number }>(
    `SELECT r.ts FROM readings r JOIN sensors s ON s.id = r.sensor_id WHERE s.name = ? AND r.ts >= ?
     UNION ALL SELECT l.ts FROM landing l JOIN sensors s ON s.id = l.sensor_id WHERE s.name = ? AND l.ts >= ?`,
  );
  return {
    committed: () => maxSeq.get()?.n ?? 0,
    committedTs: (sensor, fromTs) => tsOf.all(sensor, fromTs, sensor, fromTs).map((r) => r.ts),
  };
}

/**
 * OPC-UA at plant scale: the edge agent monitoring every variable of the simulator's `scale-10k`
 * plant (10,006 tags, 1 Hz) and committing them to its historian. Two child processes started
 * by the CLI: `millwright sim` (OPC-UA server on a free port; its MQTT output goes to a private
 * Mosquitto that nobody reads, since the CLI always publishes) and `millwright edge` (one opcua
 * source browsing the simulator's address space, sync off). Once the agent has seen every tag
 * and has run for --warmup seconds, samples for --seconds: the agent's CPU (all threads, % of
 * one core, from /proc/<pid>/stat) and RSS, the bytes it wrote to storage (/proc/<pid>/io), the
 * simulator's CPU, and readings/s committed (the historian's filed seqs plus its landed readings,
 * read-only). Prints its figures; it asserts nothing.
 *
 * Run: npm run bench:opcua -- [--seconds 60] [--warmup 20] [--scenario scale-10k] [--machines N]
 *      [--sampling-ms 1000] [--publishing-ms 1000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { canConnect, cpuSeconds, fmt, freePort, rssMb, sleep, startMosquitto, stopChild, tail, waitUntil, watchProcess, writeBytes } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    scenario: { type: 'string', default: 'scale-10k' },
    // Overrides the scenario's plant size (types round robin), e.g. for a short smoke run.
    machines: { type: 'string' },
    'sampling-ms': { type: 'string', default: '1000' },
    'publishing-ms': { type: 'string', default: '1000' },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const samplingMs = Number(values['sampling-ms']);
const publishingMs = Number(values['publishing-ms']);
if (![seconds, warmup, samplingMs, publishingMs].every((n) => Number.isFinite(n) && n >= 0) || seconds <= 0) throw new Error('--seconds, --warmup, --sampling-ms, --publishing-ms: numbers ≥ 0');

const CLI = fileURLToPath(new URL('../bin/millwright.js', import.meta.url));
const NO_DATA_MS = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'mw-bench-opcua-'));
const broker = await startMosquitto();
const opcuaPort = await freePort();
const httpPort = await freePort();

const simArgs = ['sim', '--scenario', values.scenario, '--url', broker.url, '--opcua-port', String(opcuaPort), '--topic-prefix', 'mwbench-sim/'];
if (values.machines !== undefined) simArgs.push('--machines', values.machines);
const sim = spawn(process.execPath, [CLI, ...simArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
const simLog = tail(sim, 64 * 1024);
let agent: ReturnType<typeof spawn> | undefined;
let db: Database.Database | undefined;
try {
  const t0 = performance.now();
  await waitUntil('the simulator\'s OPC-UA server', async () => {
    if (sim.exitCode !== null) throw new Error(`the simulator exited with ${sim.exitCode}:\n${simLog()}`);
    // sim_scenario is logged once the OPC-UA server is up and publishing has begun.
    return simLog().includes('"sim_scenario"') && canConnect(opcuaPort);
  }, 120_000, 200);
  const tags = sensorCount(simLog());
  console.log(
    `OPC-UA → edge agent (CLI, child process) → SQLite. Simulator: scenario ${values.scenario}, ${fmt(tags)} tags, 1 Hz, ` +
      `OPC-UA up in ${((performance.now() - t0) / 1000).toFixed(1)} s. Agent: samplingIntervalMs ${samplingMs}, publishingIntervalMs ${publishingMs}; node ${process.version}`,
  );

  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    [
      'gateway: { id: bench-gw, site: bench }',
      `dataDir: ${JSON.stringify(join(dir, 'edge'))}`,
      'sources:',
      '  - type: opcua',
      '    name: sim',
      `    endpointUrl: opc.tcp://127.0.0.1:${opcuaPort}`,
      '    securityMode: None',
      '    securityPolicy: None',
      `    pkiDir: ${JSON.stringify(join(dir, 'pki'))}`,
      // The simulator's sensor ids are acme/plant1/<line>/<machine>/<sensor> = its NodeIds.
      '    browse: { root: "ns=1;s=acme/plant1", sensorPrefix: acme/plant1/ }',
      `    samplingIntervalMs: ${samplingMs}`,
      `    publishingIntervalMs: ${publishingMs}`,
      `mcp: { http: { host: 127.0.0.1, port: ${httpPort} } }`,
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  const a0 = performance.now();
  const edge = spawn(process.execPath, [CLI, 'edge', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  agent = edge;
  const agentLog = tail(edge);
  await waitUntil('the agent\'s GET /healthz', async () => {
    if (edge.exitCode !== null) throw new Error(`the agent exited with ${edge.exitCode}:\n${agentLog()}`);
    return (await healthz()) !== null;
  }, 60_000);
  const hist = new Database(join(dir, 'edge', 'historian.sqlite'), { readonly: true, fileMustExist: true });
  db = hist;
  hist.pragma('busy_timeout = 5000');
  // Every reading ever committed: filed ones have seqs 1..max, landed ones are not filed yet.
  const maxSeq = hist.prepare<[], { n: number | null }>('SELECT (SELECT coalesce(max(seq), 0) FROM readings) + (SELECT count(*) FROM landing) AS n');
  const sensorsSeen = hist.prepare<[], { n: number }>('SELECT count(*) AS n FROM sensors');
  const committed = () => maxSeq.get()?.n ?? 0;

  // Warm: every tag has a reading, and values have flowed for --warmup seconds since then. No
  // reading at all after NO_DATA_MS: the source cannot subscribe; say why instead of measuring.
  let firstAt: number | undefined;
  let allAt: number | undefined;
  const deadline = performance.now() + 300_000;
  for (;;) {
    const now = performance.now();
    if (firstAt === undefined && committed() > 0) firstAt = now;
    if (allAt === undefined && sensorsSeen.get()!.n >= tags) allAt = now;
    if (allAt !== undefined && now - allAt >= warmup * 1000) break;
    if (firstAt === undefined && now - a0 > NO_DATA_MS) {
      const src = (await healthz())?.sources?.[0];
      throw new Error(`no reading committed ${NO_DATA_MS / 1000} s after the agent started; its source is ${src?.state ?? '?'}: ${src?.lastError?.trim() ?? 'no error reported'}`);
    }
    if (now > deadline) {
      console.log(`  (!) not warm after 300 s: ${fmt(sensorsSeen.get()!.n)} of ${fmt(tags)} tags seen; measuring anyway`);
      break;
    }
    if (edge.exitCode !== null) throw new Error(`the agent exited with ${edge.exitCode}:\n${agentLog()}`);
    await sleep(200);
  }
  const since = (t: number | undefined) => (t === undefined ? '-' : `${((t - a0) / 1000).toFixed(1)} s`);
  console.log(`agent start → first reading committed ${since(firstAt)}, → every tag seen ${since(allAt)}; then ${warmup} s warm-up`);

  // Sampling: the whole window for the means, and every 10 s for how steady they are.
  const agentWatch = watchProcess(edge.pid!);
  const simWatch = watchProcess(sim.pid!);
  const c0 = committed();
  const w0 = writeBytes(edge.pid!);
  const s0 = performance.now();
  const slices: string[] = [];
  let sliceCpu = cpuSeconds(edge.pid!);
  let sliceCommitted = c0;
  let sliceAt = s0;
  while (performance.now() - s0 < seconds * 1000) {
    await sleep(Math.min(10_000, seconds * 1000 - (performance.now() - s0)));
    const now = performance.now();
    const cpu = cpuSeconds(edge.pid!);
    const n = committed();
    const dt = (now - sliceAt) / 1000;
    slices.push(`${(((cpu - sliceCpu) / dt) * 100).toFixed(0)}% ${fmt((n - sliceCommitted) / dt)}/s ${rssMb(edge.pid!).toFixed(0)} MB`);
    sliceCpu = cpu;
    sliceCommitted = n;
    sliceAt = now;
  }
  const wall = (performance.now() - s0) / 1000;
  const readings = committed() - c0;
  const rate = readings / wall;
  const written = writeBytes(edge.pid!) - w0;
  const agentUse = agentWatch.stop();
  const simUse = simWatch.stop();
  const health = await healthz();

  console.log(`measured ${wall.toFixed(0)} s:`);
  console.log(`  readings committed: ${fmt(rate)}/s (${((rate / tags) * 100).toFixed(1)}% of ${fmt(tags)} tags × 1 Hz)`);
  console.log(`  agent:     CPU ${agentUse.cpuPct.toFixed(1)}% of one core (all threads), RSS ${agentUse.rssEndMb.toFixed(0)} MB (peak ${agentUse.rssMaxMb.toFixed(0)} MB)`);
  console.log(`  agent storage writes: ${(written / wall / 2 ** 20).toFixed(1)} MiB/s, ${fmt(written / readings)} bytes per reading (WAL, checkpoints, main file)`);
  console.log(`  simulator: CPU ${simUse.cpuPct.toFixed(1)}% of one core, RSS ${simUse.rssEndMb.toFixed(0)} MB (serving OPC-UA and publishing to an unread broker)`);
  console.log(`  every 10 s (agent CPU, committed, RSS): ${slices.join(' | ')}`);
  const src = health?.sources?.[0];
  console.log(`  agent status: source ${src?.state ?? '?'}${src?.lastError ? ` (last error: ${src.lastError.trim()})` : ''}, ${health?.deadLetters ?? '?'} dead letters`);
} finally {
  db?.close();
  if (agent) await stopChild(agent);
  await stopChild(sim);
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}

interface Healthz {
  deadLetters?: number;
  sources?: { state: string; lastError: string | null }[];
}

async function healthz(): Promise<Healthz | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    return res.ok ? ((await res.json()) as Healthz) : null;
  } catch {
    return null;
  }
}

/** The tag count from the simulator's `sim_scenario` log line (JSON, on stderr). */
function sensorCount(log: string): number {
  for (const line of log.split('\n')) {
    if (!line.includes('"sim_scenario"')) continue;
    try {
      const n = (JSON.parse(line) as { sensors?: number }).sensors;
      if (typeof n === 'number') return n;
    } catch {
      // a partial line; keep looking
    }
  }
  throw new Error(`the simulator did not log its sim_scenario line:\n${log.slice(-2000)}`);
}

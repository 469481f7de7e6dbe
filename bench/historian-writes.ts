/**
 * What a steady plant costs the historian's storage: the agent's own writer (edge/store/
 * readings.ts on openStore's pragmas) fed `sensors` readings per simulated second, committed
 * every `commitMs` of simulated time, with the writer thread's timed PASSIVE checkpoint. Time is
 * simulated, so ten minutes of a 10,000-tag plant run in well under a minute; the figures are per
 * reading, which is what an SD card's life is counted in.
 *
 * `deferred` (the agent's writer thread): commits land in `landing` and are filed into
 * `readings` by the writer's own policy (edge/store/filing.ts), on the simulated clock. `direct`:
 * every commit goes straight into `readings` and the rollups, as before landing existed.
 *
 * Per window of simulated time it prints the bytes this process wrote to storage (/proc/self/io
 * write_bytes: WAL, checkpoints, the main file) per reading and the CPU time per reading. A
 * figure that climbs from window to window at a constant rate is the thing to look for: each
 * commit dirtying one page per sensor in every per-sensor index, as the tables grow.
 *
 * Run: npm run bench:writes -- [sensors=10000] [commitMs=200] [simSeconds=600] [windowS=60] [deferred|direct]
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILING, filingDue } from '../edge/store/filing.js';
import { openStore } from '../edge/store/store.js';
import type { Reading } from '../shared/reading.js';

const sensors = Number(process.argv[2] ?? 10_000);
const commitMs = Number(process.argv[3] ?? 200);
const simSeconds = Number(process.argv[4] ?? 600);
const windowS = Number(process.argv[5] ?? 60);
const mode = process.argv[6] ?? 'deferred';
const CHECKPOINT_MS = 5000;
if (![sensors, commitMs, simSeconds, windowS].every((n) => Number.isInteger(n) && n > 0) || !['deferred', 'direct'].includes(mode)) {
  console.error('usage: node dist/bench/historian-writes.js [sensors] [commitMs] [simSeconds] [windowS] [deferred|direct]');
  process.exit(2);
}

function writeBytes(): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!m) throw new Error('/proc/self/io has no write_bytes (Linux only)');
  return Number(m[1]);
}
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const dir = mkdtempSync(join(tmpdir(), 'mw-writes-'));
const file = join(dir, 'historian.db');
// The simulated clock, for the filing policy's "waited too long".
let simNow = 0;
const store = openStore({ file, deferFiling: mode === 'deferred', clock: () => simNow });
const names = Array.from({ length: sensors }, (_, i) => `plant/line${Math.floor(i / 100)}/m${i % 100}/s`);
const T0 = Date.now() - (Date.now() % 60_000);

console.log(`historian writes (${mode}): ${sensors} sensors at 1 Hz, a commit every ${commitMs} ms, ${simSeconds} s simulated, WAL checkpoint every ${CHECKPOINT_MS} ms`);
console.log('window (sim s) | bytes written per reading | CPU µs per reading | WAL MiB | db MiB | filings');

let wb = writeBytes();
let cpu = cpuUs();
let readingsInWindow = 0;
let lastCheckpoint = 0;
let filings = 0;
const totals = { readings: 0, bytes: 0, cpu: 0 };
// Each sensor's 1 Hz reading falls at its own phase, so a commit of commitMs carries the
// readings whose timestamps lie in it, as an OPC-UA subscription delivers them.
for (let t = 0; t < simSeconds * 1000; t += commitMs) {
  const batch: Reading[] = [];
  for (let s = 0; s < sensors; s++) {
    const phase = (s * 997) % 1000;
    for (let ts = t - (((t - phase) % 1000) + 1000) % 1000; ts < t + commitMs; ts += 1000) {
      if (ts < t) continue;
      batch.push({ sensor: names[s]!, ts: T0 + ts, value: Math.sin(ts / 60_000 + s), quality: 'good', receivedAt: T0 + ts });
    }
  }
  simNow = T0 + t + commitMs;
  store.readings.write(batch, 'bench');
  readingsInWindow += batch.length;
  const now = t + commitMs;
  // The writer thread checks after each commit and on a 100 ms timer: the last check before the
  // next commit sees the writer idle for nearly commitMs (an OPC-UA subscription's publishing
  // interval leaves it idle between bursts).
  if (mode === 'deferred' && filingDue(store.readings.landed(), simNow + commitMs - 1, simNow)) {
    // In the writer thread's parts: no commit is waiting between them here.
    while (store.readings.file(FILING.idlePartRows).more);
    filings++;
  }
  if (now - lastCheckpoint >= CHECKPOINT_MS) {
    store.db.pragma('wal_checkpoint(PASSIVE)');
    lastCheckpoint = now;
  }
  if (now % (windowS * 1000) === 0) {
    const w = writeBytes();
    const c = cpuUs();
    const wal = statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    const db = statSync(file).size;
    console.log(
      `${String(now / 1000 - windowS).padStart(5)}–${String(now / 1000).padEnd(6)} | ${((w - wb) / readingsInWindow).toFixed(0).padStart(25)} | ${((c - cpu) / readingsInWindow).toFixed(1).padStart(18)} | ${(wal / 2 ** 20).toFixed(1).padStart(7)} | ${(db / 2 ** 20).toFixed(0).padStart(6)} | ${filings}`,
    );
    totals.readings += readingsInWindow;
    totals.bytes += w - wb;
    totals.cpu += c - cpu;
    wb = w;
    cpu = c;
    readingsInWindow = 0;
    filings = 0;
  }
}
store.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  `all: ${totals.readings} readings, ${(totals.bytes / totals.readings).toFixed(0)} bytes written and ${(totals.cpu / totals.readings).toFixed(1)} µs CPU per reading; ` +
    `at ${sensors} readings/s that is ${((totals.bytes / totals.readings) * sensors / 2 ** 20).toFixed(1)} MiB/s`,
);

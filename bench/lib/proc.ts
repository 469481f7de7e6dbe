/**
 * Process plumbing shared by the benches that run the system under test as child processes: free
 * ports, a private Mosquitto, CPU and memory read from /proc (Linux only), and stopping children.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { canConnect, freePort } from '../../shared/ports.js';

export { canConnect, freePort };

export async function waitUntil(what: string, ready: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Mosquitto {
  url: string;
  pid: number;
  settings: string;
  stop(): Promise<void>;
}

/**
 * A private Mosquitto on a free port, so the machine's broker (Debian defaults:
 * max_queued_messages 1000, which drops QoS 1 messages queued beyond it) is not part of the
 * figures. Queues as in deploy/mosquitto/millwright.conf, no persistence (a bench broker
 * starts empty). `maxInflight` is how many QoS 1 messages the broker has unacknowledged towards
 * each subscriber; the shipped setting is 100.
 */
export async function startMosquitto(opts: { maxInflight?: number } = {}): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-mosquitto-'));
  const settings = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 1000000',
    'max_queued_bytes 1073741824',
    `max_inflight_messages ${opts.maxInflight ?? 100}`,
  ];
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, settings.join('\n') + '\n');
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = tail(child);
  await waitUntil('mosquitto to listen', async () => {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr()}`);
    return canConnect(port);
  }, 10_000, 50);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid!,
    settings: settings.slice(3).join(', '),
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Keeps the last few KB of a child's stderr, to show when it fails. */
export function tail(child: ChildProcess, bytes = 8192): () => string {
  let buf = '';
  child.stderr?.on('data', (d: Buffer) => {
    buf = (buf + d.toString()).slice(-bytes);
  });
  return () => buf;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process and all its threads, in seconds (/proc/<pid>/stat fields 14, 15). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; count from the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Bytes the process has caused to be written to storage (write_bytes of /proc/<pid>/io). */
export function writeBytes(pid: number): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

/** Resident set size in MB (VmRSS of /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export interface Usage {
  /** CPU time over wall time, in % of one core (can exceed 100 with threads). */
  cpuPct: number;
  rssEndMb: number;
  rssMaxMb: number;
}

/**
 * Samples a process's RSS every second (for the peak) between `start` and `stop`; CPU is the
 * difference of its CPU time over the wall time between the two.
 */
export function watchProcess(pid: number): { stop(): Usage } {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  let rssMax = rssMb(pid);
  const timer = setInterval(() => {
    try {
      rssMax = Math.max(rssMax, rssMb(pid));
    } catch {
      // the process ended; stop() will say so
    }
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      const rssEnd = rssMb(pid);
      return { cpuPct: ((cpuSeconds(pid) - cpu0) / wall) * 100, rssEndMb: rssEnd, rssMaxMb: Math.max(rssMax, rssEnd) };
    },
  };
}

/** watchProcess for this process (the bench: publisher and pollers). */
export function watchSelf(): { stop(): Usage } {
  return watchProcess(process.pid);
}

export function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

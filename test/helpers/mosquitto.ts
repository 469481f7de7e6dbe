import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from '../../shared/ports.js';

export { canConnect, freePort };

export interface MosquittoOptions {
  /**
   * Keep sessions (subscriptions, queued QoS 1 messages) on disk in the broker's private
   * directory, as the shipped config does: Mosquitto writes them when it exits on SIGTERM and
   * reads them back at start, so `pause()` then `resume()` keeps every persistent session.
   */
  persistence?: boolean;
}

export interface Mosquitto {
  url: string;
  port: number;
  /** Stops the broker (SIGTERM: it saves its sessions when persistence is on) and waits for its exit. */
  pause(): Promise<void>;
  /** Starts it again on the same port; resolves with the time (Date.now()) it accepted a TCP connection. */
  resume(): Promise<number>;
  stop(): Promise<void>;
}

/** Whether a `mosquitto` binary is on the PATH (the suite runs on embedded engines without one). */
export function hasMosquitto(): boolean {
  const r = spawnSync('mosquitto', ['-h'], { stdio: 'ignore' });
  return r.error === undefined;
}

/**
 * A private Mosquitto on a free port, with the settings millwright ships
 * (deploy/mosquitto/millwright.conf); its on-disk persistence is off unless asked for, and then
 * kept in the broker's own temporary directory. For tests that need broker settings other than
 * the machine's Debian defaults.
 */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mw-mosquitto-'));
  const shipped = readFileSync(new URL('../../deploy/mosquitto/millwright.conf', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(persistence|persistence_location|autosave_interval)\b/.test(l))
    .join('\n');
  // Started as root, Mosquitto 2 drops to the `mosquitto` user, which cannot write this private
  // directory: it then fails to save on exit ("Error saving in-memory database ... Permission
  // denied", on stderr only) and comes back with no sessions. So it stays the test's own user.
  const persistence = opts.persistence
    ? `persistence true\npersistence_location ${dir}/\nuser ${userInfo().username}\n`
    : 'persistence false\n';
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n${persistence}${shipped}\n`);

  let child: ChildProcess;
  let stderr = '';
  const launch = async (): Promise<number> => {
    child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return Date.now();
  };
  const terminate = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    // A restart that silently lost every session would pass for the agent losing messages.
    if (opts.persistence && (/Error saving/.test(stderr) || !existsSync(join(dir, 'mosquitto.db')))) {
      throw new Error(`mosquitto did not save its sessions: ${stderr}`);
    }
  };
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    pause: terminate,
    resume: launch,
    async stop() {
      try {
        await terminate();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}


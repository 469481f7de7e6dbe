import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentStatus } from '../../edge/agent.js';

/**
 * The edge agent as an operator runs it: the built CLI (`npm test` builds first) in a child
 * process, so that a test can `kill -9` it. Tests reach it only through its config file, GET
 * /healthz and its historian file, which stay the same whatever the agent does inside.
 */
const bin = fileURLToPath(new URL('../../dist/bin/millwright.js', import.meta.url));

/** GET /healthz: `{ ok: true, ...AgentStatus }` (edge/agent.ts). */
export type Healthz = { ok: boolean } & AgentStatus;

export interface EdgeProcess {
  readonly child: ChildProcess;
  /** Everything the agent wrote on stderr so far (its logs), for failure messages. */
  stderr(): string;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Writes `yaml` next to the data and returns the file name. */
export function writeConfig(dir: string, yaml: string, name = 'edge.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

export function spawnEdge(configFile: string): EdgeProcess {
  const child = spawn(process.execPath, [bin, 'edge', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    // Keep the tail only: a long run under load logs a lot.
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stderr: () => stderr,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** The agent's /healthz, or null while it is not answering (starting, killed). */
export async function healthz(url: string): Promise<Healthz | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 200) return null;
    return (await res.json()) as Healthz;
  } catch {
    return null;
  }
}

/**
 * Polls /healthz until every source says `connected`; throws with the agent's logs if it exits
 * or the time is up.
 */
export async function waitConnected(agent: EdgeProcess, healthzUrl: string, timeoutMs = 20_000): Promise<Healthz> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null) throw new Error(`edge agent exited while starting:\n${agent.stderr()}`);
    const h = await healthz(healthzUrl);
    if (h?.ok && h.sources.every((s) => s.state === 'connected')) return h;
    if (Date.now() > deadline) throw new Error(`edge agent not connected after ${timeoutMs} ms (last /healthz: ${JSON.stringify(h)}):\n${agent.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '../../../shared/reading.js';
import { generateReadings } from '../../../simulators/generate.js';
import type { OpcuaServer } from '../../../simulators/opcua/server.js';
import type { Plant } from '../../../simulators/plant.js';
import { openStore, type Store } from '../../store/store.js';
import type { Sink } from '../types.js';

/**
 * Test fixtures for the OPC-UA source's suites (imported by *.test.ts only): sinks, a publisher
 * driving the simulator, and a TCP relay whose "network" can be cut.
 */

export interface GapRow {
  start: number;
  end: number | null;
  reason: string;
}

/** A sink that keeps gaps the way the store does: at most one open per source. `commit` is async, as the store's is. */
export function recordingSink(): Sink & { committed: Reading[]; gaps: GapRow[] } {
  const committed: Reading[] = [];
  const gaps: GapRow[] = [];
  return {
    committed,
    gaps,
    async commit(_s, r) {
      committed.push(...r);
    },
    deadLetter: () => {},
    gap(_s, g) {
      if (g.end === undefined && gaps.some((x) => x.end === null)) return;
      gaps.push({ start: g.start, end: g.end ?? null, reason: g.reason });
    },
    closeGap(_s, end) {
      const open = gaps.find((x) => x.end === null);
      if (open) open.end = end;
    },
  };
}

/** The real historian in a temporary folder, with the agent's sink over it. */
export function tempStore(): { store: Store; sink: Sink; readings(sensor: string): { ts: number; value: number }[]; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mw-opcua-store-'));
  const store = openStore({ file: join(dir, 'edge.db') });
  const sink: Sink = {
    async commit(_source, readings) {
      await store.readings.write(readings);
    },
    deadLetter(source, entry) {
      store.deadLetters.add({ source, ...entry });
    },
    gap(source, g) {
      store.gaps.record(source, g);
    },
    closeGap(source, end) {
      store.gaps.close(source, end);
    },
    gapBackfilled(source, g) {
      store.gaps.backfilled(source, g.start, g);
    },
  };
  const bySensor = store.db.prepare<[string], { ts: number; value: number }>(
    'SELECT r.ts, r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id WHERE s.name = ? ORDER BY r.ts',
  );
  return {
    store,
    sink,
    readings: (sensor) => bySensor.all(sensor),
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Publishes a new step of the plant every `everyMs` (simulated time: one second a step from
 * `t0`) through `publish`, which may throw while the server is being restarted.
 */
export function publishing(plant: Plant, t0: number, publish: (step: ReturnType<typeof stepOf>) => void, first = 0, everyMs = 100) {
  let i = first;
  const published: number[] = [];
  const timer = setInterval(() => {
    const step = stepOf(plant, t0, i);
    i++;
    try {
      publish(step);
      published.push(step[0]!.ts);
    } catch {
      // the server is being restarted
    }
  }, everyMs);
  return { stop: () => clearInterval(timer), step: () => i, published };
}

export function stepOf(plant: Plant, t0: number, i: number) {
  return [...generateReadings(plant, { startMs: t0 + i * 1000, periodMs: 1000, steps: 1 })][0]!;
}

/** The current step publisher for a server that tests may replace. */
export const toServer = (server: () => OpcuaServer) => (step: ReturnType<typeof stepOf>) => server().update(step);

/**
 * A TCP relay in front of a server: `cut()` drops every connection and refuses new ones (a pulled
 * cable, as the client sees it when the switch resets), `restore()` relays again. The server
 * behind it keeps running, with its sessions and its history.
 */
export interface Relay {
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startRelay(targetUrl: string): Promise<Relay> {
  const target = new URL(targetUrl.replace(/^opc\.tcp:/, 'http:'));
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `opc.tcp://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

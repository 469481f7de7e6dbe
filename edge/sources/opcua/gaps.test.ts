import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/log.js';
import type { Reading } from '../../../shared/reading.js';
import { generateReadings } from '../../../simulators/generate.js';
import { startOpcuaServer, type OpcuaServer } from '../../../simulators/opcua/server.js';
import { buildPlant } from '../../../simulators/plant.js';
import { eventually } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import type { Sink, Source } from '../types.js';
import { OpcuaSourceConfig } from './config.js';
import { createOpcuaSource, staleAfterMsOf } from './source.js';

const plant = buildPlant({ seed: 7, machines: 1 });
const T = Date.UTC(2026, 10, 22, 8);

interface GapRow {
  start: number;
  end: number | null;
  reason: string;
}

/** A sink that keeps gaps the way the store does: at most one open per source. */
function recordingSink(): Sink & { committed: Reading[]; gaps: GapRow[] } {
  const committed: Reading[] = [];
  const gaps: GapRow[] = [];
  return {
    committed,
    gaps,
    commit: (_s, r) => void committed.push(...r),
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

/** Publishes a new step of the plant every `everyMs` until stopped. */
function publishing(server: () => OpcuaServer, first: number, everyMs = 100): { stop(): void; step: () => number } {
  let i = first;
  const timer = setInterval(() => {
    const step = [...generateReadings(plant, { startMs: T + i * 1000, periodMs: 1000, steps: 1 })][0]!;
    i++;
    try {
      server().update(step);
    } catch {
      // the server is being restarted
    }
  }, everyMs);
  return { stop: () => clearInterval(timer), step: () => i };
}

function config(endpointUrl: string, staleAfterMs: number) {
  return OpcuaSourceConfig.parse({
    type: 'opcua',
    endpointUrl,
    pkiDir: mkdtempSync(join(tmpdir(), 'mw-pki-')),
    nodes: plant.sensors.slice(0, 2).map((s) => ({ nodeId: `ns=1;s=${s.id}`, sensor: s.id })),
    samplingIntervalMs: 0,
    publishingIntervalMs: 50,
    flushMs: 20,
    staleAfterMs,
    reconnect: { baseMs: 100, capMs: 300 },
  });
}

describe('OPC-UA source marks the gaps it could not read', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('defaults the staleness limit to three publishing intervals, at least 10 s; 0 disables', () => {
    expect(staleAfterMsOf({ publishingIntervalMs: 1000, staleAfterMs: undefined })).toBe(10_000);
    expect(staleAfterMsOf({ publishingIntervalMs: 5000, staleAfterMs: undefined })).toBe(15_000);
    expect(staleAfterMsOf({ publishingIntervalMs: 1000, staleAfterMs: 0 })).toBe(0);
  });

  it('notices a connected but silent server, opens a stale gap, and closes it when values flow again', async () => {
    const server = await startOpcuaServer({ plant, port: 0, log: silentLogger, historyCapacity: 0 });
    cleanup.push(() => server.stop());
    const telemetry = createTelemetry(silentLogger);
    const sink = recordingSink();
    const source: Source = createOpcuaSource(config(server.endpointUrl, 800), { gatewayId: 'gw', telemetry });
    await source.start(sink);
    cleanup.push(() => source.stop());
    let pub = publishing(() => server, 0);
    cleanup.push(() => pub.stop());
    expect(await eventually(() => source.status().state === 'connected' && sink.committed.length > 0, 15_000)).toBe(true);
    expect(sink.gaps).toEqual([]);

    // The server stays up but nothing changes any more.
    pub.stop();
    const silentFrom = Date.now();
    expect(await eventually(() => sink.gaps.length === 1, 5000)).toBe(true);
    expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(600);
    expect(sink.gaps[0]).toMatchObject({ reason: 'stale', end: null });
    // The gap starts at the last value received: at most one publishing interval (50 ms) after
    // the server fell silent, for a value already on its way.
    expect(sink.gaps[0]!.start).toBeLessThanOrEqual(silentFrom + 200);
    expect(source.status()).toMatchObject({ state: 'offline', lastError: expect.stringMatching(/^no data for \d+ ms$/) });
    expect(telemetry.counters.gapsRecorded).toBe(1);
    // The re-created subscription resends the current values: not new data, the gap stays open.
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.gaps[0]!.end).toBeNull();
    expect(source.status().state).toBe('offline');

    const resumedFrom = Date.now();
    pub = publishing(() => server, pub.step());
    expect(await eventually(() => sink.gaps[0]!.end !== null, 10_000)).toBe(true);
    expect(sink.gaps[0]!.end!).toBeGreaterThanOrEqual(resumedFrom);
    expect(source.status()).toMatchObject({ state: 'connected', lastError: null });
    expect(sink.gaps).toHaveLength(1);
  }, 30_000);

  it('opens a connection-lost gap when the server goes away and closes it after it is back', async () => {
    let server = await startOpcuaServer({ plant, port: 0, log: silentLogger, historyCapacity: 0 });
    const url = server.endpointUrl;
    const port = Number(new URL(url.replace('opc.tcp', 'http')).port);
    cleanup.push(() => server.stop());
    const sink = recordingSink();
    // A long staleness limit: this test is about the connection, not the watchdog.
    const source = createOpcuaSource(config(url, 60_000), { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    await source.start(sink);
    cleanup.push(() => source.stop());
    const pub = publishing(() => server, 0);
    cleanup.push(() => pub.stop());
    expect(await eventually(() => source.status().state === 'connected' && sink.committed.length > 0, 15_000)).toBe(true);

    const lostFrom = Date.now();
    await server.stop();
    expect(await eventually(() => sink.gaps.length === 1, 10_000)).toBe(true);
    expect(sink.gaps[0]).toMatchObject({ reason: 'connection lost', end: null });
    expect(sink.gaps[0]!.start).toBeLessThanOrEqual(lostFrom + 200); // a value already on its way may land as the server stops

    server = await startOpcuaServer({ plant, port, log: silentLogger, historyCapacity: 0 });
    const backFrom = Date.now();
    expect(await eventually(() => sink.gaps[0]!.end !== null, 20_000)).toBe(true);
    expect(sink.gaps[0]!.end!).toBeGreaterThanOrEqual(backFrom);
    expect(source.status().state).toBe('connected');
    expect(sink.gaps).toHaveLength(1);
  }, 30_000);
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/log.js';
import { startOpcuaServer, type OpcuaServer } from '../../../simulators/opcua/server.js';
import { buildPlant } from '../../../simulators/plant.js';
import { eventually } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import type { Source } from '../types.js';
import { OpcuaSourceConfig } from './config.js';
import { createOpcuaSource, staleAfterMsOf } from './source.js';
import { publishing as publishSteps, recordingSink, tempStore, toServer } from './testing.js';

const plant = buildPlant({ seed: 7, machines: 1 });
const T = Date.UTC(2026, 10, 22, 8);

/** Publishes a new step of the plant every `everyMs` until stopped. */
const publishing = (server: () => OpcuaServer, first: number, everyMs = 100) => publishSteps(plant, T, toServer(server), first, everyMs);

/** `reconnect` null: the configured default. */
function config(endpointUrl: string, staleAfterMs: number, reconnect: { baseMs: number; capMs: number } | null = { baseMs: 100, capMs: 300 }) {
  return OpcuaSourceConfig.parse({
    type: 'opcua',
    endpointUrl,
    pkiDir: mkdtempSync(join(tmpdir(), 'mw-pki-')),
    nodes: plant.sensors.slice(0, 2).map((s) => ({ nodeId: `ns=1;s=${s.id}`, sensor: s.id })),
    samplingIntervalMs: 0,
    publishingIntervalMs: 50,
    flushMs: 20,
    staleAfterMs,
    ...(reconnect ? { reconnect } : {}),
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

  it('OPC-UA server restart: with the default backoff, a new value is committed within 5 s of the server accepting connections', async () => {
    let server = await startOpcuaServer({ plant, port: 0, log: silentLogger, historyCapacity: 0 });
    const port = Number(new URL(server.endpointUrl.replace('opc.tcp', 'http')).port);
    cleanup.push(() => server.stop());
    const db = tempStore();
    cleanup.push(() => db.close());
    // The configured default backoff (no `reconnect`): what a plant gets without tuning.
    const cfg = config(server.endpointUrl, 60_000, null);
    expect(cfg.reconnect).toEqual({ baseMs: 500, capMs: 2000 });
    const source = createOpcuaSource(cfg, { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    await source.start(db.sink);
    cleanup.push(() => source.stop());
    const sensor = plant.sensors[0]!.id;
    const pub = publishing(() => server, 0);
    cleanup.push(() => pub.stop());
    expect(await eventually(() => source.status().state === 'connected' && db.readings(sensor).length > 0, 15_000)).toBe(true);

    await server.stop();
    expect(await eventually(() => db.store.gaps.list({ source: 'opcua' }).length === 1, 10_000)).toBe(true);
    // Down long enough for the retry delay to sit at its cap (2 s): without the cap the next try
    // would come 4 to 8 s after the previous one, past the 5 s this test allows.
    await new Promise((r) => setTimeout(r, 8000));
    server = await startOpcuaServer({ plant, port, log: silentLogger, historyCapacity: 0 });
    const backAt = Date.now();
    const firstNewTs = pub.published.length > 0 ? T + pub.step() * 1000 : T; // the next step goes to the new server
    expect(await eventually(() => db.readings(sensor).some((r) => r.ts >= firstNewTs), 10_000, 20)).toBe(true);
    const elapsed = Date.now() - backAt;
    expect(elapsed, 'ms from the server accepting connections to the first new value committed').toBeLessThanOrEqual(5000);
    expect(source.status().state).toBe('connected');
    expect(db.store.gaps.list({ source: 'opcua' })).toEqual([expect.objectContaining({ reason: 'connection lost', endMs: expect.any(Number) })]);
  }, 60_000);
});

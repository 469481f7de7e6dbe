import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../shared/reading.js';
import { silentLogger } from '../../../shared/log.js';
import { generateReadings } from '../../../simulators/generate.js';
import { startOpcuaServer, type OpcuaServer } from '../../../simulators/opcua/server.js';
import { buildPlant } from '../../../simulators/plant.js';
import { eventually } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import type { Sink } from '../types.js';
import { OpcuaSourceConfig } from './config.js';
import { createOpcuaSource } from './source.js';

const plant = buildPlant({ seed: 5, machines: 2 });
const T = Date.UTC(2026, 10, 22, 8);

describe('OPC-UA source against the simulator\'s OPC-UA server', () => {
  let server: OpcuaServer;
  beforeAll(async () => {
    // Like a PLC that takes few operations per call: the source must browse and create its items in slices.
    server = await startOpcuaServer({
      plant,
      port: 0,
      log: silentLogger,
      historyCapacity: 0,
      operationLimits: { maxMonitoredItemsPerCall: 4, maxNodesPerBrowse: 3 },
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('starts at once while the server is down, then connects when it comes up', async () => {
    const committed: Reading[] = [];
    const sink: Sink = { commit: async (_s, r) => void committed.push(...r), deadLetter: () => {} };
    const late = await startOpcuaServer({ plant, port: 0, log: silentLogger, historyCapacity: 0 });
    const url = late.endpointUrl;
    const port = Number(new URL(url.replace('opc.tcp', 'http')).port);
    await late.stop();
    const cfg = OpcuaSourceConfig.parse({
      type: 'opcua',
      endpointUrl: url,
      pkiDir: mkdtempSync(join(tmpdir(), 'mw-pki-')),
      nodes: [{ nodeId: `ns=1;s=${plant.sensors[0]!.id}`, sensor: plant.sensors[0]!.id }],
      samplingIntervalMs: 0,
      publishingIntervalMs: 50,
      reconnect: { baseMs: 100, capMs: 500 },
    });
    const source = createOpcuaSource(cfg, { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    const started = Date.now();
    await source.start(sink);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(source.status().state).not.toBe('connected');
    const again = await startOpcuaServer({ plant, port, log: silentLogger, historyCapacity: 0 });
    try {
      expect(await eventually(() => source.status().state === 'connected', 30_000)).toBe(true);
      const step = [...generateReadings(plant, { startMs: T, periodMs: 1000, steps: 1 })][0]!;
      again.update(step);
      expect(await eventually(() => committed.some((c) => c.ts === T), 10_000)).toBe(true);
    } finally {
      await source.stop();
      await again.stop();
    }
  });

  it('discovers the plant by browsing and stores every value with its source time and quality', async () => {
    const committed: Reading[] = [];
    const sink: Sink = { commit: async (_s, r) => void committed.push(...r), deadLetter: () => {} };
    const cfg = OpcuaSourceConfig.parse({
      type: 'opcua',
      endpointUrl: server.endpointUrl,
      pkiDir: mkdtempSync(join(tmpdir(), 'mw-pki-')),
      browse: { root: 'ns=1;s=acme/plant1', sensorPrefix: 'acme/plant1/' },
      samplingIntervalMs: 0,
      publishingIntervalMs: 50,
      queueSize: 100,
      flushMs: 20,
    });
    const source = createOpcuaSource(cfg, { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    await source.start(sink);
    try {
      expect(await eventually(() => source.status().state === 'connected', 20_000)).toBe(true);
      const steps = [...generateReadings(plant, { startMs: T, periodMs: 1000, steps: 5 })];
      for (const [i, step] of steps.entries()) {
        // The last step loses one sensor (a dropout) and marks another bad.
        const readings = i === 4 ? step.slice(1).map((r, j) => (j === 0 ? { ...r, quality: 'bad' as const } : r)) : step;
        server.update(readings, i === 4 ? [step[0]!.sensor] : []);
        await new Promise((r) => setTimeout(r, 200));
      }
      const last = steps[4]!;
      expect(await eventually(() => last.slice(1).every((r) => committed.some((c) => c.sensor === r.sensor && c.ts === r.ts)), 10_000)).toBe(true);

      // Every sensor of the plant was found under its own id (more than the server takes per call).
      expect(plant.sensors.length).toBeGreaterThan(4);
      expect(new Set(committed.map((c) => c.sensor))).toEqual(new Set(plant.sensors.map((s) => s.id)));
      // Values and source timestamps arrive as the server published them.
      for (const step of steps.slice(0, 4)) {
        for (const r of step) expect(committed).toContainEqual(expect.objectContaining({ sensor: r.sensor, ts: r.ts, value: r.value, quality: 'good' }));
      }
      expect(committed).toContainEqual(expect.objectContaining({ sensor: last[1]!.sensor, ts: last[1]!.ts, quality: 'bad' }));
      // The dropout sensor reports BadNoCommunication: stored as bad, never as good data.
      const dropped = committed.filter((c) => c.sensor === last[0]!.sensor && c.ts >= last[0]!.ts);
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.every((c) => c.quality === 'bad')).toBe(true);
    } finally {
      await source.stop();
    }
  });
});

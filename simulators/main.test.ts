import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../shared/log.js';
import { createSimulation } from './generate.js';
import { readGroundTruth } from './ground-truth.js';
import { runSim, runSimExport, scenarioTable, summaryLine } from './main.js';
import { buildPlant } from './plant.js';
import { listScenarios, loadScenario } from './scenario.js';
import { startTestBroker, type TestBroker } from './testing/broker.js';

describe('runSim', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.close());

  it('runs the given steps with CLI-style (string) numbers and leaves no signal handlers behind', async () => {
    const before = process.listenerCount('SIGINT');
    const summary = await runSim(
      { url: broker.url, seed: '4', machines: '2', periodMs: 1000, steps: 3, realtime: false },
      { log: silentLogger },
    );
    const sensors = buildPlant({ seed: 4, machines: 2 }).sensors.length;
    expect(summary?.ended).toBe('completed');
    expect(summary?.total).toBe(3 * sensors);
    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(summaryLine(summary!)).toMatch(new RegExp(`^sim completed: ${3 * sensors} readings from ${sensors} sensors over 3 steps`));
  });

  it('plays a scenario with its faults, and writes its ground truth', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-sim-')), 'truth.json');
    const startMs = Date.UTC(2025, 0, 6);
    const summary = await runSim(
      { url: broker.url, scenario: 'faulty-line', steps: 720, realtime: false, startMs, mode: 'json-batch', groundTruthOut: file },
      { log: silentLogger },
    );
    // What the scenario produces over that hour: fewer readings than steps × sensors (dropouts).
    const sim = createSimulation(loadScenario('faulty-line'), { startMs, steps: 720, recordTruth: true });
    let readings = 0;
    for (const step of sim.steps) readings += step.readings.length;
    expect(summary?.ended).toBe('completed');
    expect(summary?.total).toBe(readings);
    expect(readings).toBeLessThan(720 * sim.plant.sensors.length);
    expect(readGroundTruth(file)).toEqual(sim.groundTruth.snapshot());
  });

  it('lists the bundled scenarios', async () => {
    const lines: string[] = [];
    expect(await runSim({ list: true }, { print: (l) => lines.push(l) })).toBeUndefined();
    expect(lines[0]).toMatch(/^scenario\s+tags\s+period\s+description$/);
    for (const s of listScenarios()) expect(lines.some((l) => l.startsWith(s.name) && l.includes(String(s.tags)))).toBe(true);
    expect(scenarioTable([])).toEqual(['no bundled scenarios found']);
  });

  it('names the option that is wrong', async () => {
    await expect(runSim({ url: broker.url, machines: 0 })).rejects.toThrow(/machines/);
    await expect(runSim({ url: broker.url, colour: 'red' } as never)).rejects.toThrow(/colour/);
    await expect(runSim({ scenario: 'small-plant' })).rejects.toThrow(/MQTT broker URL is required[\s\S]*url/);
    await expect(runSim({ url: broker.url, speed: '-3' })).rejects.toThrow(/speed/);
    await expect(runSim({ url: broker.url, scenario: 'no-such', steps: 1 }, { log: silentLogger })).rejects.toThrow(/no such scenario/);
  });
});

describe('runSimExport', () => {
  it('exports a scenario with CLI-style options and reports progress', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mw-simexport-')), 'out');
    const seen: number[] = [];
    const summary = await runSimExport({ scenario: 'small-plant', days: '0.05', out, lookaheadDays: 0 }, { onProgress: (f) => seen.push(f) });
    expect(summary.steps).toBe(Math.floor(0.05 * 86_400));
    expect(seen.at(-1)).toBe(1);
    await expect(runSimExport({ scenario: 'small-plant', days: 0, out })).rejects.toThrow(/days/);
  });
});

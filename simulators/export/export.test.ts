import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VALUE_FAULT_KINDS } from '../faults/config.js';
import { createSimulation } from '../generate.js';
import { readGroundTruth, type GroundTruth } from '../ground-truth.js';
import { loadScenario } from '../scenario.js';
import { DEFAULT_EXPORT_START_MS, exportScenario, type ExportSummary } from './export.js';
import { formatNabLabelTime, formatNabTime, nabKey } from './nab.js';

const START = DEFAULT_EXPORT_START_MS;
const NAB_TIME = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/;
const parseNabTime = (t: string): number => {
  const m = NAB_TIME.exec(t);
  if (!m) throw new Error(`not a NAB timestamp: ${t}`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
};
const parseLabelTime = (t: string): number => parseNabTime(t.replace(/\.000000$/, ''));

describe('NAB timestamps', () => {
  it('formats like NAB: data in whole seconds, labels with microseconds', () => {
    expect(formatNabTime(Date.UTC(2025, 0, 6, 7, 5, 9))).toBe('2025-01-06 07:05:09');
    expect(formatNabTime(Date.UTC(2025, 0, 6, 7, 5, 9, 500))).toBe('2025-01-06 07:05:09.500');
    expect(formatNabLabelTime(Date.UTC(2025, 0, 6, 7, 5, 9))).toBe('2025-01-06 07:05:09.000000');
  });
});

describe('exportScenario: faulty-line, one day', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'mw-export-')), 'faulty');
  const scenario = loadScenario('faulty-line');
  let summary: ExportSummary;
  let gt: GroundTruth;
  const progress: number[] = [];

  beforeAll(async () => {
    summary = await exportScenario({ scenario, days: 1, outDir: out, lookaheadDays: 0, onProgress: (f) => progress.push(f) });
    gt = readGroundTruth(join(out, 'ground-truth.json'));
  });

  it('reports progress from 0 to 1 and says what it wrote', () => {
    expect(progress.length).toBeGreaterThan(10);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(1);
    expect(summary).toMatchObject({ scenario: 'faulty-line', steps: 17_280, startMs: START, endMs: START + 86_400_000 - 5000 });
    expect(JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'))).toMatchObject({ complete: true, steps: 17_280 });
  });

  it('writes the ground truth the simulation recorded', () => {
    const sim = createSimulation(scenario, { startMs: START, steps: 17_280, recordTruth: true });
    for (const _ of sim.steps);
    expect(gt).toEqual(sim.groundTruth.snapshot());
    expect(summary.groundTruth.anomalies).toBe(gt.anomalies.length);
  });

  it('writes one NAB file per sensor, holding exactly the good readings at their true time', () => {
    const sim = createSimulation(scenario, { startMs: START, steps: 17_280 });
    const machineOf = new Map(sim.plant.machines.flatMap((m) => m.sensors.map((s) => [s.id, { machine: m.name, sensor: s.name }] as const)));
    // What each file should hold, as a running hash (the readings are not kept).
    const expected = new Map([...machineOf.keys()].map((id) => [id, createHash('sha256').update('timestamp,value\n')]));
    for (const step of sim.steps) {
      for (const r of step.readings) if (r.quality !== 'bad') expected.get(r.sensor)!.update(`${formatNabTime(step.ts)},${r.value}\n`);
    }
    const groups = readdirSync(join(out, 'data')).sort();
    expect(groups).toEqual(sim.plant.machines.map((m) => m.name).sort());
    let files = 0;
    for (const [id, { machine, sensor }] of machineOf) {
      const text = readFileSync(join(out, 'data', machine, `${sensor}.csv`), 'utf8');
      expect(createHash('sha256').update(text).digest('hex'), id).toBe(expected.get(id)!.digest('hex'));
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toBe('timestamp,value');
      // Rows in time order on the step grid, within the run, each a number.
      let prev = -Infinity;
      for (const line of lines.slice(1)) {
        const [t, v] = line.split(',');
        const ts = parseNabTime(t!);
        if (!(ts > prev && (ts - START) % 5000 === 0 && ts <= summary.endMs && Number.isFinite(Number(v)))) expect.fail(`${id}: bad row ${line}`);
        prev = ts;
      }
      files++;
    }
    expect(files).toBe(summary.nab.files);
  });

  it('labels every observable value fault, and only those, in NAB\'s combined_windows.json, aligned with the data', () => {
    const labels = JSON.parse(readFileSync(join(out, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
    const sim = createSimulation(scenario, { startMs: START, steps: 1 });
    const keyOf = new Map(sim.plant.machines.flatMap((m) => m.sensors.map((s) => [s.id, nabKey(m.name, s.name)] as const)));
    expect(Object.keys(labels).sort()).toEqual([...keyOf.values()].sort());
    const fromTruth: Record<string, [string, string][]> = Object.fromEntries([...keyOf.values()].map((k) => [k, []]));
    for (const w of gt.anomalies) {
      if (w.observable && VALUE_FAULT_KINDS.includes(w.kind)) fromTruth[keyOf.get(w.sensor)!]!.push([formatNabLabelTime(w.start), formatNabLabelTime(w.end)]);
    }
    for (const k of Object.keys(fromTruth)) fromTruth[k]!.sort((a, b) => a[0].localeCompare(b[0]));
    expect(labels).toEqual(fromTruth);
    expect(summary.nab.windows).toBe(gt.anomalies.filter((w) => w.observable && VALUE_FAULT_KINDS.includes(w.kind)).length);

    // What the files show inside the windows: stuck rows constant, dropouts empty, windows in range.
    const cache = new Map<string, (readonly [number, number])[]>();
    const rowsOf = (key: string) => {
      let rows = cache.get(key);
      if (!rows) {
        rows = readFileSync(join(out, 'data', key), 'utf8').trimEnd().split('\n').slice(1).map((l) => {
          const [t, v] = l.split(',');
          return [parseNabTime(t!), Number(v)] as const;
        });
        cache.set(key, rows);
      }
      return rows;
    };
    const kinds = new Set<string>();
    for (const w of gt.anomalies) {
      const rows = rowsOf(keyOf.get(w.sensor)!);
      const inside = rows.filter(([ts]) => ts >= w.start && ts <= w.end);
      expect(w.start).toBeGreaterThanOrEqual(rows[0]![0] - 15 * 60_000); // a dropout may open the file
      expect(w.end).toBeLessThanOrEqual(summary.endMs);
      if (w.kind === 'dropout') expect(inside, `dropout on ${w.sensor}`).toEqual([]);
      if (w.kind === 'stuck') expect(new Set(inside.map(([, v]) => v)).size, `stuck on ${w.sensor}`).toBeLessThanOrEqual(1);
      if (w.kind === 'intermittent_bad_quality') expect(inside.length).toBeLessThanOrEqual((w.end - w.start) / 5000 + 1);
      kinds.add(w.kind);
    }
    for (const [key, windows] of Object.entries(labels)) {
      for (const [s, e] of windows) {
        expect(parseLabelTime(s)).toBeGreaterThanOrEqual(START);
        expect(parseLabelTime(e)).toBeLessThanOrEqual(summary.endMs);
        expect(parseLabelTime(s)).toBeLessThanOrEqual(parseLabelTime(e));
        expect(key).toMatch(/^[a-z]+-\d+\/[a-z_]+\.csv$/);
      }
    }
    expect(kinds.size).toBe(7);
  });

  it('labels only windows a detector could see: each differs from the clean run somewhere inside it', () => {
    const labels = JSON.parse(readFileSync(join(out, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
    // The clean run's values inside the labelled windows, by NAB key and timestamp.
    const clean = createSimulation({ ...scenario, faults: undefined }, { startMs: START, steps: 17_280 });
    const keyOf = new Map(clean.plant.machines.flatMap((m) => m.sensors.map((s) => [s.id, nabKey(m.name, s.name)] as const)));
    const windows = Object.entries(labels).flatMap(([key, ws]) => ws.map(([s, e]) => ({ key, start: parseLabelTime(s), end: parseLabelTime(e) })));
    const windowsOf = new Map<string, typeof windows>();
    for (const w of windows) windowsOf.set(w.key, [...(windowsOf.get(w.key) ?? []), w]);
    const cleanAt = new Map<string, number>();
    for (const step of clean.steps) {
      for (const r of step.readings) {
        const key = keyOf.get(r.sensor)!;
        if (windowsOf.get(key)?.some((w) => step.ts >= w.start && step.ts <= w.end)) cleanAt.set(`${key} ${step.ts}`, r.value);
      }
    }
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.length).toBe(summary.nab.windows);
    const rowsByKey = new Map<string, (readonly [number, number])[]>();
    for (const w of windows) {
      let rows = rowsByKey.get(w.key);
      if (!rows) {
        const lines = readFileSync(join(out, 'data', w.key), 'utf8').trimEnd().split('\n').slice(1);
        rowsByKey.set(w.key, (rows = lines.map((l) => l.split(',')).map(([t, v]) => [parseNabTime(t!), Number(v)] as const)));
      }
      const inside = rows.filter(([ts]) => ts >= w.start && ts <= w.end);
      const differs = inside.some(([ts, v]) => cleanAt.get(`${w.key} ${ts}`) !== v);
      expect(differs, `${w.key} ${new Date(w.start).toISOString()}..${new Date(w.end).toISOString()}`).toBe(true);
    }
    // And the review's case is real: some stuck windows change nothing, and are kept apart.
    expect(gt.anomalies.some((w) => !w.observable)).toBe(true);
  });

  it('refuses a directory that holds something else, and redoes an earlier export in place', async () => {
    const foreign = mkdtempSync(join(tmpdir(), 'mw-foreign-'));
    writeFileSync(join(foreign, 'thesis.tex'), 'precious');
    await expect(exportScenario({ scenario, days: 0.01, outDir: foreign })).rejects.toThrow(/not empty and holds no earlier export/);
    expect(readFileSync(join(foreign, 'thesis.tex'), 'utf8')).toBe('precious');

    const again = join(mkdtempSync(join(tmpdir(), 'mw-again-')), 'x');
    await exportScenario({ scenario, days: 0.02, outDir: again, lookaheadDays: 0 });
    mkdirSync(join(again, 'data', 'stale-machine'));
    const second = await exportScenario({ scenario, days: 0.01, outDir: again, lookaheadDays: 0 });
    expect(readdirSync(join(again, 'data'))).not.toContain('stale-machine');
    expect(second.steps).toBe(Math.floor(0.01 * 86_400_000 / 5000));
  });
});

describe('exportScenario: run-to-failure, C-MAPSS tables', () => {
  it('writes each machine life that ended in a failure as a unit whose RUL counts down to 0', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mw-cmapss-')), 'rul');
    const scenario = loadScenario('run-to-failure');
    const summary = await exportScenario({ scenario, days: 45, outDir: out });
    const gt = readGroundTruth(join(out, 'ground-truth.json'));
    const failures = Object.values(gt.assets).reduce((n, a) => n + a.failures.length, 0);
    expect(failures).toBeGreaterThan(0);
    const dir = join(out, 'cmapss');
    const types = [...new Set(Object.values(gt.assets).map((a) => a.type))];
    let trainUnits = 0;
    let testUnits = 0;
    for (const type of types) {
      const columns = readFileSync(join(dir, `columns_${type}.txt`), 'utf8').trim().split(' ');
      expect(columns.slice(0, 5)).toEqual(['unit', 'cycle', 'load', 'speed', 'ambient']);
      const table = (name: string) =>
        readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).map((l) => {
          const cells = l.split(' ').map(Number);
          expect(cells, `${name}: ${l}`).toHaveLength(columns.length);
          expect(cells.every(Number.isFinite), `${name}: ${l}`).toBe(true);
          return cells;
        });
      const train = table(`train_${type}.txt`);
      const rul = readFileSync(join(dir, `train_${type}_rul.txt`), 'utf8').split('\n').filter(Boolean).map(Number);
      expect(rul).toHaveLength(train.length);
      // Units 1, 2, 3 ... each with cycles 1..n, and its RUL n-1 ... 0.
      let unit = 0;
      let cycle = 0;
      train.forEach(([u, c], i) => {
        if (u !== unit) {
          expect(u).toBe(unit + 1);
          if (unit > 0) expect(rul[i - 1]).toBe(0);
          unit = u!;
          cycle = 0;
          expect(rul[i]).toBeGreaterThan(0);
        }
        expect(c).toBe(++cycle);
        if (i > 0 && train[i - 1]![0] === u) expect(rul[i]).toBe(rul[i - 1]! - 1);
      });
      if (train.length > 0) expect(rul.at(-1)).toBe(0);
      trainUnits += unit;

      const test = table(`test_${type}.txt`);
      const truth = readFileSync(join(dir, `RUL_${type}.txt`), 'utf8').split('\n').filter(Boolean).map(Number);
      const testIds = [...new Set(test.map(([u]) => u))];
      expect(testIds).toEqual(truth.map((_, i) => i + 1));
      expect(truth.every((r) => Number.isInteger(r) && r >= 0)).toBe(true);
      testUnits += testIds.length;
    }
    expect(trainUnits).toBe(summary.cmapss.trainUnits);
    expect(testUnits).toBe(summary.cmapss.testUnits);
    expect(trainUnits).toBeGreaterThan(0);
    // A train unit ends in a failure; the first life of a machine may have started before the run.
    expect(trainUnits).toBeLessThanOrEqual(failures);
  });
});

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScheduledFault } from './faults/schedule.js';
import type { SimStep, StepEvent } from './generate.js';
import { createGroundTruthRecorder, GroundTruth, readGroundTruth, writeGroundTruth } from './ground-truth.js';
import type { MachineTruth } from './machines/index.js';
import { buildPlant } from './plant.js';

const START = Date.UTC(2025, 0, 6);
const MIN = 60_000;
const HOUR = 60 * MIN;
const plant = buildPlant({ seed: 1, machines: 2 });
const [m0, m1] = plant.machines;

function step(index: number, opts: { truth?: (MachineTruth | undefined)[]; events?: StepEvent[] } = {}): SimStep {
  return { index, ts: START + index * 10 * MIN, readings: [], truth: opts.truth ?? [], events: opts.events ?? [] };
}

function sensorFault(kind: ScheduledFault['kind'], startStep: number, steps: number): ScheduledFault {
  return {
    kind, scope: 'sensor', target: plant.sensors[0]!.id, firstSensor: 0, sensorCount: 1, startStep, steps,
    start: START + startStep * 10 * MIN, end: START + (startStep + steps - 1) * 10 * MIN, magnitude: 0.1, seed: 1,
  };
}

describe('ground truth', () => {
  it('keeps fault windows, model events and hourly truth, and clips windows still open at the last step', () => {
    const gt = createGroundTruthRecorder({ scenario: 'unit', seed: 9, plant, startMs: START, periodMs: 10 * MIN });
    gt.recordFault(sensorFault('stuck', 1, 3));
    gt.recordFault({ ...sensorFault('clock_jump', 2, 2), scope: 'machine', target: m1!.path, magnitude: -30_000 });
    const drift = sensorFault('drift', 10, 100); // runs past the end
    gt.recordFault(drift);
    gt.recordObserved(drift); // the stuck one never changed a reading
    const failureTs = START + 75 * MIN; // between two steps: events carry their true time
    for (let i = 0; i < 15; i++) {
      const events: StepEvent[] = [];
      if (i === 8) events.push({ machine: 0, kind: 'failure', ts: failureTs, detail: 'bearing seized', mode: 'bearing_wear' });
      if (i === 12) events.push({ machine: 0, kind: 'repair_end', ts: START + 120 * MIN, detail: 'replaced bearing' });
      gt.recordStep(step(i, { truth: [{ wear: i / 10, rulHours: 2 - i / 10, load: 0.5 }, undefined], events }));
    }
    const snap = gt.snapshot();
    expect(GroundTruth.parse(snap)).toEqual(snap);
    expect(snap).toMatchObject({ scenario: 'unit', seed: 9, steps: 15, startMs: START, endMs: START + 140 * MIN, truthEveryMs: HOUR });
    expect(snap.anomalies).toEqual([
      { sensor: plant.sensors[0]!.id, kind: 'stuck', start: START + 10 * MIN, end: START + 30 * MIN, magnitude: 0.1, observable: false },
      { sensor: plant.sensors[0]!.id, kind: 'drift', start: START + 100 * MIN, end: START + 140 * MIN, magnitude: 0.1, observable: true },
    ]);
    expect(snap.clockJumps).toEqual([{ scope: 'machine', target: m1!.path, start: START + 20 * MIN, end: START + 30 * MIN, offsetMs: -30_000 }]);
    const a0 = snap.assets[m0!.path]!;
    expect(a0.failures).toEqual([failureTs]);
    expect(a0.events.map((e) => e.kind)).toEqual(['failure', 'repair_end']);
    expect(a0.events[0]).toEqual({ kind: 'failure', ts: failureTs, detail: 'bearing seized', mode: 'bearing_wear' });
    // One sample an hour (steps 0, 6, 12); hours to the failure where one followed.
    expect(a0.truth).toEqual([
      [START, 0, 2, 1.25],
      [START + HOUR, 0.6, 1.4, 0.25],
      [START + 2 * HOUR, 1.2, 0.8, null],
    ]);
    expect(snap.assets[m1!.path]).toEqual({ type: m1!.type, failures: [], events: [], truth: [] });
  });

  it('writes JSON that reads back to the same ground truth, one window a line', () => {
    const gt = createGroundTruthRecorder({ scenario: 'unit', seed: 9, plant, startMs: START, periodMs: 10 * MIN });
    gt.recordFault(sensorFault('spike', 0, 1));
    gt.recordFault(sensorFault('dropout', 3, 2));
    for (let i = 0; i < 6; i++) gt.recordStep(step(i, { truth: [{ wear: 0.1 }, { wear: 0.2, rulHours: 100 }] }));
    const file = join(mkdtempSync(join(tmpdir(), 'mw-gt-')), 'ground-truth.json');
    writeGroundTruth(file, gt.snapshot());
    expect(readGroundTruth(file)).toEqual(gt.snapshot());
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n').filter((l) => l.includes('"kind":"spike"'))).toHaveLength(1);

    const empty = createGroundTruthRecorder({ scenario: 'none', seed: 1, plant, startMs: START, periodMs: 1000 });
    writeGroundTruth(file, empty.snapshot());
    expect(readGroundTruth(file)).toMatchObject({ steps: 0, endMs: null, anomalies: [] });
  });
});

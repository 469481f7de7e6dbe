import { describe, expect, it } from 'vitest';
import { generateReadings, type SimReading } from '../generate.js';
import { buildPlant, type Plant } from '../plant.js';
import { createFaultLayer } from './apply.js';
import type { FaultKind } from './config.js';
import type { FaultSchedule, ScheduledFault } from './schedule.js';

const START = Date.UTC(2025, 0, 6, 12);
const PERIOD = 1000;
const plant = buildPlant({ seed: 3, machines: 5 });
const clean = [...generateReadings(plant, { startMs: START, periodMs: PERIOD, steps: 12 })];
const analog = plant.sensors.findIndex((s) => s.name === 'bearing_temperature');

/** A schedule of our own making: the faults given, handed out as their start steps come. */
function fixedSchedule(faults: ScheduledFault[]): FaultSchedule {
  const queue = [...faults].sort((a, b) => a.startStep - b.startStep);
  return { take: (i) => queue.splice(0, queue.filter((f) => f.startStep <= i).length) };
}

function fault(kind: FaultKind, opts: Partial<ScheduledFault> = {}): ScheduledFault {
  const startStep = opts.startStep ?? 2;
  const steps = opts.steps ?? 5;
  const firstSensor = opts.firstSensor ?? analog;
  return {
    kind,
    scope: 'sensor',
    target: plant.sensors[firstSensor]!.id,
    firstSensor,
    sensorCount: 1,
    startStep,
    steps,
    start: START + startStep * PERIOD,
    end: START + (startStep + steps - 1) * PERIOD,
    magnitude: 0,
    seed: 99,
    ...opts,
  };
}

function run(faults: ScheduledFault[], p: Plant = plant): { out: (readonly SimReading[])[]; started: ScheduledFault[]; observed: [ScheduledFault, number][] } {
  const started: ScheduledFault[] = [];
  const observed: [ScheduledFault, number][] = [];
  let at = 0;
  const layer = createFaultLayer({ plant: p, schedule: fixedSchedule(faults), onFaultStart: (f) => started.push(f), onFaultObserved: (f) => observed.push([f, at]) });
  return { out: clean.map((step, i) => layer.apply((at = i), step)), started, observed };
}

const valueAt = (step: readonly SimReading[], sensor: number) => step.find((r) => r.sensor === plant.sensors[sensor]!.id);

describe('fault layer', () => {
  it('passes a step with no active fault through untouched (the same array)', () => {
    const { out } = run([fault('spike', { startStep: 8, steps: 1 })]);
    expect(out[0]).toBe(clean[0]);
    expect(out[9]).toBe(clean[9]);
    expect(out[8]).not.toBe(clean[8]);
  });

  it('drops the readings of a sensor in dropout, and only those', () => {
    const { out, started } = run([fault('dropout')]);
    expect(started).toHaveLength(1);
    out.forEach((step, i) => {
      const inside = i >= 2 && i <= 6;
      expect(step.length).toBe(clean[i]!.length - (inside ? 1 : 0));
      expect(valueAt(step, analog) === undefined).toBe(inside);
    });
  });

  it('holds a stuck sensor at the value it had when it stuck', () => {
    const { out } = run([fault('stuck')]);
    const held = valueAt(clean[2]!, analog)!.value;
    for (let i = 2; i <= 6; i++) expect(valueAt(out[i]!, analog)!.value).toBe(held);
    expect(valueAt(out[7]!, analog)).toEqual(valueAt(clean[7]!, analog));
  });

  it('reports a fault observed once, at the first step a reading differs from the clean one, and never if none does', () => {
    // A stuck sensor whose clean value does not move changes nothing; one whose value moves does.
    const constant = plant.sensors.findIndex((_, k) => clean.every((step) => valueAt(step, k)!.value === valueAt(clean[0]!, k)!.value));
    expect(constant).toBeGreaterThanOrEqual(0);
    const still = fault('stuck', { firstSensor: constant });
    expect(run([still]).observed).toEqual([]);
    const moving = run([fault('stuck')]);
    const firstChange = [3, 4, 5, 6].find((i) => valueAt(clean[i]!, analog)!.value !== valueAt(clean[2]!, analog)!.value);
    expect(firstChange).toBeDefined();
    expect(moving.observed).toEqual([[moving.started[0], firstChange]]);
    const dropout = run([fault('dropout')]);
    expect(dropout.observed).toEqual([[dropout.started[0], 2]]);
  });

  it('spikes most of the way to the far end of the range, shifts and drifts by a share of the span', () => {
    const spec = plant.sensors[analog]!;
    const span = spec.range[1] - spec.range[0];
    const spike = run([fault('spike', { magnitude: 0.8 })]).out;
    const shift = run([fault('level_shift', { magnitude: 0.1 })]).out;
    const drift = run([fault('drift', { magnitude: 0.2 })]).out;
    for (let i = 2; i <= 6; i++) {
      const c = valueAt(clean[i]!, analog)!.value;
      // A bearing at 30-80 °C in a -20..150 range: the far end is the top.
      expect(valueAt(spike[i]!, analog)!.value).toBeCloseTo(c + 0.8 * (spec.range[1] - c), 1);
      expect(valueAt(shift[i]!, analog)!.value).toBeCloseTo(c + 0.1 * span, 1);
      expect(valueAt(drift[i]!, analog)!.value).toBeCloseTo(c + (0.2 * span * (i - 1)) / 5, 1);
    }
  });

  it('adds noise, and marks readings bad without touching their values, both reproducibly', () => {
    const noisy = run([fault('noise_burst', { magnitude: 0.05 })]).out;
    expect(run([fault('noise_burst', { magnitude: 0.05 })]).out).toEqual(noisy);
    const diffs = [2, 3, 4, 5, 6].map((i) => valueAt(noisy[i]!, analog)!.value - valueAt(clean[i]!, analog)!.value);
    expect(diffs.filter((d) => Math.abs(d) > 0.5).length).toBeGreaterThanOrEqual(3);

    const bad = run([fault('intermittent_bad_quality', { magnitude: 0.5, steps: 10 })]).out;
    const marked = bad.flatMap((step, i) => step.filter((r) => r.quality === 'bad').map((r) => ({ i, r })));
    expect(marked.length).toBeGreaterThan(0);
    expect(marked.length).toBeLessThan(10);
    for (const { i, r } of marked) {
      expect(r.sensor).toBe(plant.sensors[analog]!.id);
      expect(r.value).toBe(valueAt(clean[i]!, analog)!.value);
    }
  });

  it('shifts the timestamps of a whole machine during a clock jump, and nothing else', () => {
    const machine = plant.machines[1]!;
    const first = plant.sensors.findIndex((s) => s.id === machine.sensors[0]!.id);
    const jump = fault('clock_jump', { scope: 'machine', target: machine.path, firstSensor: first, sensorCount: machine.sensors.length, magnitude: -90_000 });
    const { out } = run([jump]);
    out.forEach((step, i) => {
      for (const r of step) {
        const own = machine.sensors.some((s) => s.id === r.sensor);
        expect(r.ts).toBe(START + i * PERIOD + (own && i >= 2 && i <= 6 ? -90_000 : 0));
      }
      expect(step.map((r) => r.value)).toEqual(clean[i]!.map((r) => r.value));
    });
  });

  it('keeps values inside the transmitter range', () => {
    const { out } = run(plant.sensors.map((_, k) => fault('level_shift', { firstSensor: k, magnitude: 0.9 })));
    for (const step of out) {
      for (const r of step) {
        const [lo, hi] = plant.sensors.find((s) => s.id === r.sensor)!.range;
        expect(r.value).toBeGreaterThanOrEqual(lo);
        expect(r.value).toBeLessThanOrEqual(hi);
      }
    }
  });
});

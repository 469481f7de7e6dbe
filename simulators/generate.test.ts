import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from './faults/config.js';
import { createSimulation, generateReadings, transmit, type SimReading, type SimStep } from './generate.js';
import type { AnomalyWindow } from './ground-truth.js';
import { buildPlant } from './plant.js';
import { loadScenario, type Scenario } from './scenario.js';

const START = Date.UTC(2025, 0, 6, 0, 0, 0); // a Monday, midnight UTC
const MINUTE = 60_000;
const HOUR = 3_600_000;

function collect(seed: number, machines: number, steps: number, periodMs = 1000): SimReading[][] {
  return [...generateReadings(buildPlant({ seed, machines }), { startMs: START, periodMs, steps })];
}

describe('generateReadings', () => {
  it('gives one reading per sensor per step, at startMs + i * periodMs', () => {
    const plant = buildPlant({ seed: 1, machines: 3 });
    const steps = [...generateReadings(plant, { startMs: START, periodMs: 500, steps: 4 })];
    expect(steps).toHaveLength(4);
    steps.forEach((step, i) => {
      expect(step.map((r) => r.sensor)).toEqual(plant.sensors.map((s) => s.id));
      expect(step.every((r) => r.ts === START + i * 500)).toBe(true);
      expect(step.every((r) => r.quality === undefined)).toBe(true);
    });
  });

  it('is deterministic: the same seed gives byte-identical readings, another seed different ones', () => {
    const a = JSON.stringify(collect(1, 6, 300));
    expect(JSON.stringify(collect(1, 6, 300))).toBe(a);
    expect(JSON.stringify(collect(2, 6, 300))).not.toBe(a);
  });

  it('keeps a machine\'s readings when more machines are added to the plant', () => {
    const small = collect(3, 3, 50);
    const large = collect(3, 9, 50);
    small.forEach((step, i) => expect(large[i]?.slice(0, step.length)).toEqual(step));
  });

  it('produces finite values inside the transmitter range, rounded so that JSON carries them exactly', () => {
    // The physics (what range a pump's flow stays in, how wear moves vibration) is tested with the
    // machine models; here, what the generator guarantees for any model.
    const plant = buildPlant({ seed: 11, machines: 10 });
    const specs = new Map(plant.sensors.map((s) => [s.id, s]));
    let atRangeTop = 0;
    let count = 0;
    // Three days at one reading a minute: every hour of the load cycle, and some wear.
    for (const step of generateReadings(plant, { startMs: START, periodMs: MINUTE, steps: 3 * 24 * 60 })) {
      for (const r of step) {
        const spec = specs.get(r.sensor)!;
        const [low, high] = spec.range;
        // Plain checks in the hot loop (an expect per value is slow); fail with the reading.
        if (!Number.isFinite(r.value) || r.value < low || r.value > high) {
          expect.fail(`${r.sensor} = ${r.value} ${spec.unit} outside [${low}, ${high}]`);
        }
        if (Number(r.value.toFixed(spec.decimals)) !== r.value || JSON.parse(JSON.stringify(r.value)) !== r.value) {
          expect.fail(`${r.sensor} = ${r.value} is not rounded to ${spec.decimals} decimals`);
        }
        if (r.value === high && spec.kind === 'analog') atRangeTop++;
        count++;
      }
    }
    expect(count).toBe(3 * 24 * 60 * plant.sensors.length);
    expect(atRangeTop).toBe(0); // nothing saturates the transmitters in normal operation
  });

  it('follows the daily load cycle: pumps run faster in the afternoon than at night', () => {
    const plant = buildPlant({ seed: 1, machines: 1 }); // pump-1
    const speed = plant.sensors.find((s) => s.name === 'speed')!.id;
    const byHour = new Map<number, number[]>();
    for (const step of generateReadings(plant, { startMs: START, periodMs: 10 * MINUTE, steps: 7 * 24 * 6 })) {
      const r = step.find((x) => x.sensor === speed)!;
      const h = new Date(r.ts).getUTCHours();
      byHour.set(h, [...(byHour.get(h) ?? []), r.value]);
    }
    const mean = (h: number) => byHour.get(h)!.reduce((a, b) => a + b, 0) / byHour.get(h)!.length;
    expect(mean(15)).toBeGreaterThan(mean(3) * 1.2);
  });

  it('refuses timings it cannot honour', () => {
    const plant = buildPlant({ seed: 1, machines: 1 });
    expect(() => generateReadings(plant, { startMs: START / 1000, periodMs: 1000, steps: 1 })).toThrow(/startMs/);
    expect(() => generateReadings(plant, { startMs: START, periodMs: 0, steps: 1 })).toThrow(/periodMs/);
    expect(() => generateReadings(plant, { startMs: START, periodMs: 1000, steps: -1 })).toThrow(/steps/);
  });
});

describe('transmit', () => {
  it('clamps to the measuring range, rounds, and never reports -0', () => {
    const spec = { range: [0, 10] as const, decimals: 2 };
    expect(transmit(12, spec)).toBe(10);
    expect(transmit(1.23456, spec)).toBe(1.23);
    expect(Object.is(transmit(-0.001, { range: [-5, 5], decimals: 2 }), 0)).toBe(true);
    expect(() => transmit(Number.NaN, spec)).toThrow(/not finite/);
  });
});

describe('createSimulation', () => {
  const DAY = 24 * HOUR;

  /** A short digest of a run: every reading and the ground truth, without keeping the readings. */
  function digest(scenario: Scenario, steps: number): { stream: string; truth: string } {
    const sim = createSimulation(scenario, { startMs: START, steps, recordTruth: true });
    const hash = createHash('sha256');
    for (const step of sim.steps) hash.update(JSON.stringify(step.readings));
    return { stream: hash.digest('hex'), truth: JSON.stringify(sim.groundTruth.snapshot()) };
  }

  it('is deterministic: the same seed gives identical streams and ground truth, another seed different ones', () => {
    const s = loadScenario('faulty-line');
    const a = digest(s, 4000);
    expect(digest(s, 4000)).toEqual(a);
    const other = digest({ ...s, seed: s.seed + 1 }, 4000);
    expect(other.stream).not.toBe(a.stream);
    expect(other.truth).not.toBe(a.truth);
    expect(JSON.parse(a.truth).anomalies.length).toBeGreaterThan(0);
  });

  it('stamps step i at startMs + i·periodMs in simulated time, and leaves the clean process alone', () => {
    const s = loadScenario('faulty-line');
    const faulted = createSimulation(s, { startMs: START, steps: 2000, recordTruth: true });
    const clean = createSimulation({ ...s, faults: undefined }, { startMs: START, steps: 2000, recordTruth: true });
    const c = clean.steps[Symbol.iterator]();
    let i = 0;
    for (const step of faulted.steps) {
      const other = c.next().value as SimStep;
      expect(step.ts).toBe(START + i * s.periodMs);
      // Machines do not know about faults: same events and truth either way.
      expect(step.events).toEqual(other.events);
      expect(step.truth).toEqual(other.truth);
      i++;
    }
    expect(i).toBe(2000);
    expect(clean.groundTruth.snapshot().anomalies).toEqual([]);
  });

  it('injects every fault kind of faulty-line, and each ground-truth window is exactly what the readings show', () => {
    const s = loadScenario('faulty-line');
    const steps = DAY / s.periodMs;
    const first = createSimulation(s, { startMs: START, steps, recordTruth: true });
    for (const _ of first.steps);
    const gt = first.groundTruth.snapshot();
    const kinds = new Set<string>(gt.anomalies.map((w) => w.kind));
    if (gt.clockJumps.length > 0) kinds.add('clock_jump');
    expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());

    // Second pass in lockstep with the clean run: compare every reading with its clean twin.
    const faulted = createSimulation(s, { startMs: START, steps, recordTruth: true });
    const clean = createSimulation({ ...s, faults: undefined }, { startMs: START, steps });
    const specs = new Map(faulted.plant.sensors.map((x) => [x.id, x]));
    const machineOf = new Map(faulted.plant.machines.flatMap((m) => m.sensors.map((x) => [x.id, m.path] as const)));
    const windowsOf = new Map<string, AnomalyWindow[]>();
    for (const w of gt.anomalies) windowsOf.set(w.sensor, [...(windowsOf.get(w.sensor) ?? []), w]);
    const inWindow = (sensor: string, ts: number) => windowsOf.get(sensor)?.find((w) => w.start <= ts && ts <= w.end);
    const jumpAt = (sensor: string, ts: number) =>
      gt.clockJumps.find((j) => j.start <= ts && ts <= j.end && (j.scope === 'plant' || j.target === machineOf.get(sensor)))?.offsetMs ?? 0;
    // Per window: [clean, faulted or undefined] per step, and the clean values an hour either side.
    const seen = new Map<AnomalyWindow, { pairs: [SimReading, SimReading | undefined][]; context: number[] }>();
    for (const w of gt.anomalies) seen.set(w, { pairs: [], context: [] });

    const c = clean.steps[Symbol.iterator]();
    for (const step of faulted.steps) {
      const cleanStep = c.next().value as SimStep;
      const bySensor = new Map(step.readings.map((r) => [r.sensor, r]));
      if (bySensor.size !== step.readings.length) expect.fail(`step ${step.index}: two readings of one sensor`);
      for (const cr of cleanStep.readings) {
        const fr = bySensor.get(cr.sensor);
        const w = inWindow(cr.sensor, step.ts);
        // Plain checks in the hot loop (an expect per reading is slow); fail with the reading.
        if (fr && fr.ts !== step.ts + jumpAt(cr.sensor, step.ts)) expect.fail(`${cr.sensor} at ${step.ts}: ts ${fr.ts}, clock jumps not applied as recorded`);
        if (w) seen.get(w)!.pairs.push([cr, fr]);
        else if (!fr || fr.value !== cr.value || fr.quality !== undefined) {
          expect.fail(`${cr.sensor} at ${new Date(step.ts).toISOString()} changed outside any fault window`);
        }
        for (const win of windowsOf.get(cr.sensor) ?? []) {
          if (win.start - HOUR <= step.ts && step.ts <= win.end + HOUR) seen.get(win)!.context.push(cr.value);
        }
      }
    }

    for (const [w, { pairs, context }] of seen) {
      const spec = specs.get(w.sensor)!;
      const span = spec.range[1] - spec.range[0];
      const unit = 10 ** -spec.decimals;
      const where = `${w.kind} on ${w.sensor} at ${new Date(w.start).toISOString()}`;
      expect(pairs.length, where).toBe((w.end - w.start) / s.periodMs + 1);
      const values = pairs.map(([, f]) => f?.value);
      switch (w.kind) {
        case 'dropout':
          expect(values.every((v) => v === undefined), where).toBe(true);
          break;
        case 'stuck':
          expect(new Set(values).size, where).toBe(1);
          expect(values[0], where).toBe(pairs[0]![0].value);
          break;
        case 'spike': {
          const lo = Math.min(...context);
          const hi = Math.max(...context);
          for (const v of values) expect(v! < lo || v! > hi, `${where}: ${v} inside the clean range [${lo}, ${hi}] around it`).toBe(true);
          break;
        }
        case 'level_shift':
        case 'drift':
          // A drift's slope is set by its whole scheduled length; one cut off by the end of the run is not checked.
          if (w.kind === 'drift' && w.end === gt.endMs) break;
          pairs.forEach(([cr, fr], j) => {
            const size = w.kind === 'drift' ? (w.magnitude * span * (j + 1)) / pairs.length : w.magnitude * span;
            const clamped = fr!.value === spec.range[0] || fr!.value === spec.range[1];
            if (!clamped) expect(Math.abs(Math.abs(fr!.value - cr.value) - size), `${where} step ${j}/${pairs.length} clean ${cr.value} faulted ${fr!.value} size ${size}`).toBeLessThanOrEqual(unit * 1.01);
          });
          break;
        case 'noise_burst': {
          const diffs = pairs.map(([cr, fr]) => fr!.value - cr.value);
          expect(diffs.filter((d) => d !== 0).length, where).toBeGreaterThan(pairs.length / 2);
          break;
        }
        case 'intermittent_bad_quality': {
          const bad = pairs.filter(([, fr]) => fr?.quality === 'bad').length;
          expect(pairs.every(([cr, fr]) => fr?.value === cr.value), where).toBe(true);
          if (pairs.length >= 20) expect(bad, where).toBeGreaterThan(0);
          break;
        }
      }
    }
  });

  it('records the failures and repairs the machine models report, and their true wear every hour', () => {
    const s = loadScenario('run-to-failure');
    const sim = createSimulation(s, { startMs: START, steps: (60 * DAY) / s.periodMs, recordTruth: true });
    let events = 0;
    for (const step of sim.steps) events += step.events.length;
    const gt = sim.groundTruth.snapshot();
    const assets = Object.values(gt.assets);
    expect(Object.keys(gt.assets)).toEqual(sim.plant.machines.map((m) => m.path));
    expect(assets.reduce((n, a) => n + a.events.length, 0)).toBe(events);
    expect(events).toBeGreaterThan(0);
    for (const a of assets) {
      expect(a.failures).toEqual(a.events.filter((e) => e.kind === 'failure').map((e) => e.ts));
      // Hourly samples; calendar hours to the next failure count down to it.
      const ts = a.truth.map(([t]) => t);
      ts.slice(1).forEach((t, i) => expect(t - ts[i]!).toBe(HOUR));
      for (const [t, , , toFailure] of a.truth) {
        const next = a.failures.find((f) => f >= t);
        expect(toFailure).toBe(next === undefined ? null : (next - t) / HOUR);
      }
    }
    expect(assets.some((a) => a.failures.length > 0)).toBe(true);
  });

  it('generates a 10,000-tag plant step by step (prints the cost per step)', () => {
    const s = loadScenario('scale-10k');
    const sim = createSimulation(s, { startMs: START, steps: 400 });
    expect(sim.plant.sensors.length).toBeGreaterThanOrEqual(10_000);
    let readings = 0;
    let t0 = performance.now();
    let i = 0;
    let warm = 0;
    for (const step of sim.steps) {
      readings += step.readings.length;
      if (++i === 100) {
        warm = performance.now() - t0;
        t0 = performance.now();
      }
    }
    const perStep = (performance.now() - t0) / 300;
    console.log(
      `scale-10k: ${sim.plant.sensors.length} tags, ${sim.plant.machines.length} machines: ${perStep.toFixed(2)} ms per step after warm-up ` +
        `(first 100 steps ${(warm / 100).toFixed(2)} ms each), ${((perStep / s.periodMs) * 100).toFixed(1)} % of one core at 1 Hz`,
    );
    expect(readings).toBeGreaterThan(390 * 10_000);
  });
});

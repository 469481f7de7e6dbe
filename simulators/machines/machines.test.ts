import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../random.js';
import { airCompressor, type CompressorState } from './air-compressor.js';
import { centrifugalPump, type PumpState } from './centrifugal-pump.js';
import { cncSpindle, type SpindleState } from './cnc-spindle.js';
import { conveyorDrive, type ConveyorState } from './conveyor-drive.js';
import { hydraulicPress, type PressState } from './hydraulic-press.js';
import { MACHINE_MODELS, MACHINE_TYPES } from './index.js';
import {
  DOWN,
  HOUR_MS,
  MACHINE_STATES,
  MINUTE_MS,
  RUNNING,
  ambientC,
  type AnyMachineModel,
  type MachineEvent,
  type MachineModel,
  type StepResult,
} from './model.js';
import { advance, onShift, type Calendar, type Job, type Operation } from './operation.js';

const T = Date.UTC(2025, 0, 7, 14, 0, 0); // a Tuesday, 14:00 UTC: every calendar is on shift
const LONG = 10 * HOUR_MS;
const MODELS = Object.entries(MACHINE_MODELS) as [string, AnyMachineModel][];

describe('machine types and their sensors', () => {
  it('has at least five types, each with the sensors a plant has', () => {
    expect(MACHINE_TYPES.length).toBeGreaterThanOrEqual(5);
    for (const [type, model] of MODELS) {
      const names = Object.keys(model.sensors);
      for (const name of names) expect(name, type).toMatch(/^[a-z][a-z_]*$/);
      expect(names, type).toEqual(expect.arrayContaining(['motor_current', 'vibration_rms', 'vibration_kurtosis', 'energy_kwh', 'state']));
      expect(names.some((n) => n.endsWith('temperature')), type).toBe(true);
    }
    for (const type of ['hydraulic-press', 'cnc-spindle', 'conveyor-drive'] as const) {
      expect(Object.keys(MACHINE_MODELS[type].sensors)).toEqual(expect.arrayContaining(['parts_good', 'parts_scrap']));
    }
  });

  it('gives every sensor a kind; the state enumerates running, idle, down, setup; counters are whole or kWh', () => {
    for (const [type, model] of MODELS) {
      for (const [name, spec] of Object.entries(model.sensors)) {
        expect(['analog', 'counter', 'state'], `${type}/${name}`).toContain(spec.kind);
        expect(spec.range[0], `${type}/${name}`).toBeLessThan(spec.range[1]);
        if (spec.kind === 'state') {
          expect(spec.states).toEqual(['running', 'idle', 'down', 'setup']);
          expect(spec.range).toEqual([0, 3]);
          expect(spec.decimals).toBe(0);
        } else {
          expect(spec.states, `${type}/${name}`).toBeUndefined();
          expect(spec.unit.length, `${type}/${name}`).toBeGreaterThan(0);
        }
      }
      expect(model.sensors.state?.kind).toBe('state');
      expect(model.sensors.energy_kwh?.kind).toBe('counter');
      if (model.sensors.parts_good) {
        expect(model.sensors.parts_good.kind).toBe('counter');
        expect(model.sensors.parts_scrap?.kind).toBe('counter');
        expect(model.sensors.parts_good.decimals).toBe(0);
      }
    }
    expect(MACHINE_STATES).toEqual(['running', 'idle', 'down', 'setup']);
  });
});

// ---------------------------------------------------------------------------------------------
// A long run of each type, driving `step` directly: 60 simulated days at one step every two minutes
// (about 0.3 s a type).

interface Run {
  readonly failures: MachineEvent[];
  readonly events: MachineEvent[];
  readonly problems: string[];
  /** Energy over the interval after a running step, with the load and wear that step reported. */
  readonly energyByLoad: { load: number; kwh: number; wear: number }[];
  readonly statesSeen: Set<number>;
  readonly repairedWear: number[];
}

function runFor(model: AnyMachineModel, seed: number, days: number, periodMs: number): Run {
  const params = model.drawParams(createRng(seed));
  const rng = createRng(seed + 1000);
  let state = model.initialState(params, T, rng);
  const counters = Object.entries(model.sensors).filter(([, s]) => s.kind === 'counter').map(([n]) => n);
  const names = Object.keys(model.sensors);
  const run: Run = { failures: [], events: [], problems: [], energyByLoad: [], statesSeen: new Set(), repairedWear: [] };
  const problem = (text: string): void => {
    if (run.problems.length < 10) run.problems.push(text);
  };
  let prev: StepResult<unknown, string> | undefined;
  let down = false;
  const steps = Math.round((days * 24 * HOUR_MS) / periodMs);
  for (let i = 0; i < steps; i++) {
    const t = T + i * periodMs;
    const r = model.step(params, state, t, i === 0 ? 0 : periodMs, rng);
    state = r.state;
    const v = r.values as Record<string, number>;
    for (const n of names) if (!Number.isFinite(v[n])) problem(`${n} = ${v[n]} at step ${i}`);
    const s = v.state!;
    if (!Number.isInteger(s) || s < 0 || s > 3) problem(`state ${s} at step ${i}`);
    run.statesSeen.add(s);
    for (const e of r.events ?? []) {
      if (!(e.ts <= t && (i === 0 || e.ts > t - periodMs))) problem(`event ${e.kind} at ${e.ts} outside (${t - periodMs}, ${t}]`);
      run.events.push(e);
      if (e.kind === 'failure') {
        run.failures.push(e);
        down = true;
      }
      if (e.kind === 'repair_end') {
        down = false;
        run.repairedWear.push(r.truth?.wear ?? NaN);
      }
    }
    if (down !== (s === DOWN)) problem(`state ${MACHINE_STATES[s]} at step ${i} while ${down ? '' : 'not '}failed`);
    if (r.truth === undefined || !(r.truth.wear >= 0 && r.truth.wear <= 1)) problem(`truth ${JSON.stringify(r.truth)} at step ${i}`);
    if (prev) {
      const pv = prev.values as Record<string, number>;
      for (const c of counters) if (v[c]! < pv[c]!) problem(`${c} went down from ${pv[c]} to ${v[c]} at step ${i}`);
      if (pv.state === RUNNING) run.energyByLoad.push({ load: prev.truth?.load ?? 0, kwh: v.energy_kwh! - pv.energy_kwh!, wear: prev.truth?.wear ?? 0 });
    }
    prev = r;
  }
  return run;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function correlation(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const dx = x - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe.each(MODELS)('%s over 60 simulated days', (type, model) => {
  const run = runFor(model, 7, 60, 2 * MINUTE_MS);

  it('keeps every value finite, the state in 0..3, counters never decreasing, down exactly while failed', () => {
    expect(run.problems).toEqual([]);
    expect([...run.statesSeen].sort()).toEqual(type === 'centrifugal-pump' || type === 'air-compressor' ? expect.arrayContaining([0, 2, 3]) : [0, 1, 2, 3]);
  });

  it('runs to failure, is repaired, and starts a fresh life', () => {
    expect(run.failures.length, 'failures in 60 days').toBeGreaterThanOrEqual(1);
    const lifecycle = run.events.filter((e) => e.kind !== 'maintenance').map((e) => e.kind);
    // failure → repair_start → repair_end, over and over, in time order.
    lifecycle.forEach((kind, i) => expect(kind).toBe(['failure', 'repair_start', 'repair_end'][i % 3]));
    const ts = run.events.map((e) => e.ts);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(run.repairedWear.length).toBeGreaterThanOrEqual(1);
    for (const w of run.repairedWear) expect(w).toBeLessThan(0.01);
    for (const e of run.events) {
      expect(e.detail.length).toBeGreaterThan(5);
      expect(e.mode).toMatch(/^[a-z_]+$/);
    }
    // Repairs take hours, not minutes or weeks.
    for (let i = 0; i + 2 < lifecycle.length; i += 3) {
      const hours = (run.events.filter((e) => e.kind !== 'maintenance')[i + 2]!.ts - run.events.filter((e) => e.kind !== 'maintenance')[i]!.ts) / HOUR_MS;
      expect(hours).toBeGreaterThan(1);
      expect(hours).toBeLessThan(24);
    }
  });

  it('draws more energy at higher load', () => {
    // Energy over an interval follows the load the machine reported at its start. Early in a life,
    // so that wear (a leaking press works harder for the same parts) does not blur the picture.
    const early = run.energyByLoad.filter((x) => x.wear < 0.3);
    const xs = early.map((x) => x.load);
    const ys = early.map((x) => x.kwh);
    expect(Math.max(...xs)).toBeGreaterThan(Math.min(...xs) * 1.1);
    expect(correlation(xs, ys)).toBeGreaterThan(0.9);
  });
});

describe('determinism', () => {
  it.each(MODELS)('%s: the same seed gives the same values, events and truth; another seed does not', (_type, model) => {
    const trace = (seed: number): string => {
      const params = model.drawParams(createRng(seed));
      const rng = createRng(seed + 1);
      let state = model.initialState(params, T, rng);
      const out: unknown[] = [];
      for (let i = 0; i < 4 * 1440; i++) {
        const r = model.step(params, state, T + i * MINUTE_MS, i === 0 ? 0 : MINUTE_MS, rng);
        state = r.state;
        out.push(r.values, r.events, r.truth);
      }
      return JSON.stringify(out);
    };
    const a = trace(3);
    expect(trace(3)).toBe(a);
    expect(trace(4)).not.toBe(a);
  });
});

// ---------------------------------------------------------------------------------------------
// Degradation: the same machine, the same time, the same noise stream, only the wear differs.
// One long step from a fresh state (which reports no stress yet, so the step adds no wear) lets
// the temperatures settle.

function at<S extends { op: Operation }>(
  model: MachineModel<unknown, S, string>,
  wear: number,
  patch: (s: S) => S = (s) => s,
): Record<string, number> {
  const p = model.drawParams(createRng(1));
  const s = model.initialState(p, T, createRng(2));
  const worn = patch({ ...s, op: { ...s.op, wear } });
  const r = model.step(p, worn, T, LONG, createRng(3));
  expect(r.values.state, 'the comparison needs a running machine').toBe(RUNNING);
  return r.values as Record<string, number>;
}

const running: Job = { activity: 'run', endsMs: T + 2 * LONG, product: 0 };

describe('degradation moves the signals it should', () => {
  it('bearing wear (pump): kurtosis rises well before RMS, then RMS, heat and current', () => {
    const model = centrifugalPump as MachineModel<unknown, PumpState, string>;
    const healthy = at(model, 0.05);
    const early = at(model, 0.4);
    const late = at(model, 0.95);
    expect(early.vibration_kurtosis).toBeGreaterThan(healthy.vibration_kurtosis! * 1.8);
    expect(early.vibration_rms).toBeLessThan(healthy.vibration_rms! * 1.1);
    expect(late.vibration_rms).toBeGreaterThan(healthy.vibration_rms! * 2.5);
    expect(late.vibration_kurtosis).toBeGreaterThan(healthy.vibration_kurtosis! * 1.3);
    expect(late.bearing_temperature).toBeGreaterThan(healthy.bearing_temperature! + 10);
    expect(late.motor_current).toBeGreaterThan(healthy.motor_current!);
  });

  it('bearing wear (CNC spindle, same job): kurtosis first, then RMS, load and heat', () => {
    const model = cncSpindle as MachineModel<unknown, SpindleState, string>;
    const job = (s: SpindleState): SpindleState => ({ ...s, job: running });
    const healthy = at(model, 0.05, job);
    const early = at(model, 0.4, job);
    const late = at(model, 0.95, job);
    expect(early.vibration_kurtosis).toBeGreaterThan(healthy.vibration_kurtosis! * 1.5);
    expect(early.vibration_rms).toBeLessThan(healthy.vibration_rms! * 1.1);
    expect(late.vibration_rms).toBeGreaterThan(healthy.vibration_rms! * 2.5);
    expect(late.spindle_load).toBeGreaterThan(healthy.spindle_load!);
    expect(late.bearing_temperature).toBeGreaterThan(healthy.bearing_temperature! + 5);
  });

  it('seal leak (press, same product): less peak pressure, more current, hotter oil, slower strokes', () => {
    const model = hydraulicPress as MachineModel<unknown, PressState, string>;
    const job = (s: PressState): PressState => ({ ...s, job: running });
    const healthy = at(model, 0.1, job);
    const worn = at(model, 0.9, job);
    expect(worn.hydraulic_pressure).toBeLessThan(healthy.hydraulic_pressure! * 0.92);
    expect(worn.motor_current).toBeGreaterThan(healthy.motor_current! * 1.1);
    expect(worn.oil_temperature).toBeGreaterThan(healthy.oil_temperature! + 5);
    expect(worn.stroke_rate).toBeLessThan(healthy.stroke_rate!);
  });

  it('belt slip (conveyor, same product): the belt lags the motor, the gearbox heats, jerks raise kurtosis', () => {
    const model = conveyorDrive as MachineModel<unknown, ConveyorState, string>;
    const job = (s: ConveyorState): ConveyorState => ({ ...s, job: running });
    const healthy = at(model, 0.05, job);
    const worn = at(model, 0.9, job);
    const ratio = (v: Record<string, number>): number => v.belt_speed! / v.speed!;
    expect(worn.speed).toBeCloseTo(healthy.speed!, 0);
    expect(ratio(worn)).toBeLessThan(ratio(healthy) * 0.96);
    expect(worn.gearbox_temperature).toBeGreaterThan(healthy.gearbox_temperature! + 5);
    expect(worn.vibration_kurtosis).toBeGreaterThan(healthy.vibration_kurtosis! * 1.5);
  });

  it('valve wear (compressor, same demand): same air, more current, hotter discharge, more kurtosis', () => {
    const model = airCompressor as MachineModel<unknown, CompressorState, string>;
    const newFilter = (s: CompressorState): CompressorState => ({ ...s, filterH: 0 });
    const healthy = at(model, 0.05, newFilter);
    const worn = at(model, 0.8, newFilter);
    expect(worn.flow).toBeCloseTo(healthy.flow!, 0);
    expect(worn.motor_current).toBeGreaterThan(healthy.motor_current! * 1.1);
    expect(worn.discharge_temperature).toBeGreaterThan(healthy.discharge_temperature! + 10);
    expect(worn.vibration_kurtosis).toBeGreaterThan(healthy.vibration_kurtosis! * 1.5);
  });

  it('compressor intake filter: the pressure drop rises with running hours and a change is logged as maintenance', () => {
    const model = airCompressor;
    const p = model.drawParams(createRng(1));
    const s = model.initialState(p, T, createRng(2));
    const clean = model.step(p, { ...s, filterH: 0 }, T, MINUTE_MS, createRng(3)).values;
    const clogged = model.step(p, { ...s, filterH: 0.95 * p.filterLifeH }, T, MINUTE_MS, createRng(3)).values;
    expect(clogged.filter_dp).toBeGreaterThan(clean.filter_dp * 2);
    // Running one more hour at the limit: the filter is changed, the machine's life goes on.
    const before = { ...s, filterH: p.filterLifeH - 0.5, op: { ...s.op, state: RUNNING as 0 } };
    const r = model.step(p, before, T + HOUR_MS, HOUR_MS, createRng(3));
    expect(r.events?.map((e) => [e.kind, e.mode])).toEqual([['maintenance', 'intake_filter']]);
    expect(r.state.filterH).toBe(0);
    expect(r.truth?.wear).toBe(before.op.wear);
  });
});

describe('plant coupling and regimes', () => {
  it('couples every machine\'s temperatures to the hall temperature', () => {
    const summer = Date.UTC(2025, 6, 22, 14, 0, 0); // a Tuesday in July, 14:00, same load as T
    const hotter = ambientC(summer) - ambientC(T);
    expect(hotter).toBeGreaterThan(3);
    for (const [type, model] of MODELS) {
      const p = model.drawParams(createRng(1));
      const temps = (t: number): number[] => {
        const s = model.initialState(p, t, createRng(2)) as { op: Operation };
        // Down: the machine cools to its surroundings.
        const down = { ...s, op: { ...s.op, down: { failedMs: t - LONG, repairStartMs: t + LONG, repairEndMs: t + 2 * LONG, repairing: false } } };
        const v = model.step(p, down, t, 3 * LONG, createRng(3)).values as Record<string, number>;
        return Object.keys(v).filter((n) => n.endsWith('temperature')).map((n) => v[n]!);
      };
      const winter = temps(T);
      temps(summer).forEach((c, i) => expect(c - winter[i]!, type).toBeCloseTo(hotter, 0));
    }
  });

  it('keeps shifts: a two-shift machine stands at night, at weekends and on its breaks', () => {
    const cal: Calendar = { shifts: 2, breaks: true, startDelayMin: 0 };
    const day = Date.UTC(2025, 0, 7); // Tuesday
    expect(onShift(cal, day + 7 * HOUR_MS)).toBe(true);
    expect(onShift(cal, day + 10.2 * HOUR_MS)).toBe(false); // break
    expect(onShift(cal, day + 18.2 * HOUR_MS)).toBe(false); // break
    expect(onShift(cal, day + 21.9 * HOUR_MS)).toBe(true);
    expect(onShift(cal, day + 23 * HOUR_MS)).toBe(false);
    expect(onShift(cal, day + 3 * HOUR_MS)).toBe(false);
    expect(onShift(cal, Date.UTC(2025, 0, 11, 12))).toBe(false); // Saturday
    const round: Calendar = { shifts: 3, breaks: false, startDelayMin: 0 };
    expect(onShift(round, Date.UTC(2025, 0, 12, 3))).toBe(true); // Sunday night
    expect(onShift({ ...round, breaks: true }, day + 2.2 * HOUR_MS)).toBe(false); // night-shift break
  });

  it('makes good parts only while running; setup makes at most trial scrap; idle and down make nothing', () => {
    for (const model of [hydraulicPress, cncSpindle, conveyorDrive] as AnyMachineModel[]) {
      const p = model.drawParams(createRng(5));
      const rng = createRng(6);
      let state = model.initialState(p, T, rng);
      let prev: Record<string, number> | undefined;
      const made = { running: 0, setupScrap: 0, setupSteps: 0 };
      for (let i = 0; i < 3 * 1440; i++) {
        const r = model.step(p, state, T + i * MINUTE_MS, i === 0 ? 0 : MINUTE_MS, rng);
        state = r.state;
        const v = r.values as Record<string, number>;
        if (prev) {
          const good = v.parts_good! - prev.parts_good!;
          const scrap = v.parts_scrap! - prev.parts_scrap!;
          if (prev.state === RUNNING) made.running += good + scrap;
          else expect(good, `good parts after a ${MACHINE_STATES[prev.state!]} step`).toBe(0);
          if (prev.state === 1 || prev.state === DOWN) expect(scrap).toBe(0);
          if (prev.state === 3) {
            made.setupSteps++;
            made.setupScrap += scrap;
          }
        }
        prev = v;
      }
      expect(made.running, model.type).toBeGreaterThan(100);
      expect(made.setupSteps, model.type).toBeGreaterThan(0);
      if (model.type !== 'conveyor-drive') expect(made.setupScrap, model.type).toBeGreaterThan(0);
    }
  });
});

describe('the life cycle over one long interval', () => {
  it('fails, starts and ends the repair in one hourly step, with counters stopped at the failure', () => {
    const op: Operation = {
      state: RUNNING,
      wear: 0.999,
      lifeH: 100,
      down: null,
      commissionUntilMs: -Infinity,
      energyKwh: 1000,
      partsGood: 10,
      partsScrap: 1,
      partFraction: 0,
      powerKw: 36,
      partsPerH: 600,
      scrapRatio: 0,
      stress: 1,
    };
    const life = { lifeScaleH: 100, repairH: [2, 3] as const };
    const deg = { mode: 'bearing_wear', failure: 'seized', repair: 'new bearing' };
    const rng: Rng = createRng(1);
    // 0.001 of 100 h left at stress 1: fails 6 minutes into the interval.
    const r = advance(op, life, deg, T + 24 * HOUR_MS, 24 * HOUR_MS, rng);
    expect(r.events.map((e) => e.kind)).toEqual(['failure', 'repair_start', 'repair_end']);
    expect(r.events[0]!.ts).toBe(T + 6 * MINUTE_MS);
    expect(r.op.energyKwh).toBeCloseTo(1000 + 36 * 0.1, 6);
    expect(r.op.partsGood + r.op.partsScrap).toBe(11 + 60);
    expect(r.op.down).toBeNull();
    expect(r.op.wear).toBe(0);
    expect(r.op.commissionUntilMs).toBeGreaterThan(r.events[2]!.ts);
  });
});

describe('purity', () => {
  it.each(MODELS)('%s never mutates the state it is given', (_type, model) => {
    const p = model.drawParams(createRng(1));
    const s = deepFreeze(model.initialState(p, T, createRng(2)));
    const before = JSON.stringify(s);
    let next = s;
    for (let i = 0; i < 200; i++) next = deepFreeze(model.step(p, next, T + i * MINUTE_MS, MINUTE_MS, createRng(i)).state);
    expect(JSON.stringify(s)).toBe(before);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

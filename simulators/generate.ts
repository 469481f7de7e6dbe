import { EpochMs, type Quality, type SensorId } from '../shared/reading.js';
import { createFaultLayer, type FaultLayer } from './faults/apply.js';
import { createFaultSchedule } from './faults/schedule.js';
import { createGroundTruthRecorder, type GroundTruthRecorder } from './ground-truth.js';
import type { MachineEvent, MachineTruth } from './machines/index.js';
import type { Plant } from './plant.js';
import { createRng, type Rng } from './random.js';
import { buildScenarioPlant, type Scenario } from './scenario.js';

/**
 * Turns a plant into readings: at step i (timestamp startMs + i·periodMs) every machine steps once
 * and every sensor gives one reading. Deterministic: the same plant (same seed) and options give
 * the same readings, byte for byte, on the same Node version. (ECMAScript lets Math.sin/exp/log
 * differ in the last bit between engines; V8 uses the same fdlibm port on every platform.)
 *
 * Two entry points:
 * - `generateReadings(plant, opts)`: the clean readings of a plant, step by step;
 * - `createSimulation(scenario, opts)`: a scenario's plant with its faults applied, each step with
 *   the machines' events and true wear, and, if asked (`recordTruth`), the ground truth recorded
 *   as it goes.
 *
 * Timestamps are simulated time: step i is at startMs + i·periodMs however fast the steps are
 * consumed. Pacing (real time, or `speed` times faster) is the consumer's business; nothing here
 * sleeps.
 */

export interface GenerateOptions {
  /** Timestamp of the first step, ms since the epoch. */
  startMs: number;
  periodMs: number;
  /** Number of steps; omitted, the generator never ends. */
  steps?: number;
}

export interface SimReading {
  readonly sensor: SensorId;
  readonly ts: number;
  readonly value: number;
  /** Absent means good. Clean readings are always good; the fault layer sets "bad". */
  readonly quality?: Quality;
}

/** A machine event, with the index of its machine in `plant.machines`. */
export interface StepEvent extends MachineEvent {
  readonly machine: number;
}

export interface SimStep {
  readonly index: number;
  /** Simulated time of the step. A clock jump shifts readings' `ts`, never this. */
  readonly ts: number;
  readonly readings: readonly SimReading[];
  /** Per machine (index in `plant.machines`): its true wear and RUL, when its model reports them. */
  readonly truth: readonly (MachineTruth | undefined)[];
  /** Failures, repairs and maintenance reported by the machine models during this step. */
  readonly events: readonly StepEvent[];
}

/** Checks the options at the call (a generator body would only run at the first `next()`). */
export function generateReadings(plant: Plant, opts: GenerateOptions): Generator<SimReading[], void, undefined> {
  const steps = generateSteps(plant, opts);
  return (function* () {
    for (const step of steps) yield step.readings as SimReading[];
  })();
}

/** Like `generateReadings`, with each step's machine events and truth. No faults. */
export function generateSteps(plant: Plant, opts: GenerateOptions): Generator<SimStep, void, undefined> {
  const { startMs, periodMs, steps } = opts;
  checkTiming(startMs, periodMs, steps);
  return stepThrough(plant, startMs, periodMs, steps);
}

function* stepThrough(plant: Plant, startMs: number, periodMs: number, steps: number | undefined): Generator<SimStep, void, undefined> {
  // The evolving part of the simulation, owned here: each machine's state and its random stream.
  // The sensor tables are laid out once so that the per-reading work is a lookup and a rounding.
  const running = plant.machines.map((machine) => {
    const rng: Rng = createRng(machine.noiseSeed);
    return {
      machine,
      rng,
      state: machine.model.initialState(machine.params, startMs, rng),
      names: machine.sensors.map((s) => s.name),
      ids: machine.sensors.map((s) => s.id),
      specs: machine.sensors.map((s) => ({ low: s.range[0], high: s.range[1], scale: 10 ** s.decimals })),
    };
  });

  for (let i = 0; steps === undefined || i < steps; i++) {
    const ts = startMs + i * periodMs;
    // Beyond 2100 a reading would fail the `EpochMs` contract; stop the endless case well before.
    if (steps === undefined) checkTimestamp('the step timestamp', ts);
    const readings: SimReading[] = [];
    const truth: (MachineTruth | undefined)[] = new Array<MachineTruth | undefined>(running.length);
    let events: StepEvent[] | undefined;
    for (let m = 0; m < running.length; m++) {
      const run = running[m]!;
      const { machine, names, ids, specs } = run;
      const next = machine.model.step(machine.params, run.state, ts, i === 0 ? 0 : periodMs, run.rng);
      run.state = next.state;
      const values = next.values;
      for (let k = 0; k < names.length; k++) {
        const value = values[names[k]!];
        if (value === undefined) throw new Error(`model ${machine.type} gave no value for sensor ${names[k]}`);
        readings.push({ sensor: ids[k]!, ts, value: transmitFast(value, specs[k]!) });
      }
      if (next.truth) truth[m] = next.truth;
      if (next.events && next.events.length > 0) {
        events ??= [];
        for (const e of next.events) events.push({ ...e, machine: m });
      }
    }
    yield { index: i, ts, readings, truth, events: events ?? NO_EVENTS };
  }
}

/** `transmit` with the sensor's scale computed once; the same arithmetic, so the same result. */
function transmitFast(value: number, spec: { low: number; high: number; scale: number }): number {
  if (!Number.isFinite(value)) throw new RangeError(`simulated value is not finite: ${value}`);
  return Math.round(Math.min(spec.high, Math.max(spec.low, value)) * spec.scale) / spec.scale + 0;
}

const NO_EVENTS: readonly StepEvent[] = Object.freeze([]);

// --- scenario-driven simulation ------------------------------------------------------------

export interface SimulationOptions {
  /** Timestamp of the first step, ms since the epoch. */
  startMs: number;
  /** Number of steps; omitted, the steps never end. */
  steps?: number;
  /**
   * Record the ground truth as the steps go. Default false: the windows, events and hourly truth
   * samples grow with simulated time, so an endless live run must not keep them unless someone
   * will read them (an export, `sim --ground-truth`).
   */
  recordTruth?: boolean;
  /** Spacing of the wear/RUL samples in the ground truth. Default one hour. */
  truthEveryMs?: number;
}

export interface Simulation {
  readonly scenario: Scenario;
  readonly plant: Plant;
  readonly startMs: number;
  readonly periodMs: number;
  /** The steps, faults applied. Iterate once. */
  readonly steps: Generator<SimStep, void, undefined>;
  /**
   * Fed as the steps are consumed; `snapshot()` at any time gives the truth so far. Undefined
   * unless the simulation was created with `recordTruth`.
   */
  readonly groundTruth: GroundTruthRecorder | undefined;
}

/** With `recordTruth: true`, the ground truth is there to read. */
export function createSimulation(scenario: Scenario, opts: SimulationOptions & { recordTruth: true }): Simulation & { readonly groundTruth: GroundTruthRecorder };
export function createSimulation(scenario: Scenario, opts: SimulationOptions): Simulation;
export function createSimulation(scenario: Scenario, opts: SimulationOptions): Simulation {
  const { startMs, steps } = opts;
  const { periodMs, seed } = scenario;
  checkTiming(startMs, periodMs, steps);
  const plant = buildScenarioPlant(scenario);
  const groundTruth = opts.recordTruth
    ? createGroundTruthRecorder({ scenario: scenario.name, seed, plant, startMs, periodMs, truthEveryMs: opts.truthEveryMs })
    : undefined;
  const layer: FaultLayer | undefined = scenario.faults
    ? createFaultLayer({
        plant,
        schedule: createFaultSchedule({ plant, config: scenario.faults, seed, startMs, periodMs }),
        onFaultStart: groundTruth && ((f) => groundTruth.recordFault(f)),
        onFaultObserved: groundTruth && ((f) => groundTruth.recordObserved(f)),
      })
    : undefined;
  const clean = stepThrough(plant, startMs, periodMs, steps);
  const faulted = (function* (): Generator<SimStep, void, undefined> {
    for (const step of clean) {
      const out = layer ? { ...step, readings: layer.apply(step.index, step.readings) } : step;
      groundTruth?.recordStep(out);
      yield out;
    }
  })();
  return { scenario, plant, startMs, periodMs, steps: faulted, groundTruth };
}

function checkTiming(startMs: number, periodMs: number, steps: number | undefined): void {
  checkTimestamp('startMs', startMs);
  if (!Number.isInteger(periodMs) || periodMs < 1) throw new RangeError(`periodMs must be a positive integer, got ${periodMs}`);
  if (steps !== undefined) {
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`steps must be a non-negative integer, got ${steps}`);
    if (steps > 0) checkTimestamp('the last step', startMs + (steps - 1) * periodMs);
  }
}

function checkTimestamp(what: string, ms: number): void {
  const ok = EpochMs.safeParse(ms);
  if (!ok.success) throw new RangeError(`${what} (${ms}) is not a valid timestamp: ${ok.error.issues[0]?.message ?? 'out of range'}`);
}

export { transmit } from './transmit.js';

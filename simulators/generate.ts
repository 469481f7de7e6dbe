import { EpochMs, type Quality, type SensorId } from '../shared/reading.js';
import type { SensorSpec } from './machines/index.js';
import type { Plant } from './plant.js';
import { createRng, type Rng } from './random.js';

/**
 * Turns a plant into readings: at step i (timestamp startMs + i·periodMs) every machine steps once
 * and every sensor gives one reading. Deterministic: the same plant (same seed) and options give
 * the same readings, byte for byte, on the same Node version. (ECMAScript lets Math.sin/exp/log
 * differ in the last bit between engines; V8 uses the same fdlibm port on every platform.)
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
  /** Absent means good. The base models always read good; fault scenarios will set it. */
  readonly quality?: Quality;
}

/** Checks the options at the call (a generator body would only run at the first `next()`). */
export function generateReadings(plant: Plant, opts: GenerateOptions): Generator<SimReading[], void, undefined> {
  const { startMs, periodMs, steps } = opts;
  checkTimestamp('startMs', startMs);
  if (!Number.isInteger(periodMs) || periodMs < 1) throw new RangeError(`periodMs must be a positive integer, got ${periodMs}`);
  if (steps !== undefined) {
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`steps must be a non-negative integer, got ${steps}`);
    if (steps > 0) checkTimestamp('the last step', startMs + (steps - 1) * periodMs);
  }
  return stepThrough(plant, startMs, periodMs, steps);
}

function* stepThrough(plant: Plant, startMs: number, periodMs: number, steps: number | undefined): Generator<SimReading[], void, undefined> {
  // The evolving part of the simulation, owned here: each machine's state and its random stream.
  const running = plant.machines.map((machine) => {
    const rng: Rng = createRng(machine.noiseSeed);
    return { machine, rng, state: machine.model.initialState(machine.params, startMs, rng) };
  });

  for (let i = 0; steps === undefined || i < steps; i++) {
    const ts = startMs + i * periodMs;
    // Beyond 2100 a reading would fail the `EpochMs` contract; stop the endless case well before.
    if (steps === undefined) checkTimestamp('the step timestamp', ts);
    const readings: SimReading[] = [];
    for (const run of running) {
      const { machine } = run;
      const next = machine.model.step(machine.params, run.state, ts, i === 0 ? 0 : periodMs, run.rng);
      run.state = next.state;
      for (const sensor of machine.sensors) {
        const value = next.values[sensor.name];
        if (value === undefined) throw new Error(`model ${machine.type} gave no value for sensor ${sensor.name}`);
        readings.push({ sensor: sensor.id, ts, value: transmit(value, sensor) });
      }
    }
    yield readings;
  }
}

/**
 * What the transmitter reports: clamped to its measuring range, rounded to its decimals. Any
 * finite double survives JSON exactly; rounding keeps payloads short and makes the values equal
 * after a trip through a decimal text column too. `+ 0` turns -0 into 0 (JSON writes -0 as "0",
 * and `Object.is(-0, 0)` is false, so a test comparing sent and received values would fail).
 */
export function transmit(value: number, spec: Pick<SensorSpec, 'range' | 'decimals'>): number {
  if (!Number.isFinite(value)) throw new RangeError(`simulated value is not finite: ${value}`);
  const [low, high] = spec.range;
  const scale = 10 ** spec.decimals;
  return Math.round(Math.min(high, Math.max(low, value)) * scale) / scale + 0;
}

function checkTimestamp(what: string, ms: number): void {
  const ok = EpochMs.safeParse(ms);
  if (!ok.success) throw new RangeError(`${what} (${ms}) is not a valid timestamp: ${ok.error.issues[0]?.message ?? 'out of range'}`);
}

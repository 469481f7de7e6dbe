import type { Rng } from '../random.js';

/**
 * What every machine model provides, and the small pieces of physics they share.
 *
 * A model is three functions over explicit values: `drawParams` fixes a machine's constants once
 * (size, rated speed, how fast it wears), `initialState` gives its state at the first timestamp,
 * and `step` maps (constants, state, time) to the next state and the sensor values. `step` never
 * mutates its inputs; its only other input is the random stream it is handed, whose state the
 * generator owns and carries from step to step like the machine state itself.
 *
 * The physics is deliberately light: a daily load cycle drives the process values, a wear term
 * that only grows drifts vibration, temperature and current upward (and efficiency down), a
 * first-order thermal lag smooths temperatures, and Gaussian noise plays the transmitter.
 */

export interface SensorSpec {
  /** Engineering unit as shown to people (and later the OPC-UA EngineeringUnits display name). */
  readonly unit: string;
  /** Decimals the transmitter reports; values are rounded to this. */
  readonly decimals: number;
  /**
   * Measuring range [low, high] of the transmitter (OPC-UA EURange). A 4–20 mA loop saturates at
   * its ends, so reported values are clamped to it.
   */
  readonly range: readonly [number, number];
  readonly description: string;
}

export interface StepResult<S, K extends string> {
  readonly state: S;
  /** Physical values before the transmitter (not yet clamped or rounded). */
  readonly values: Readonly<Record<K, number>>;
}

/**
 * P: per-machine constants, S: evolving state, K: sensor names. Methods (not function-valued
 * properties) on purpose: their parameters are checked bivariantly, which lets a plant hold models
 * of different types as `AnyMachineModel` while each machine's params and state stay paired with
 * the model that made them.
 */
export interface MachineModel<P, S, K extends string> {
  readonly type: string;
  /** Production line the machines of this type stand on, a UNS path segment. */
  readonly line: string;
  /** Machine name prefix, numbered per type: pump-1, pump-2 ... */
  readonly namePrefix: string;
  /** Sensor name → spec, in the order readings are emitted. Names are UNS path segments. */
  readonly sensors: Readonly<Record<K, SensorSpec>>;
  drawParams(rng: Rng): P;
  initialState(params: P, tMs: number, rng: Rng): S;
  /** `dtMs` is the time since the previous step, 0 on the first one. */
  step(params: P, state: S, tMs: number, dtMs: number, rng: Rng): StepResult<S, K>;
}

export type AnyMachineModel = MachineModel<unknown, unknown, string>;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Hour of the day in [0, 24), UTC shifted by `phaseH` (plants and machines do not all peak together). */
export function hourOfDay(tMs: number, phaseH = 0): number {
  const h = (tMs / HOUR_MS + phaseH) % 24;
  return h < 0 ? h + 24 : h;
}

/**
 * Production load in [0.38, 0.92]: a smooth daily cycle that peaks mid-afternoon (day shift, full
 * order book) and bottoms out around 03:00 (night shift at reduced throughput). A sinusoid rather
 * than shift steps, so that anomaly detectors are not tested on step changes they should flag.
 */
export function dailyLoad(tMs: number, phaseH: number): number {
  return 0.65 + 0.27 * Math.sin((2 * Math.PI * (hourOfDay(tMs, phaseH) - 9)) / 24);
}

/** Hall temperature in °C: warmer in the afternoon. */
export function ambientC(tMs: number): number {
  return 24 + 4 * Math.sin((2 * Math.PI * (hourOfDay(tMs) - 10)) / 24);
}

/**
 * First-order thermal lag towards `targetC` with time constant `tauMs`. The exact exponential
 * solution, so it is stable and period-independent for any step length (a 1 s and a 1 h period
 * follow the same curve).
 */
export function thermalStep(tempC: number, targetC: number, dtMs: number, tauMs: number): number {
  return targetC + (tempC - targetC) * Math.exp(-dtMs / tauMs);
}

/**
 * Wear in [0, 1] grows with work done: `hoursToWearOut` of full-load running takes a new machine
 * to 1, where a plant would overhaul it. Capped at 1 because overhauls and faults are scenarios,
 * not part of the base model.
 */
export function wearStep(wear: number, load: number, dtMs: number, hoursToWearOut: number): number {
  return Math.min(1, wear + (load * dtMs) / HOUR_MS / hoursToWearOut);
}

/**
 * Vibration velocity RMS in mm/s. `baseMmS` is a new machine at full speed. ISO 10816-3 zones for
 * medium machines on rigid foundations: A < 1.4, B < 2.8, C < 4.5 mm/s, above is D (damage). With
 * bases around 1 mm/s a new machine sits in A; wear grows vibration quadratically, so a worn one
 * (wear 1) reaches the C/D boundary, where the standard says repair.
 */
export function vibrationRms(baseMmS: number, speedFraction: number, wear: number): number {
  return baseMmS * (0.3 + 0.7 * speedFraction) * (1 + 2.5 * wear * wear);
}

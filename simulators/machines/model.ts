import type { Rng } from '../random.js';

/**
 * What every machine model provides, and the small pieces of physics they share.
 *
 * A model is three functions over explicit values: `drawParams` fixes a machine's constants once
 * (size, rated speed, shift pattern, how long its parts last), `initialState` gives its state at
 * the first timestamp, and `step` maps (constants, state, time) to the next state, the sensor
 * values and what happened in between (failures, repairs, maintenance). `step` never mutates its
 * inputs; its only other input is the random stream it is handed, whose state the generator owns
 * and carries from step to step like the machine state itself.
 *
 * The physics is deliberately light: shifts and a daily load cycle drive the process values, a
 * degradation process particular to each type (bearing wear, seal leak, belt slip, valve wear)
 * moves its signals over days until the machine fails, is repaired and starts a fresh life, a
 * first-order thermal lag smooths temperatures towards a plant-wide hall temperature, and
 * Gaussian noise plays the transmitter. The shared life cycle (failures, repairs, counters, the
 * running / idle / down / setup state) lives in `operation.ts`.
 */

/**
 * analog: a measured value. counter: a running total (energy, parts) that never decreases, not
 * even across a repair. state: an index into `states`.
 */
export type SensorKind = 'analog' | 'counter' | 'state';

export interface SensorSpec {
  /**
   * Engineering unit as shown to people (and the OPC-UA EngineeringUnits display name). '1' for a
   * dimensionless ratio, '' for a state, which has no unit.
   */
  readonly unit: string;
  /** Decimals the transmitter reports; values are rounded to this. Counters and states use 0 (energy 2). */
  readonly decimals: number;
  /**
   * Measuring range [low, high] of the transmitter (OPC-UA EURange). A 4–20 mA loop saturates at
   * its ends, so reported values are clamped to it.
   */
  readonly range: readonly [number, number];
  readonly description: string;
  readonly kind: SensorKind;
  /** Only for kind 'state': the enumeration the value indexes, always `MACHINE_STATES`. */
  readonly states?: readonly string[];
}

/**
 * The machine state every machine reports on its `state` sensor, as the index into this list
 * (running = 0 ... setup = 3). The order is a contract: the OPC-UA enumeration and stored values
 * use these indices.
 */
export const MACHINE_STATES = ['running', 'idle', 'down', 'setup'] as const;
export type MachineStateName = (typeof MACHINE_STATES)[number];
export type MachineStateIndex = 0 | 1 | 2 | 3;
export const RUNNING = 0;
export const IDLE = 1;
export const DOWN = 2;
export const SETUP = 3;

/**
 * Something that happened to a machine between two steps, at its true time `ts` (ms), which may
 * fall between step timestamps: prevTs < ts <= the step's tMs.
 *
 * - failure: the degradation reached its end; the machine is down from `ts`.
 * - repair_start / repair_end: a technician starts and finishes the repair (the maintenance log
 *   entry); after repair_end the machine has a fresh life (wear 0) and is commissioned (setup).
 * - maintenance: preventive work that does not stop the machine's life (e.g. a compressor intake
 *   filter change).
 */
export type MachineEventKind = 'failure' | 'repair_start' | 'repair_end' | 'maintenance';

export interface MachineEvent {
  readonly kind: MachineEventKind;
  readonly ts: number;
  /** One line for people, e.g. "bearing wear: drive-end bearing seized". */
  readonly detail: string;
  /** The degradation mode or maintenance item, a stable name, e.g. 'bearing_wear', 'intake_filter'. */
  readonly mode?: string;
}

/**
 * What the simulator knows and an analysis should estimate, per machine per step.
 *
 * `rulHours` is the true remaining useful life in running hours at nominal stress (a machine that
 * stands idle does not use up life; one driven harder uses it faster). The calendar time to the
 * next failure depends on the future schedule; the ground truth can fill it in afterwards from the
 * failure events. While the machine is down both are at their end: wear 1, rulHours 0.
 */
export interface MachineTruth {
  /** Degradation in [0, 1]: 0 new, 1 failed. */
  readonly wear: number;
  readonly rulHours?: number;
  /** The degradation mode that will end this life, e.g. 'bearing_wear'. */
  readonly mode?: string;
  /** Operating setting: load as a fraction of rated in [0, ~1.2], 0 when not running. */
  readonly load?: number;
  /** Product (job recipe) index on machines that make parts; absent otherwise. */
  readonly product?: number;
}

export interface StepResult<S, K extends string> {
  readonly state: S;
  /** Physical values before the transmitter (not yet clamped or rounded). */
  readonly values: Readonly<Record<K, number>>;
  /** What happened since the previous step, in time order; absent or empty when nothing did. */
  readonly events?: readonly MachineEvent[];
  readonly truth?: MachineTruth;
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
export const DAY_MS = 86_400_000;

/** Hour of the day in [0, 24), UTC shifted by `phaseH` (plants and machines do not all peak together). */
export function hourOfDay(tMs: number, phaseH = 0): number {
  const h = (tMs / HOUR_MS + phaseH) % 24;
  return h < 0 ? h + 24 : h;
}

/** Day of the week of plant time (UTC): 0 Sunday ... 6 Saturday. 1970-01-01 was a Thursday. */
export function dayOfWeek(tMs: number): number {
  const d = (Math.floor(tMs / DAY_MS) + 4) % 7;
  return d < 0 ? d + 7 : d;
}

/**
 * Production load in [0.38, 0.92]: a smooth daily cycle that peaks mid-afternoon (day shift, full
 * order book) and bottoms out around 03:00 (night shift at reduced throughput). Shift starts and
 * stops come from the machine's calendar (`operation.ts`), on top of this.
 */
export function dailyLoad(tMs: number, phaseH: number): number {
  return 0.65 + 0.27 * Math.sin((2 * Math.PI * (hourOfDay(tMs, phaseH) - 9)) / 24);
}

/**
 * Hall temperature in °C, the plant-level coupling every machine's temperatures follow: a daily
 * swing (warmest mid-afternoon), the season (warmest late July) and weather fronts passing over a
 * few days (two slow sinusoids of unrelated periods, so the pattern does not repeat weekly). A
 * function of time only: every machine of a plant, and every plant, sees the same hall weather;
 * machines add their own `ambientOffsetC` for where they stand.
 */
export function ambientC(tMs: number): number {
  const days = tMs / DAY_MS;
  return (
    22 +
    3.5 * Math.sin((2 * Math.PI * (hourOfDay(tMs) - 10)) / 24) +
    3 * Math.cos((2 * Math.PI * (days - 206)) / 365.25) +
    1.5 * Math.sin((2 * Math.PI * days) / 3.3 + 1) +
    1 * Math.sin((2 * Math.PI * days) / 7.9 + 2)
  );
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
 * to 1. Kept for callers of the first cut; the models now use the life cycle in `operation.ts`.
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

/** 0 below `lo`, 1 above `hi`, a smooth S between. */
export function smoothstep(lo: number, hi: number, x: number): number {
  if (x <= lo) return 0;
  if (x >= hi) return 1;
  const u = (x - lo) / (hi - lo);
  return u * u * (3 - 2 * u);
}

/**
 * How a rolling-element bearing's damage `d` in [0, 1] shows in its vibration, after the classic
 * four stages (e.g. the IMS and PRONOSTIA run-to-failure sets):
 *
 * - d < 0.2: no defect yet, kurtosis about 3 (Gaussian background), RMS at baseline.
 * - 0.2–0.55: small spalls give short impacts at the defect frequency. Kurtosis climbs to about
 *   10 while RMS barely moves (+5 %): the early warning.
 * - 0.55–1: the damage spreads and the signal turns broadband. RMS rises steeply (to about 3.7×
 *   at failure, ISO 10816 zone D for a machine that started in A), kurtosis falls back from its
 *   peak but stays well above 3, and friction heats the bearing.
 */
export function bearingKurtosis(d: number): number {
  return 3 + 7 * smoothstep(0.2, 0.55, d) * (1 - 0.45 * smoothstep(0.75, 1, d));
}

export function bearingRmsFactor(d: number): number {
  const x = d > 0.5 ? (d - 0.5) / 0.5 : 0;
  return 1 + 0.1 * d + 2.6 * x * x;
}

/** Extra bearing heat, as a fraction of the rise at failure: nothing until the damage spreads. */
export function bearingHeat(d: number): number {
  const x = d > 0.6 ? (d - 0.6) / 0.4 : 0;
  return x * x;
}

/**
 * A kurtosis estimate over one short window: a statistic of a few thousand samples, so it
 * scatters, more so the more impulsive the signal. Never below 1.5 (no real vibration is flatter).
 */
export function measuredKurtosis(trueKurtosis: number, rng: Rng): number {
  return Math.max(1.5, trueKurtosis + rng.normal(0, 0.05 * trueKurtosis));
}

/** Line-to-line voltage of the plant's motors, V. */
export const MAINS_V = 400;

export interface MotorDraw {
  readonly currentA: number;
  readonly powerKw: number;
}

/**
 * A three-phase induction motor at 400 V running with `shaft` load (fraction of rated shaft power,
 * about 0..1.3). Current: about 30 % of rated is magnetising current, drawn even unloaded, and adds
 * in quadrature to the torque current. Power: rated input is √3·U·I·cos φ with cos φ 0.85; losses
 * of 5 % of it are drawn even unloaded. A motor that is off draws nothing.
 */
export function motorDraw(ratedCurrentA: number, shaft: number): MotorDraw {
  if (shaft < 0) return { currentA: 0, powerKw: 0 };
  const ratedKw = (Math.sqrt(3) * MAINS_V * ratedCurrentA * 0.85) / 1000;
  return {
    currentA: ratedCurrentA * Math.sqrt(0.09 + 0.91 * shaft * shaft),
    powerKw: ratedKw * (0.05 + 0.95 * shaft),
  };
}

/** Binomial draw; a normal approximation above 20 trials (a long step can hold hundreds of parts). */
export function binomial(rng: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n <= 20) {
    let k = 0;
    for (let i = 0; i < n; i++) if (rng.next() < p) k++;
    return k;
  }
  const k = Math.round(rng.normal(n * p, Math.sqrt(n * p * (1 - p))));
  return k < 0 ? 0 : k > n ? n : k;
}

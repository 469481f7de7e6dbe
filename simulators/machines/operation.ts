import type { Rng } from '../random.js';
import {
  DOWN,
  HOUR_MS,
  MACHINE_STATES,
  MINUTE_MS,
  binomial,
  dayOfWeek,
  hourOfDay,
  type MachineEvent,
  type MachineStateIndex,
  type MachineTruth,
  type SensorSpec,
} from './model.js';

/**
 * The life cycle every machine shares, whatever its physics: when it is on shift, how its
 * degradation runs to a failure, the repair and the fresh life after it, and the counters (energy,
 * parts) that only ever grow. Each model keeps an `Operation` in its state and, at every step:
 *
 * 1. `advance` applies what the previous step reported (power, part rate, stress) over the elapsed
 *    interval: energy and parts accrue, wear grows, and a failure, the start and the end of a
 *    repair are detected at their true times (events may fall between step timestamps);
 * 2. `availability` says whether the machine is down, being commissioned after a repair, off
 *    shift, or free to work, and the model picks running / idle / setup from its own job logic;
 * 3. the model computes its physical values for that state and `settle` records the rates for
 *    the next interval.
 *
 * Integration is the left rectangle rule: over (prev, t] the machine does what it reported at
 * prev. With a 1 s period that is exact enough; with an hourly period a setup of 20 minutes may
 * fall between two steps and never show, which is what an hourly historian would see too.
 */

/** When a machine is staffed. Plant time is UTC. */
export interface Calendar {
  /** 3: round the clock, every day. 2: 06:00–22:00 Monday to Friday, idle at night and weekends. */
  readonly shifts: 2 | 3;
  /** Operators take a 30-minute break four hours into each shift (10:00, 18:00, 02:00); the machine stands. */
  readonly breaks: boolean;
  /** Minutes after the shift (and break) times this machine starts: operators do not all start at once. */
  readonly startDelayMin: number;
}

export function drawCalendar(rng: Rng, shifts: readonly (2 | 3)[], breaks: boolean): Calendar {
  return { shifts: rng.pick(shifts), breaks, startDelayMin: Math.round(rng.uniform(0, 20)) };
}

/** Whether the machine is staffed and meant to work at `tMs`. */
export function onShift(cal: Calendar, tMs: number): boolean {
  const t = tMs - cal.startDelayMin * MINUTE_MS;
  const h = hourOfDay(t);
  if (cal.shifts === 2) {
    const dow = dayOfWeek(t);
    if (dow === 0 || dow === 6 || h < 6 || h >= 22) return false;
  }
  if (cal.breaks) {
    // Four hours into each shift (06, 14, 22): 10:00, 18:00, 02:00.
    const intoShift = (h + 18) % 8; // hours since the last shift start
    if (intoShift >= 4 && intoShift < 4.5) return false;
  }
  return true;
}

/** How a type wears out: constant per type, named in events and in the truth. */
export interface Degradation {
  /** Stable name, e.g. 'bearing_wear'. */
  readonly mode: string;
  /** What the failure is, e.g. 'drive-end bearing seized'. */
  readonly failure: string;
  /** What the repair does, e.g. 'replaced drive-end bearing'. */
  readonly repair: string;
}

/** A machine's life constants, drawn once. */
export interface LifeParams {
  /** Weibull scale of one life, in running hours at nominal stress (stress 1). */
  readonly lifeScaleH: number;
  /** Repair duration, hours, drawn uniformly from this range at each failure. */
  readonly repairH: readonly [number, number];
}

/** While failed: the machine waits for a technician, then is repaired. */
export interface Downtime {
  readonly failedMs: number;
  readonly repairStartMs: number;
  readonly repairEndMs: number;
  readonly repairing: boolean;
}

export interface Operation {
  /** The state the last step reported. */
  readonly state: MachineStateIndex;
  /** Degradation of this life in [0, 1]; the machine fails when it reaches 1. */
  readonly wear: number;
  /** Running hours at nominal stress this life lasts, drawn when it starts. */
  readonly lifeH: number;
  readonly down: Downtime | null;
  /** After a repair the machine is commissioned (state setup) until this time. */
  readonly commissionUntilMs: number;
  readonly energyKwh: number;
  readonly partsGood: number;
  readonly partsScrap: number;
  /** The part in progress, as a fraction: parts are counted whole. */
  readonly partFraction: number;
  /** Rates the last step reported; `advance` applies them over the next interval. */
  readonly powerKw: number;
  readonly partsPerH: number;
  readonly scrapRatio: number;
  /** Wear rate relative to nominal: 1 at the machine's usual duty, 0 when stopped. */
  readonly stress: number;
}

/** Weibull, shape 3 (wear-out: failures bunch around the scale), cut to 0.35–2 times the scale. */
export function drawLifeH(p: LifeParams, rng: Rng): number {
  const x = Math.cbrt(-Math.log(1 - rng.next()));
  return p.lifeScaleH * Math.min(2, Math.max(0.35, x));
}

export interface InitialCounters {
  readonly energyKwh: readonly [number, number];
  /** Parts made so far, for machines that make parts. */
  readonly parts?: readonly [number, number];
}

/**
 * A machine met in the middle of its life (wear 0–0.7, so a plant's failures spread out instead of
 * coming all at once), with meters that already show a history.
 */
export function initialOperation(p: LifeParams, counters: InitialCounters, rng: Rng): Operation {
  const lifeH = drawLifeH(p, rng);
  const wear = rng.uniform(0, 0.7);
  const energyKwh = Math.round(rng.uniform(counters.energyKwh[0], counters.energyKwh[1]) * 100) / 100;
  let partsGood = 0;
  let partsScrap = 0;
  if (counters.parts) {
    const made = Math.round(rng.uniform(counters.parts[0], counters.parts[1]));
    partsScrap = Math.round(made * rng.uniform(0.008, 0.02));
    partsGood = made - partsScrap;
  }
  return {
    state: 1,
    wear,
    lifeH,
    down: null,
    commissionUntilMs: -Infinity,
    energyKwh,
    partsGood,
    partsScrap,
    partFraction: 0,
    powerKw: 0,
    partsPerH: 0,
    scrapRatio: 0,
    stress: 0,
  };
}

const NO_EVENTS: readonly MachineEvent[] = Object.freeze([]);

export interface Advanced {
  readonly op: Operation;
  readonly events: readonly MachineEvent[];
}

/**
 * Applies the interval (tMs - dtMs, tMs]: accrues energy, parts and wear at the rates the previous
 * step reported, and runs the failure → repair_start → repair_end sequence, several transitions in
 * one call if the interval is long. Energy and parts stop at the failure time.
 */
export function advance(op: Operation, p: LifeParams, deg: Degradation, tMs: number, dtMs: number, rng: Rng): Advanced {
  let events: MachineEvent[] | null = null;
  const prevMs = tMs - dtMs;
  let { wear, lifeH, down, commissionUntilMs, energyKwh, partsGood, partsScrap, partFraction } = op;
  let activeMs = dtMs;

  if (down === null && dtMs > 0 && op.stress > 0) {
    const inc = (op.stress * dtMs) / HOUR_MS / lifeH;
    if (wear + inc >= 1) {
      const failedMs = Math.min(tMs, prevMs + Math.max(1, Math.round(((1 - wear) / inc) * dtMs)));
      activeMs = failedMs - prevMs;
      wear = 1;
      const repairStartMs = failedMs + Math.round(rng.uniform(0.25, 2.5) * HOUR_MS);
      const repairEndMs = repairStartMs + Math.round(rng.uniform(p.repairH[0], p.repairH[1]) * HOUR_MS);
      down = { failedMs, repairStartMs, repairEndMs, repairing: false };
      (events ??= []).push({ kind: 'failure', ts: failedMs, detail: `${deg.mode.replace(/_/g, ' ')}: ${deg.failure}`, mode: deg.mode });
    } else {
      wear += inc;
    }
  }

  if (activeMs > 0) {
    const hours = activeMs / HOUR_MS;
    energyKwh += op.powerKw * hours;
    if (op.partsPerH > 0) {
      const progress = partFraction + op.partsPerH * hours;
      const made = Math.floor(progress);
      partFraction = progress - made;
      const scrap = binomial(rng, made, op.scrapRatio);
      partsScrap += scrap;
      partsGood += made - scrap;
    }
  }

  if (down !== null && !down.repairing && tMs >= down.repairStartMs) {
    down = { ...down, repairing: true };
    (events ??= []).push({ kind: 'repair_start', ts: down.repairStartMs, detail: `repair started: ${deg.repair}`, mode: deg.mode });
  }
  if (down !== null && down.repairing && tMs >= down.repairEndMs) {
    (events ??= []).push({ kind: 'repair_end', ts: down.repairEndMs, detail: `repair done: ${deg.repair}; fresh life`, mode: deg.mode });
    commissionUntilMs = down.repairEndMs + Math.round(rng.uniform(15, 45) * MINUTE_MS);
    down = null;
    wear = 0;
    lifeH = drawLifeH(p, rng);
  }

  return {
    op: { ...op, wear, lifeH, down, commissionUntilMs, energyKwh, partsGood, partsScrap, partFraction },
    events: events ?? NO_EVENTS,
  };
}

/**
 * What the machine may do at `tMs`: 'down' (failed or under repair), 'commissioning' (setup after a
 * repair), 'off' (off shift or on a break) or 'free' (the model's own job logic decides).
 */
export type Availability = 'down' | 'commissioning' | 'off' | 'free';

export function availability(op: Operation, cal: Calendar, tMs: number): Availability {
  if (op.down !== null) return 'down';
  if (tMs < op.commissionUntilMs) return 'commissioning';
  return onShift(cal, tMs) ? 'free' : 'off';
}

export interface Rates {
  readonly powerKw: number;
  readonly partsPerH?: number;
  readonly scrapRatio?: number;
  readonly stress: number;
}

/** Records the state shown at this step and the rates that apply until the next one. */
export function settle(op: Operation, state: MachineStateIndex, rates: Rates): Operation {
  const down = state === DOWN;
  return {
    ...op,
    state,
    powerKw: down ? 0 : rates.powerKw,
    partsPerH: down ? 0 : (rates.partsPerH ?? 0),
    scrapRatio: rates.scrapRatio ?? 0,
    stress: down ? 0 : rates.stress,
  };
}

/** The truth of a step: wear and remaining running hours at nominal stress. */
export function truthOf(op: Operation, deg: Degradation, load: number, product?: number): MachineTruth {
  const rulHours = op.down === null ? (1 - op.wear) * op.lifeH : 0;
  return product === undefined
    ? { wear: op.wear, rulHours, mode: deg.mode, load }
    : { wear: op.wear, rulHours, mode: deg.mode, load, product };
}


/**
 * Production jobs on machines that make parts: a job runs one product for a while, a changeover
 * (setup) sets up the next product, and when the order book is thin the machine waits for work.
 */
export type Activity = 'run' | 'setup' | 'wait';

export interface Job {
  readonly activity: Activity;
  /** The activity lasts until this time; the first free step at or after it starts the next one. */
  readonly endsMs: number;
  /** Index into the machine's products. */
  readonly product: number;
}

export interface JobPlan {
  readonly runMin: readonly [number, number];
  readonly setupMin: readonly [number, number];
  readonly waitMin: readonly [number, number];
  readonly products: number;
}

/** A job that has already ended, so the first free step picks the next activity. */
export function firstJob(tMs: number, product: number): Job {
  return { activity: 'wait', endsMs: tMs, product };
}

/**
 * After a run: wait for work with probability 0.8·(1 − load) (the night's thin order book), else
 * change over to another product. After a setup: run. After a wait: change over or run the same
 * product again, even odds.
 */
export function nextJob(prev: Job, tMs: number, load: number, plan: JobPlan, rng: Rng): Job {
  const minutes = (range: readonly [number, number]): number => tMs + Math.round(rng.uniform(range[0], range[1]) * MINUTE_MS);
  const changeover = (): Job => {
    const n = plan.products;
    const product = n > 1 ? (prev.product + 1 + Math.floor(rng.next() * (n - 1))) % n : prev.product;
    return { activity: 'setup', endsMs: minutes(plan.setupMin), product };
  };
  switch (prev.activity) {
    case 'run':
      return rng.next() < 0.8 * (1 - load) ? { activity: 'wait', endsMs: minutes(plan.waitMin), product: prev.product } : changeover();
    case 'setup':
      return { activity: 'run', endsMs: minutes(plan.runMin), product: prev.product };
    case 'wait':
      return rng.next() < 0.5 ? changeover() : { activity: 'run', endsMs: minutes(plan.runMin), product: prev.product };
  }
}

// Sensor specs every type shares.

export const STATE_SENSOR: SensorSpec = {
  unit: '',
  decimals: 0,
  range: [0, 3],
  description: 'machine state: 0 running, 1 idle, 2 down (failed or under repair), 3 setup',
  kind: 'state',
  states: MACHINE_STATES,
};

export const ENERGY_SENSOR: SensorSpec = {
  unit: 'kWh',
  decimals: 2,
  range: [0, 1e9],
  description: 'electrical energy drawn, meter total',
  kind: 'counter',
};

export function partsSensors(good: string, scrap: string): { parts_good: SensorSpec; parts_scrap: SensorSpec } {
  return {
    parts_good: { unit: 'parts', decimals: 0, range: [0, 1e12], description: good, kind: 'counter' },
    parts_scrap: { unit: 'parts', decimals: 0, range: [0, 1e12], description: scrap, kind: 'counter' },
  };
}

export function kurtosisSensor(where: string): SensorSpec {
  return {
    unit: '1',
    decimals: 2,
    range: [0, 50],
    description: `${where} vibration kurtosis (3 for a healthy, Gaussian signal; impacts from early damage raise it)`,
    kind: 'analog',
  };
}

/** Vibration a stopped machine's sensor still picks up through the floor from its neighbours, mm/s RMS. */
export function standstillRms(rng: Rng): number {
  return Math.abs(rng.normal(0.08, 0.02));
}

/** Kurtosis of that background: Gaussian, about 3. */
export function standstillKurtosis(rng: Rng): number {
  return Math.max(1.5, rng.normal(3, 0.15));
}

import type { Rng } from '../random.js';
import {
  DOWN,
  IDLE,
  MAINS_V,
  MINUTE_MS,
  RUNNING,
  SETUP,
  ambientC,
  bearingHeat,
  bearingKurtosis,
  bearingRmsFactor,
  dailyLoad,
  measuredKurtosis,
  motorDraw,
  smoothstep,
  thermalStep,
  type MachineModel,
  type MachineStateIndex,
  type SensorSpec,
} from './model.js';
import {
  ENERGY_SENSOR,
  STATE_SENSOR,
  advance,
  availability,
  drawCalendar,
  firstJob,
  initialOperation,
  kurtosisSensor,
  nextJob,
  partsSensors,
  settle,
  standstillKurtosis,
  standstillRms,
  truthOf,
  type Calendar,
  type Degradation,
  type Job,
  type JobPlan,
  type LifeParams,
  type Operation,
} from './operation.js';

/**
 * The spindle of a CNC machining centre. It runs jobs: each job machines one product (its program
 * fixes the spindle speed, the cutting load and the cycle time per part), a setup (fixtures, tools,
 * first-article check) comes between products, and when the order book is thin the machine waits.
 * How often it is busy follows the daily load; off shift it stands.
 *
 * Degradation: spindle bearing wear. Kurtosis rises first, then RMS; a worn spindle runs hotter,
 * needs more torque for the same cut, and chatter marks turn parts into scrap.
 */

export type SpindleSensor =
  | 'speed'
  | 'spindle_load'
  | 'motor_current'
  | 'vibration_rms'
  | 'vibration_kurtosis'
  | 'bearing_temperature'
  | 'energy_kwh'
  | 'state'
  | 'parts_good'
  | 'parts_scrap';

export interface SpindleProduct {
  /** Programmed speed as a fraction of the maximum. */
  readonly speedFraction: number;
  /** Cutting load as a fraction of rated torque. */
  readonly cut: number;
  /** Minutes per part. */
  readonly cycleMin: number;
  /** Scrap ratio of a healthy spindle on this product. */
  readonly scrapRatio: number;
}

export interface SpindleParams {
  readonly maxSpeedRpm: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  readonly loadPhaseH: number;
  readonly bearingRiseC: number;
  readonly ambientOffsetC: number;
  readonly products: readonly SpindleProduct[];
  readonly calendar: Calendar;
  readonly life: LifeParams;
}

/** The spindle's current job; the product fixes speed and cut. */
export type SpindleJob = Job;

export interface SpindleState {
  readonly op: Operation;
  readonly bearingTempC: number;
  readonly job: SpindleJob;
}

const SENSORS: Record<SpindleSensor, SensorSpec> = {
  speed: { unit: 'rpm', decimals: 1, range: [0, 30_000], description: 'spindle speed', kind: 'analog' },
  spindle_load: { unit: '%', decimals: 1, range: [0, 150], description: 'spindle load, percent of rated torque', kind: 'analog' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 100], description: 'spindle drive current', kind: 'analog' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'spindle housing vibration velocity, RMS', kind: 'analog' },
  vibration_kurtosis: kurtosisSensor('spindle housing'),
  bearing_temperature: { unit: '°C', decimals: 2, range: [-20, 150], description: 'front spindle bearing temperature', kind: 'analog' },
  energy_kwh: ENERGY_SENSOR,
  state: STATE_SENSOR,
  ...partsSensors('good parts machined, total', 'scrapped parts (setup trial parts, out of tolerance), total'),
};

export const SPINDLE_DEGRADATION: Degradation = {
  mode: 'bearing_wear',
  failure: 'front spindle bearing failed, spindle locked',
  repair: 'rebuilt spindle cartridge with new bearings',
};

const PLAN: Omit<JobPlan, 'products'> = { runMin: [60, 300], setupMin: [15, 40], waitMin: [10, 40] };

const THERMAL_TAU_MS = 15 * MINUTE_MS;

export const cncSpindle: MachineModel<SpindleParams, SpindleState, SpindleSensor> = {
  type: 'cnc-spindle',
  line: 'machining',
  namePrefix: 'cnc',
  sensors: SENSORS,

  drawParams(rng: Rng): SpindleParams {
    const productCount = 3 + Math.floor(rng.next() * 3);
    return {
      maxSpeedRpm: rng.pick([12_000, 18_000, 24_000]),
      ratedCurrentA: rng.uniform(12, 40),
      baseVibrationMmS: rng.uniform(0.5, 1.0),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      bearingRiseC: rng.uniform(18, 30),
      ambientOffsetC: rng.uniform(-1, 1.5),
      products: Array.from({ length: productCount }, () => ({
        speedFraction: rng.uniform(0.3, 1),
        cut: rng.uniform(0.2, 0.7),
        cycleMin: rng.uniform(2, 12),
        scrapRatio: rng.uniform(0.005, 0.02),
      })),
      calendar: drawCalendar(rng, [2, 3, 3], rng.next() < 0.5),
      life: { lifeScaleH: rng.uniform(120, 260), repairH: [6, 14] },
    };
  },

  initialState(p, tMs, rng) {
    const op = initialOperation(p.life, { energyKwh: [5e3, 1.5e5], parts: [2e4, 4e5] }, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    return {
      op,
      bearingTempC: ambient + p.bearingRiseC * 0.5 + 20 * bearingHeat(op.wear),
      job: firstJob(tMs, Math.floor(rng.next() * p.products.length)),
    };
  },

  step(p, s, tMs, dtMs, rng) {
    const { op: accrued, events } = advance(s.op, p.life, SPINDLE_DEGRADATION, tMs, dtMs, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    const d = accrued.wear;

    let job = s.job;
    let state: MachineStateIndex;
    const where = availability(accrued, p.calendar, tMs);
    if (where === 'free' && tMs >= job.endsMs) {
      job = nextJob(job, tMs, dailyLoad(tMs, p.loadPhaseH), { ...PLAN, products: p.products.length }, rng);
    }
    switch (where) {
      case 'down':
        state = DOWN;
        break;
      case 'commissioning':
        state = SETUP;
        break;
      case 'off':
        state = IDLE;
        break;
      case 'free':
        state = job.activity === 'run' ? RUNNING : job.activity === 'setup' ? SETUP : IDLE;
    }

    const product = p.products[job.product] as SpindleProduct;
    // Setup: the spindle turns slowly for touch-off and a trial cut now and then.
    const sf = state === RUNNING ? product.speedFraction : state === SETUP ? 0.1 : 0;
    const busy = sf > 0;
    // A worn spindle needs more torque for the same cut (friction, then preload loss).
    const cut = state === RUNNING ? product.cut * (1 + 0.1 * d + 0.2 * bearingHeat(d)) : state === SETUP ? 0.03 : 0;
    let currentA: number;
    let powerKw: number;
    if (busy) {
      const draw = motorDraw(p.ratedCurrentA, 0.25 * sf + 0.7 * cut);
      currentA = draw.currentA;
      powerKw = draw.powerKw;
    } else if (state === IDLE) {
      // Drive and control powered, spindle stopped: fans and the drive's own losses.
      currentA = 0.08 * p.ratedCurrentA;
      powerKw = (Math.sqrt(3) * MAINS_V * currentA * 0.3) / 1000;
    } else {
      currentA = 0;
      powerKw = 0;
    }
    const bearingTempC = thermalStep(s.bearingTempC, ambient + p.bearingRiseC * sf + (busy ? 20 * bearingHeat(d) : 0), dtMs, THERMAL_TAU_MS);
    // Bearing wear goes with speed and load; heat speeds it up.
    const stress = busy ? ((sf * (0.5 + cut)) / 0.7) * Math.max(0.5, 1 + 0.03 * (ambient - 22)) : 0;
    const partsPerH = state === RUNNING ? 60 / product.cycleMin : state === SETUP && where === 'free' ? 1 : 0;
    const scrapRatio = state === SETUP ? 1 : product.scrapRatio + 0.1 * smoothstep(0.6, 1, d);

    const op = settle(accrued, state, { powerKw, partsPerH, scrapRatio, stress });
    return {
      state: { op, bearingTempC, job },
      values: {
        speed: busy ? p.maxSpeedRpm * sf + rng.normal(0, 0.001 * p.maxSpeedRpm) : 0,
        spindle_load: busy ? Math.abs(100 * cut + rng.normal(0, 1.5)) : Math.abs(rng.normal(0, 0.3)),
        motor_current: currentA > 0 ? currentA + rng.normal(0, 0.01 * p.ratedCurrentA) : 0,
        vibration_rms: busy ? p.baseVibrationMmS * (0.3 + 0.7 * sf) * bearingRmsFactor(d) * (1 + rng.normal(0, 0.05)) : standstillRms(rng),
        // Cutting noise masks part of the bearing impacts.
        vibration_kurtosis: busy ? measuredKurtosis(3.3 + 0.8 * (bearingKurtosis(d) - 3), rng) : standstillKurtosis(rng),
        bearing_temperature: bearingTempC + rng.normal(0, 0.15),
        energy_kwh: op.energyKwh,
        state,
        parts_good: op.partsGood,
        parts_scrap: op.partsScrap,
      },
      events,
      truth: truthOf(op, SPINDLE_DEGRADATION, state === RUNNING ? cut : 0, job.product),
    };
  },
};

import type { Rng } from '../random.js';
import {
  DOWN,
  IDLE,
  MINUTE_MS,
  RUNNING,
  SETUP,
  ambientC,
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
 * A hydraulic press stamping parts, one part per stroke, in jobs: each job runs one product (its
 * die sets the pressure and the stroke rate), a die change (setup) comes between products, and
 * when the order book is thin the press waits with its pump unloaded. Off shift the pump is off.
 *
 * The pressure reported is the peak of the last stroke (what a press controller logs per cycle),
 * not an instantaneous sample, which would alias with the sampling period; when the press is not
 * stroking it is the standing pressure of the circuit.
 *
 * Degradation: cylinder and valve seal leak. Internal leakage grows: the press reaches less peak
 * pressure (under-formed parts: scrap goes up), the pump runs longer per stroke (more current,
 * slightly slower strokes) and the throttled oil heats the tank. Hot oil ages the seals faster.
 */

export type PressSensor =
  | 'hydraulic_pressure'
  | 'stroke_rate'
  | 'motor_current'
  | 'vibration_rms'
  | 'vibration_kurtosis'
  | 'oil_temperature'
  | 'energy_kwh'
  | 'state'
  | 'parts_good'
  | 'parts_scrap';

export interface PressProduct {
  /** Forming pressure as a fraction of the press's set pressure. */
  readonly pressureFraction: number;
  /** Stroke rate as a fraction of rated. */
  readonly rateFraction: number;
  /** Scrap ratio of a healthy press on this product. */
  readonly scrapRatio: number;
}

export interface PressParams {
  readonly setPressureBar: number;
  readonly ratedStrokesPerMin: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  readonly loadPhaseH: number;
  /** Oil temperature rise over ambient at full load, new seals (cooler sized for it). */
  readonly oilRiseC: number;
  readonly ambientOffsetC: number;
  readonly products: readonly PressProduct[];
  readonly calendar: Calendar;
  readonly life: LifeParams;
}

export interface PressState {
  readonly op: Operation;
  readonly oilTempC: number;
  readonly job: Job;
}

const SENSORS: Record<PressSensor, SensorSpec> = {
  hydraulic_pressure: {
    unit: 'bar',
    decimals: 2,
    range: [0, 350],
    description: 'peak cylinder pressure of the last stroke; the standing circuit pressure when not stroking',
    kind: 'analog',
  },
  stroke_rate: { unit: '1/min', decimals: 2, range: [0, 30], description: 'strokes per minute', kind: 'analog' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 150], description: 'hydraulic pump motor current', kind: 'analog' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'hydraulic pump vibration velocity, RMS', kind: 'analog' },
  vibration_kurtosis: kurtosisSensor('hydraulic pump'),
  oil_temperature: { unit: '°C', decimals: 2, range: [-20, 120], description: 'tank oil temperature', kind: 'analog' },
  energy_kwh: ENERGY_SENSOR,
  state: STATE_SENSOR,
  ...partsSensors('good parts stamped, total', 'scrapped parts (trial strokes during setup, under-formed parts), total'),
};

export const PRESS_DEGRADATION: Degradation = {
  mode: 'seal_leak',
  failure: 'cylinder seals leaking, forming pressure not reached',
  repair: 'replaced cylinder and valve seals, changed oil filter',
};

const PLAN: Omit<JobPlan, 'products'> = { runMin: [60, 300], setupMin: [15, 40], waitMin: [10, 45] };

// A tank of oil is a large thermal mass.
const THERMAL_TAU_MS = 45 * MINUTE_MS;

/** Internal leakage in [0, 1]: slow at first, then the seal lips wear through. */
const leakOf = (wear: number): number => wear * Math.sqrt(wear);

export const hydraulicPress: MachineModel<PressParams, PressState, PressSensor> = {
  type: 'hydraulic-press',
  line: 'press-line',
  namePrefix: 'press',
  sensors: SENSORS,

  drawParams(rng: Rng): PressParams {
    const productCount = 2 + Math.floor(rng.next() * 3);
    return {
      setPressureBar: rng.uniform(160, 250),
      ratedStrokesPerMin: rng.uniform(8, 16),
      ratedCurrentA: rng.uniform(25, 80),
      baseVibrationMmS: rng.uniform(1.0, 1.6),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      oilRiseC: rng.uniform(18, 28),
      ambientOffsetC: rng.uniform(0, 3),
      products: Array.from({ length: productCount }, () => ({
        pressureFraction: rng.uniform(0.75, 1),
        rateFraction: rng.uniform(0.7, 1),
        scrapRatio: rng.uniform(0.003, 0.015),
      })),
      calendar: drawCalendar(rng, [2, 2, 3], true),
      life: { lifeScaleH: rng.uniform(100, 220), repairH: [4, 10] },
    };
  },

  initialState(p, tMs, rng) {
    const op = initialOperation(p.life, { energyKwh: [1e4, 3e5], parts: [2e5, 3e6] }, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    return {
      op,
      oilTempC: ambient + p.oilRiseC * (0.4 + 0.6 * dailyLoad(tMs, p.loadPhaseH)) + 18 * leakOf(op.wear),
      job: firstJob(tMs, Math.floor(rng.next() * p.products.length)),
    };
  },

  step(p, s, tMs, dtMs, rng) {
    const { op: accrued, events } = advance(s.op, p.life, PRESS_DEGRADATION, tMs, dtMs, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    const load = dailyLoad(tMs, p.loadPhaseH);
    const leak = leakOf(accrued.wear);

    let job = s.job;
    let state: MachineStateIndex;
    let pumpOn = false;
    const where = availability(accrued, p.calendar, tMs);
    if (where === 'free' && tMs >= job.endsMs) job = nextJob(job, tMs, load, { ...PLAN, products: p.products.length }, rng);
    switch (where) {
      case 'down':
        state = DOWN;
        break;
      case 'commissioning':
        state = SETUP;
        pumpOn = true;
        break;
      case 'off':
        state = IDLE;
        break;
      case 'free':
        state = job.activity === 'run' ? RUNNING : job.activity === 'setup' ? SETUP : IDLE;
        pumpOn = true;
    }

    const product = p.products[job.product] as PressProduct;
    // Stroking: full rate while running, a few slow trial strokes while setting up.
    const strokeFraction =
      state === RUNNING ? product.rateFraction * (0.75 + 0.25 * load) * (1 - 0.1 * leak) : state === SETUP ? 0.15 : 0;
    const pressureFraction = state === RUNNING ? product.pressureFraction : 0.6;
    const stroking = strokeFraction > 0;
    const work = stroking ? strokeFraction * pressureFraction : 0;
    // The pump runs unloaded (25 % shaft power) between strokes; leakage keeps it on load longer.
    const shaft = pumpOn ? (0.25 + 0.75 * work) * (1 + 0.3 * leak) : -1;
    const draw = motorDraw(p.ratedCurrentA, shaft);
    const oilTarget = ambient + (pumpOn ? p.oilRiseC * (0.4 + 0.6 * work) + 18 * leak * (0.3 + 0.7 * work) : 0);
    const oilTempC = thermalStep(s.oilTempC, oilTarget, dtMs, THERMAL_TAU_MS);
    // Seal wear goes with strokes under pressure; every 10 °C of oil above 45 °C adds 40 %.
    const stress = stroking ? (work / 0.6) * Math.max(0.5, 1 + 0.04 * (oilTempC - 45)) : pumpOn ? 0.1 : 0;
    const partsPerH = stroking ? p.ratedStrokesPerMin * strokeFraction * 60 * (state === SETUP ? 0.1 : 1) : 0;
    const scrapRatio = state === SETUP ? 1 : product.scrapRatio + 0.12 * smoothstep(0.6, 1, accrued.wear);

    const op = settle(accrued, state, { powerKw: draw.powerKw, partsPerH, scrapRatio, stress });
    const standing = pumpOn ? 10 + rng.normal(0, 0.3) : Math.abs(rng.normal(0, 0.2));
    return {
      state: { op, oilTempC, job },
      values: {
        hydraulic_pressure: stroking
          ? p.setPressureBar * pressureFraction * (1 - 0.15 * leak) + rng.normal(0, 0.006 * p.setPressureBar)
          : standing,
        stroke_rate: stroking ? p.ratedStrokesPerMin * strokeFraction + rng.normal(0, 0.1) : 0,
        motor_current: pumpOn ? draw.currentA + rng.normal(0, 0.015 * p.ratedCurrentA) : 0,
        // Leakage aerates the oil and the pump cavitates a little: more vibration, some impacts.
        vibration_rms: pumpOn ? p.baseVibrationMmS * (0.4 + 0.6 * work / 0.75) * (1 + 0.5 * leak) * (1 + rng.normal(0, 0.05)) : standstillRms(rng),
        vibration_kurtosis: pumpOn ? measuredKurtosis(3.2 + 2.5 * smoothstep(0.3, 0.9, accrued.wear), rng) : standstillKurtosis(rng),
        oil_temperature: oilTempC + rng.normal(0, 0.1),
        energy_kwh: op.energyKwh,
        state,
        parts_good: op.partsGood,
        parts_scrap: op.partsScrap,
      },
      events,
      truth: truthOf(op, PRESS_DEGRADATION, work, job.product),
    };
  },
};

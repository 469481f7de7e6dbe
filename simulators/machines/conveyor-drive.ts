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
 * A belt conveyor driven by an induction motor through a gearbox and a drive pulley, on a
 * variable-speed drive. It carries items between stations in runs of one product (the product
 * sets the belt speed and how full the belt is), with a short changeover between products (belt
 * slow and empty) and stops when starved of items. Items delivered count as good; items jammed,
 * dropped or pushed off by the reject gate count as scrap.
 *
 * Degradation: belt wear. The belt stretches and its cover glazes, so it slips on the drive
 * pulley, more so under load: the belt runs slower than the motor says, slip comes in stick-slip
 * jerks (kurtosis, a restless current) and heats the pulley and gearbox, and items bunch up and
 * jam. It ends with the belt snapping at its splice.
 */

export type ConveyorSensor =
  | 'speed'
  | 'belt_speed'
  | 'motor_current'
  | 'vibration_rms'
  | 'vibration_kurtosis'
  | 'gearbox_temperature'
  | 'motor_temperature'
  | 'energy_kwh'
  | 'state'
  | 'parts_good'
  | 'parts_scrap';

export interface ConveyorProduct {
  /** Belt speed setpoint as a fraction of rated. */
  readonly speedFraction: number;
  /** Fraction of item positions on the belt that carry an item at full production load. */
  readonly fill: number;
  /** Belt load of a full belt of this product, as a fraction of rated motor power. */
  readonly mass: number;
}

export interface ConveyorParams {
  readonly ratedMotorRpm: number;
  readonly ratedBeltSpeedMs: number;
  readonly ratedCurrentA: number;
  /** Distance between item positions on the belt, m. */
  readonly itemSpacingM: number;
  readonly baseVibrationMmS: number;
  readonly gearboxRiseC: number;
  readonly motorRiseC: number;
  readonly loadPhaseH: number;
  readonly ambientOffsetC: number;
  readonly products: readonly ConveyorProduct[];
  readonly calendar: Calendar;
  readonly life: LifeParams;
}

export interface ConveyorState {
  readonly op: Operation;
  readonly gearboxTempC: number;
  readonly motorTempC: number;
  readonly job: Job;
}

const SENSORS: Record<ConveyorSensor, SensorSpec> = {
  speed: { unit: 'rpm', decimals: 1, range: [0, 3600], description: 'drive motor speed', kind: 'analog' },
  belt_speed: { unit: 'm/s', decimals: 3, range: [0, 5], description: 'belt speed, measured at the tail pulley', kind: 'analog' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 60], description: 'drive motor current', kind: 'analog' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'gearbox vibration velocity, RMS', kind: 'analog' },
  vibration_kurtosis: kurtosisSensor('gearbox'),
  gearbox_temperature: { unit: '°C', decimals: 2, range: [-20, 150], description: 'gearbox oil temperature', kind: 'analog' },
  motor_temperature: { unit: '°C', decimals: 2, range: [-20, 180], description: 'motor winding temperature', kind: 'analog' },
  energy_kwh: ENERGY_SENSOR,
  state: STATE_SENSOR,
  ...partsSensors('items delivered to the next station, total', 'items jammed, dropped or rejected, total'),
};

export const CONVEYOR_DEGRADATION: Degradation = {
  mode: 'belt_slip',
  failure: 'belt snapped at the splice',
  repair: 'fitted a new belt, re-lagged the drive pulley and tensioned',
};

const PLAN: Omit<JobPlan, 'products'> = { runMin: [90, 300], setupMin: [8, 20], waitMin: [10, 40] };

const GEARBOX_TAU_MS = 40 * MINUTE_MS;
const MOTOR_TAU_MS = 25 * MINUTE_MS;

export const conveyorDrive: MachineModel<ConveyorParams, ConveyorState, ConveyorSensor> = {
  type: 'conveyor-drive',
  line: 'assembly',
  namePrefix: 'conveyor',
  sensors: SENSORS,

  drawParams(rng: Rng): ConveyorParams {
    const productCount = 2 + Math.floor(rng.next() * 3);
    return {
      ratedMotorRpm: rng.pick([980, 1480]),
      ratedBeltSpeedMs: rng.uniform(0.5, 2),
      ratedCurrentA: rng.uniform(4, 20),
      itemSpacingM: rng.uniform(0.5, 1.5),
      baseVibrationMmS: rng.uniform(0.6, 1.2),
      gearboxRiseC: rng.uniform(15, 30),
      motorRiseC: rng.uniform(35, 55),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      ambientOffsetC: rng.uniform(-1, 1.5),
      products: Array.from({ length: productCount }, () => ({
        speedFraction: rng.uniform(0.6, 1),
        fill: rng.uniform(0.6, 0.95),
        mass: rng.uniform(0.3, 0.6),
      })),
      calendar: drawCalendar(rng, [2, 3], true),
      life: { lifeScaleH: rng.uniform(120, 280), repairH: [2, 6] },
    };
  },

  initialState(p, tMs, rng) {
    const op = initialOperation(p.life, { energyKwh: [2e3, 8e4], parts: [5e5, 2e7] }, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    return {
      op,
      gearboxTempC: ambient + 0.5 * p.gearboxRiseC,
      motorTempC: ambient + 0.4 * p.motorRiseC,
      job: firstJob(tMs, Math.floor(rng.next() * p.products.length)),
    };
  },

  step(p, s, tMs, dtMs, rng) {
    const { op: accrued, events } = advance(s.op, p.life, CONVEYOR_DEGRADATION, tMs, dtMs, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    const load = dailyLoad(tMs, p.loadPhaseH);
    const d = accrued.wear;

    let job = s.job;
    let state: MachineStateIndex;
    const where = availability(accrued, p.calendar, tMs);
    if (where === 'free' && tMs >= job.endsMs) job = nextJob(job, tMs, load, { ...PLAN, products: p.products.length }, rng);
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

    const product = p.products[job.product] as ConveyorProduct;
    // Setup: the belt runs slowly and empty (changeover, or trial run after a new belt).
    const v = state === RUNNING ? product.speedFraction : state === SETUP ? 0.3 : 0;
    const moving = v > 0;
    const fill = state === RUNNING ? product.fill * (0.6 + 0.4 * load) : 0;
    const beltLoad = fill * product.mass;
    // Slip on the drive pulley: creep of a healthy belt, then glazing and stretch, worse under load,
    // in stick-slip jerks.
    const meanSlip = 0.004 + 0.07 * d * d * (0.6 + beltLoad);
    const slip = moving ? Math.min(0.5, meanSlip + Math.abs(rng.normal(0, 0.012 * d * d))) : 0;
    const shaft = moving ? v * (0.3 + beltLoad) * (1 + 0.05 * d) : -1;
    const draw = motorDraw(p.ratedCurrentA, shaft);
    const slipHeat = moving ? 12 * d * d : 0;
    const gearboxTempC = thermalStep(s.gearboxTempC, ambient + p.gearboxRiseC * (moving ? shaft / 0.7 : 0) + slipHeat, dtMs, GEARBOX_TAU_MS);
    const motorTempC = thermalStep(s.motorTempC, ambient + p.motorRiseC * (draw.currentA / p.ratedCurrentA) ** 2, dtMs, MOTOR_TAU_MS);
    const beltSpeed = p.ratedBeltSpeedMs * v * (1 - slip);
    const stress = moving ? (v * (0.4 + beltLoad)) / 0.65 : 0;
    const partsPerH = (beltSpeed * 3600 * fill) / p.itemSpacingM;
    const scrapRatio = 0.002 + 0.06 * smoothstep(0.5, 1, d);

    const op = settle(accrued, state, { powerKw: draw.powerKw, partsPerH, scrapRatio, stress });
    return {
      state: { op, gearboxTempC, motorTempC, job },
      values: {
        speed: moving ? p.ratedMotorRpm * v + rng.normal(0, 0.002 * p.ratedMotorRpm) : 0,
        belt_speed: moving ? beltSpeed * (1 + rng.normal(0, 0.003)) : 0,
        // Stick-slip makes the current restless.
        motor_current: moving ? draw.currentA * (1 + rng.normal(0, 0.01 + 0.05 * d * d)) : 0,
        vibration_rms: moving ? p.baseVibrationMmS * (0.3 + 0.7 * v) * (1 + 0.9 * d * d) * (1 + rng.normal(0, 0.05)) : standstillRms(rng),
        vibration_kurtosis: moving ? measuredKurtosis(3.1 + 3 * smoothstep(0.35, 0.85, d), rng) : standstillKurtosis(rng),
        gearbox_temperature: gearboxTempC + rng.normal(0, 0.1),
        motor_temperature: motorTempC + rng.normal(0, 0.2),
        energy_kwh: op.energyKwh,
        state,
        parts_good: op.partsGood,
        parts_scrap: op.partsScrap,
      },
      events,
      truth: truthOf(op, CONVEYOR_DEGRADATION, state === RUNNING ? shaft : 0, job.product),
    };
  },
};

import type { Rng } from '../random.js';
import {
  DOWN,
  IDLE,
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
  initialOperation,
  kurtosisSensor,
  settle,
  standstillKurtosis,
  standstillRms,
  truthOf,
  type Calendar,
  type Degradation,
  type LifeParams,
  type Operation,
} from './operation.js';

/**
 * A centrifugal pump on a variable-speed drive that follows demand, round the clock. The pump
 * affinity laws give the shape: flow ∝ speed, head (pressure) ∝ speed², shaft power ∝ speed³. A
 * lag pump (half of them) stands by when night demand falls below its threshold; while it stands,
 * the non-return valve holds the header pressure the other pumps make.
 *
 * Degradation: drive-end bearing wear. Early spalls show first as impacts (kurtosis), then as
 * broadband vibration (RMS), then as heat; friction draws a little more current. Wear runs faster
 * at high speed and in a hot hall.
 */

export type PumpSensor =
  | 'speed'
  | 'flow'
  | 'discharge_pressure'
  | 'motor_current'
  | 'vibration_rms'
  | 'vibration_kurtosis'
  | 'bearing_temperature'
  | 'motor_temperature'
  | 'energy_kwh'
  | 'state';

export interface PumpParams {
  readonly ratedSpeedRpm: number;
  readonly ratedFlowM3h: number;
  readonly ratedPressureBar: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  readonly loadPhaseH: number;
  /** Bearing temperature rise over ambient at rated speed, new bearings. */
  readonly bearingRiseC: number;
  /** Winding temperature rise over ambient at rated current. */
  readonly motorRiseC: number;
  /** Where the pump stands: warmer or cooler than the hall average. */
  readonly ambientOffsetC: number;
  /** A lag pump stops while demand is below this; 0 for a lead pump, which always runs. */
  readonly standbyBelowLoad: number;
  readonly calendar: Calendar;
  readonly life: LifeParams;
}

export interface PumpState {
  readonly op: Operation;
  readonly bearingTempC: number;
  readonly motorTempC: number;
}

const SENSORS: Record<PumpSensor, SensorSpec> = {
  speed: { unit: 'rpm', decimals: 1, range: [0, 3600], description: 'shaft speed', kind: 'analog' },
  flow: { unit: 'm³/h', decimals: 2, range: [0, 400], description: 'delivered flow', kind: 'analog' },
  discharge_pressure: { unit: 'bar', decimals: 3, range: [0, 16], description: 'pressure at the discharge flange', kind: 'analog' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 150], description: 'motor phase current', kind: 'analog' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'bearing housing vibration velocity, RMS', kind: 'analog' },
  vibration_kurtosis: kurtosisSensor('bearing housing'),
  bearing_temperature: { unit: '°C', decimals: 2, range: [-20, 150], description: 'drive-end bearing temperature', kind: 'analog' },
  motor_temperature: { unit: '°C', decimals: 2, range: [-20, 180], description: 'motor winding temperature', kind: 'analog' },
  energy_kwh: ENERGY_SENSOR,
  state: STATE_SENSOR,
};

export const PUMP_DEGRADATION: Degradation = {
  mode: 'bearing_wear',
  failure: 'drive-end bearing seized',
  repair: 'replaced drive-end bearing and seal',
};

const BEARING_TAU_MS = 20 * MINUTE_MS;
const MOTOR_TAU_MS = 30 * MINUTE_MS;
/** Speed while commissioning after a repair: priming and venting. */
const COMMISSION_SPEED = 0.35;

/** Speed as a fraction of rated: the drive never goes below 55 % (minimum-flow protection). */
const speedFraction = (load: number): number => 0.55 + 0.45 * load;

export const centrifugalPump: MachineModel<PumpParams, PumpState, PumpSensor> = {
  type: 'centrifugal-pump',
  line: 'pump-station',
  namePrefix: 'pump',
  sensors: SENSORS,

  drawParams(rng: Rng): PumpParams {
    return {
      // 4-pole or 2-pole induction motor at 50 Hz, minus slip.
      ratedSpeedRpm: rng.pick([1480, 2960]),
      ratedFlowM3h: rng.uniform(60, 220),
      ratedPressureBar: rng.uniform(3, 9),
      ratedCurrentA: rng.uniform(18, 65),
      baseVibrationMmS: rng.uniform(0.7, 1.3),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      bearingRiseC: rng.uniform(20, 32),
      motorRiseC: rng.uniform(35, 55),
      ambientOffsetC: rng.uniform(-1, 2),
      standbyBelowLoad: rng.next() < 0.5 ? 0 : rng.uniform(0.45, 0.55),
      calendar: drawCalendar(rng, [3], false),
      life: { lifeScaleH: rng.uniform(200, 450), repairH: [3, 8] },
    };
  },

  initialState(p, tMs, rng) {
    const op = initialOperation(p.life, { energyKwh: [2e4, 4e5] }, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    const n = speedFraction(dailyLoad(tMs, p.loadPhaseH));
    // Start warm, at the steady temperatures for the current load, so there is no warm-up ramp.
    return {
      op,
      bearingTempC: ambient + p.bearingRiseC * n * n + 20 * bearingHeat(op.wear),
      motorTempC: ambient + p.motorRiseC * motorDraw(1, 0.9 * n ** 3).currentA ** 2,
    };
  },

  step(p, s, tMs, dtMs, rng) {
    const { op: accrued, events } = advance(s.op, p.life, PUMP_DEGRADATION, tMs, dtMs, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    const load = dailyLoad(tMs, p.loadPhaseH);
    const d = accrued.wear;

    let state: MachineStateIndex;
    let n = 0; // speed fraction; 0 = stopped
    switch (availability(accrued, p.calendar, tMs)) {
      case 'down':
        state = DOWN;
        break;
      case 'commissioning':
        state = SETUP;
        n = COMMISSION_SPEED;
        break;
      case 'off':
        state = IDLE;
        break;
      case 'free':
        if (load < p.standbyBelowLoad) state = IDLE;
        else {
          state = RUNNING;
          n = speedFraction(load);
        }
    }

    const turning = n > 0;
    // Pump shaft power at rated speed is 90 % of the motor's rating; a worn bearing adds friction.
    const shaft = turning ? 0.9 * n ** 3 * (1 + 0.06 * d * d) : -1;
    const draw = motorDraw(p.ratedCurrentA, shaft);
    const bearingTempC = thermalStep(s.bearingTempC, ambient + p.bearingRiseC * n * n + 20 * bearingHeat(d) * (turning ? 1 : 0), dtMs, BEARING_TAU_MS);
    const motorTempC = thermalStep(s.motorTempC, ambient + p.motorRiseC * (draw.currentA / p.ratedCurrentA) ** 2, dtMs, MOTOR_TAU_MS);
    // Bearing life goes with speed and load (L10 ∝ 1/(n·P³)); hot halls shorten it. Stress 1 ≈ average duty.
    const stress = turning ? (n ** 3 / 0.6) * Math.max(0.5, 1 + 0.03 * (ambient - 22)) : 0;

    // Idle: the header pressure from the other pumps; down: isolated and drained.
    const standingPressure = state === IDLE ? 0.3 * p.ratedPressureBar + rng.normal(0, 0.005 * p.ratedPressureBar) : Math.abs(rng.normal(0, 0.01));
    const op = settle(accrued, state, { powerKw: draw.powerKw, stress });
    return {
      state: { op, bearingTempC, motorTempC },
      values: {
        speed: turning ? p.ratedSpeedRpm * n + rng.normal(0, 0.002 * p.ratedSpeedRpm) : 0,
        flow: turning ? p.ratedFlowM3h * n * (1 + rng.normal(0, 0.01)) : 0,
        discharge_pressure: turning ? p.ratedPressureBar * n * n + rng.normal(0, 0.01 * p.ratedPressureBar) : standingPressure,
        motor_current: turning ? draw.currentA + rng.normal(0, 0.01 * p.ratedCurrentA) : 0,
        vibration_rms: turning ? p.baseVibrationMmS * (0.3 + 0.7 * n) * bearingRmsFactor(d) * (1 + rng.normal(0, 0.04)) : standstillRms(rng),
        vibration_kurtosis: turning ? measuredKurtosis(bearingKurtosis(d), rng) : standstillKurtosis(rng),
        bearing_temperature: bearingTempC + rng.normal(0, 0.15),
        motor_temperature: motorTempC + rng.normal(0, 0.2),
        energy_kwh: op.energyKwh,
        state,
      },
      events,
      truth: truthOf(op, PUMP_DEGRADATION, state === RUNNING ? n : 0),
    };
  },
};

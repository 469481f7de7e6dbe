import type { Rng } from '../random.js';
import {
  MINUTE_MS,
  ambientC,
  dailyLoad,
  thermalStep,
  vibrationRms,
  wearStep,
  type MachineModel,
  type SensorSpec,
} from './model.js';

/**
 * A centrifugal pump on a variable-speed drive that follows demand. The pump affinity laws give
 * the shape: flow ∝ speed, head (pressure) ∝ speed², shaft power ∝ speed³. Impeller and
 * wear-ring wear lets water recirculate inside the casing, so a worn pump delivers less flow and
 * pressure for the same speed while drawing more current; its bearings run hotter and louder.
 */

export type PumpSensor = 'speed' | 'flow' | 'discharge_pressure' | 'motor_current' | 'vibration_rms' | 'bearing_temperature';

export interface PumpParams {
  readonly ratedSpeedRpm: number;
  readonly ratedFlowM3h: number;
  readonly ratedPressureBar: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  readonly hoursToWearOut: number;
  readonly loadPhaseH: number;
  /** Bearing temperature rise over ambient at rated speed, new bearings. */
  readonly bearingRiseC: number;
}

export interface PumpState {
  readonly wear: number;
  readonly bearingTempC: number;
}

const SENSORS: Record<PumpSensor, SensorSpec> = {
  speed: { unit: 'rpm', decimals: 1, range: [0, 3600], description: 'shaft speed' },
  flow: { unit: 'm³/h', decimals: 2, range: [0, 400], description: 'delivered flow' },
  discharge_pressure: { unit: 'bar', decimals: 3, range: [0, 16], description: 'pressure at the discharge flange' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 150], description: 'motor phase current' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'bearing housing vibration velocity, RMS' },
  bearing_temperature: { unit: '°C', decimals: 2, range: [-20, 150], description: 'drive-end bearing temperature' },
};

const THERMAL_TAU_MS = 20 * MINUTE_MS;

/** Speed as a fraction of rated: the drive never goes below 55 % (minimum-flow protection). */
const speedFraction = (load: number): number => 0.55 + 0.45 * load;

function bearingTargetC(p: PumpParams, tMs: number, n: number, wear: number): number {
  // Friction heat grows with speed; worn bearings add their own.
  return ambientC(tMs) + p.bearingRiseC * n * n + 15 * wear;
}

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
      hoursToWearOut: rng.uniform(1500, 4000),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      bearingRiseC: rng.uniform(20, 32),
    };
  },

  initialState(p, tMs, rng) {
    const wear = rng.uniform(0.05, 0.5);
    // Start warm, at the steady temperature for the current load, so there is no warm-up ramp.
    return { wear, bearingTempC: bearingTargetC(p, tMs, speedFraction(dailyLoad(tMs, p.loadPhaseH)), wear) };
  },

  step(p, s, tMs, dtMs, rng) {
    const load = dailyLoad(tMs, p.loadPhaseH);
    const wear = wearStep(s.wear, load, dtMs, p.hoursToWearOut);
    const n = speedFraction(load);
    const bearingTempC = thermalStep(s.bearingTempC, bearingTargetC(p, tMs, n, wear), dtMs, THERMAL_TAU_MS);
    return {
      state: { wear, bearingTempC },
      values: {
        speed: p.ratedSpeedRpm * n + rng.normal(0, 0.002 * p.ratedSpeedRpm),
        flow: p.ratedFlowM3h * n * (1 - 0.12 * wear) * (1 + rng.normal(0, 0.01)),
        discharge_pressure: p.ratedPressureBar * n * n * (1 - 0.08 * wear) + rng.normal(0, 0.01 * p.ratedPressureBar),
        // About 30 % of rated current is magnetising current, drawn even with no load.
        motor_current: p.ratedCurrentA * (0.3 + 0.7 * n ** 3) * (1 + 0.1 * wear) + rng.normal(0, 0.01 * p.ratedCurrentA),
        vibration_rms: vibrationRms(p.baseVibrationMmS, n, wear) * (1 + rng.normal(0, 0.04)),
        bearing_temperature: bearingTempC + rng.normal(0, 0.15),
      },
    };
  },
};

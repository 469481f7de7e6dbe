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
 * A hydraulic press stamping parts. The stroke rate follows the production load. The pressure
 * reported is the peak of the last stroke (what a press controller logs per cycle), not an
 * instantaneous sample, which would alias with the sampling period. Seal and pump wear open
 * internal leakage paths: the press reaches a little less peak pressure, the pump runs longer per
 * stroke (more current) and the lost pressure turns into heat in the oil.
 */

export type PressSensor = 'hydraulic_pressure' | 'stroke_rate' | 'motor_current' | 'vibration_rms' | 'oil_temperature';

export interface PressParams {
  readonly setPressureBar: number;
  readonly ratedStrokesPerMin: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  readonly hoursToWearOut: number;
  readonly loadPhaseH: number;
  /** Oil temperature rise over ambient at full load, new seals (cooler sized for it). */
  readonly oilRiseC: number;
}

export interface PressState {
  readonly wear: number;
  readonly oilTempC: number;
}

const SENSORS: Record<PressSensor, SensorSpec> = {
  hydraulic_pressure: { unit: 'bar', decimals: 2, range: [0, 350], description: 'peak cylinder pressure of the last stroke' },
  stroke_rate: { unit: '1/min', decimals: 2, range: [0, 30], description: 'strokes per minute' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 150], description: 'hydraulic pump motor current' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'frame vibration velocity, RMS' },
  oil_temperature: { unit: '°C', decimals: 2, range: [-20, 120], description: 'tank oil temperature' },
};

// A tank of oil is a large thermal mass.
const THERMAL_TAU_MS = 45 * MINUTE_MS;

const strokeFraction = (load: number): number => 0.45 + 0.55 * load;

function oilTargetC(p: PressParams, tMs: number, load: number, wear: number): number {
  return ambientC(tMs) + p.oilRiseC * (0.4 + 0.6 * load) + 14 * wear;
}

export const hydraulicPress: MachineModel<PressParams, PressState, PressSensor> = {
  type: 'hydraulic-press',
  line: 'press-line',
  namePrefix: 'press',
  sensors: SENSORS,

  drawParams(rng: Rng): PressParams {
    return {
      setPressureBar: rng.uniform(160, 250),
      ratedStrokesPerMin: rng.uniform(8, 16),
      ratedCurrentA: rng.uniform(25, 80),
      baseVibrationMmS: rng.uniform(1.0, 1.6),
      hoursToWearOut: rng.uniform(2000, 5000),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      oilRiseC: rng.uniform(18, 28),
    };
  },

  initialState(p, tMs, rng) {
    const wear = rng.uniform(0.05, 0.5);
    return { wear, oilTempC: oilTargetC(p, tMs, dailyLoad(tMs, p.loadPhaseH), wear) };
  },

  step(p, s, tMs, dtMs, rng) {
    const load = dailyLoad(tMs, p.loadPhaseH);
    const wear = wearStep(s.wear, load, dtMs, p.hoursToWearOut);
    const strokes = strokeFraction(load);
    const oilTempC = thermalStep(s.oilTempC, oilTargetC(p, tMs, load, wear), dtMs, THERMAL_TAU_MS);
    return {
      state: { wear, oilTempC },
      values: {
        hydraulic_pressure: p.setPressureBar * (1 - 0.07 * wear) + rng.normal(0, 0.006 * p.setPressureBar),
        stroke_rate: p.ratedStrokesPerMin * strokes + rng.normal(0, 0.1),
        motor_current: p.ratedCurrentA * (0.35 + 0.65 * load) * (1 + 0.15 * wear) + rng.normal(0, 0.015 * p.ratedCurrentA),
        vibration_rms: vibrationRms(p.baseVibrationMmS, strokes, wear) * (1 + rng.normal(0, 0.05)),
        oil_temperature: oilTempC + rng.normal(0, 0.1),
      },
    };
  },
};

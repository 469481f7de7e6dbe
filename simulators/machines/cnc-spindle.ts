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
 * The spindle of a CNC machining centre. It runs jobs: each job holds one programmed speed and
 * cutting load for a few minutes, and between jobs the spindle may stand idle. How often it is
 * busy follows the daily load. Bearing wear (and a dulling tool) raise cutting load, vibration and
 * bearing temperature.
 */

export type SpindleSensor = 'speed' | 'spindle_load' | 'motor_current' | 'vibration_rms' | 'bearing_temperature';

export interface SpindleParams {
  readonly maxSpeedRpm: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  readonly hoursToWearOut: number;
  readonly loadPhaseH: number;
  readonly bearingRiseC: number;
}

export interface SpindleJob {
  /** The job runs until this time; the first step at or after it starts the next job. */
  readonly endsMs: number;
  /** Programmed speed as a fraction of the maximum; 0 while idle. */
  readonly speedFraction: number;
  /** Cutting load as a fraction of rated torque; 0 while idle. */
  readonly cut: number;
}

export interface SpindleState {
  readonly wear: number;
  readonly bearingTempC: number;
  readonly job: SpindleJob;
}

const SENSORS: Record<SpindleSensor, SensorSpec> = {
  speed: { unit: 'rpm', decimals: 1, range: [0, 30_000], description: 'spindle speed' },
  spindle_load: { unit: '%', decimals: 1, range: [0, 150], description: 'spindle load, percent of rated torque' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 100], description: 'spindle drive current' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'spindle housing vibration velocity, RMS' },
  bearing_temperature: { unit: '°C', decimals: 2, range: [-20, 150], description: 'front spindle bearing temperature' },
};

const THERMAL_TAU_MS = 15 * MINUTE_MS;

function nextJob(tMs: number, load: number, rng: Rng): SpindleJob {
  const endsMs = tMs + Math.round(rng.uniform(4, 25) * MINUTE_MS);
  // Busy with probability `load`: the shop has fewer jobs queued at night.
  if (rng.next() >= load) return { endsMs, speedFraction: 0, cut: 0 };
  return { endsMs, speedFraction: rng.uniform(0.25, 1), cut: rng.uniform(0.2, 0.8) };
}

function bearingTargetC(p: SpindleParams, tMs: number, speedFraction: number, wear: number): number {
  return ambientC(tMs) + p.bearingRiseC * speedFraction + 10 * wear;
}

export const cncSpindle: MachineModel<SpindleParams, SpindleState, SpindleSensor> = {
  type: 'cnc-spindle',
  line: 'machining',
  namePrefix: 'cnc',
  sensors: SENSORS,

  drawParams(rng: Rng): SpindleParams {
    return {
      maxSpeedRpm: rng.pick([12_000, 18_000, 24_000]),
      ratedCurrentA: rng.uniform(12, 40),
      baseVibrationMmS: rng.uniform(0.5, 1.0),
      hoursToWearOut: rng.uniform(3000, 8000),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      bearingRiseC: rng.uniform(18, 30),
    };
  },

  initialState(p, tMs, rng) {
    const wear = rng.uniform(0.05, 0.5);
    // endsMs = tMs: the first step starts a job.
    return { wear, bearingTempC: bearingTargetC(p, tMs, 0.5, wear), job: { endsMs: tMs, speedFraction: 0, cut: 0 } };
  },

  step(p, s, tMs, dtMs, rng) {
    const load = dailyLoad(tMs, p.loadPhaseH);
    const job = tMs >= s.job.endsMs ? nextJob(tMs, load, rng) : s.job;
    const busy = job.speedFraction > 0;
    const wear = wearStep(s.wear, busy ? job.cut : 0, dtMs, p.hoursToWearOut);
    const bearingTempC = thermalStep(s.bearingTempC, bearingTargetC(p, tMs, job.speedFraction, wear), dtMs, THERMAL_TAU_MS);
    const cut = job.cut * (1 + 0.15 * wear);
    return {
      state: { wear, bearingTempC, job },
      values: {
        speed: busy ? p.maxSpeedRpm * job.speedFraction + rng.normal(0, 0.001 * p.maxSpeedRpm) : 0,
        spindle_load: busy ? 100 * cut + rng.normal(0, 1.5) : Math.abs(rng.normal(0, 0.3)),
        // Drive losses and fan at standstill, windage with speed, torque current with the cut.
        motor_current: p.ratedCurrentA * (0.08 + 0.25 * job.speedFraction + 0.7 * cut) + rng.normal(0, 0.01 * p.ratedCurrentA),
        // At standstill the sensor still picks up the neighbouring machines through the floor.
        vibration_rms: busy
          ? vibrationRms(p.baseVibrationMmS, job.speedFraction, wear) * (1 + rng.normal(0, 0.05))
          : Math.abs(rng.normal(0.08, 0.02)),
        bearing_temperature: bearingTempC + rng.normal(0, 0.15),
      },
    };
  },
};

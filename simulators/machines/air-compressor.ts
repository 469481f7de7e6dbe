import type { Rng } from '../random.js';
import {
  DOWN,
  HOUR_MS,
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
  type MachineEvent,
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
 * A fixed-speed reciprocating air compressor with load/unload control, one of several feeding the
 * plant's compressed-air network. It runs loaded until the network reaches the upper pressure,
 * then unloaded (about a quarter of full power) until it falls to the lower one; the values are
 * averages over that cycle, which is shorter than a minute. The air demand follows the daily load;
 * a compressor on a two-shift calendar is stopped at night and at weekends while the others hold
 * the network.
 *
 * Degradation: valve wear. Worn valve plates and seats leak, so each stroke delivers less air
 * (lower volumetric efficiency): the compressor stays loaded longer for the same demand (more
 * current and energy per m³), the recompressed air leaves hotter, the fluttering plates add impacts
 * (kurtosis), and at the end a plate breaks. Once the worn compressor cannot keep up with demand
 * the network pressure sags.
 *
 * Alongside, the intake filter clogs with running hours (differential pressure rises, efficiency
 * drops a little, the valves run hotter and wear faster); at its limit it is changed, a
 * 'maintenance' event that does not end the machine's life.
 */

export type CompressorSensor =
  | 'discharge_pressure'
  | 'flow'
  | 'motor_current'
  | 'vibration_rms'
  | 'vibration_kurtosis'
  | 'discharge_temperature'
  | 'oil_temperature'
  | 'filter_dp'
  | 'energy_kwh'
  | 'state';

export interface CompressorParams {
  /** Free air delivery of a new compressor running loaded, m³/min. */
  readonly ratedFadM3min: number;
  /** Upper pressure of the load/unload band, bar(g); the band is 0.6 bar wide. */
  readonly setPressureBar: number;
  readonly ratedCurrentA: number;
  readonly baseVibrationMmS: number;
  /** Discharge temperature rise over ambient when fully loaded, new valves. */
  readonly dischargeRiseC: number;
  readonly oilRiseC: number;
  /** Its share of the network's demand, as a fraction of its own capacity at full plant load. */
  readonly demandShare: number;
  /** Filter running hours from new to its differential-pressure limit. */
  readonly filterLifeH: number;
  readonly loadPhaseH: number;
  readonly ambientOffsetC: number;
  readonly calendar: Calendar;
  readonly life: LifeParams;
}

export interface CompressorState {
  readonly op: Operation;
  readonly dischargeTempC: number;
  readonly oilTempC: number;
  /** Running hours on the intake filter since it was changed. */
  readonly filterH: number;
}

const SENSORS: Record<CompressorSensor, SensorSpec> = {
  discharge_pressure: { unit: 'bar', decimals: 3, range: [0, 16], description: 'network pressure at the compressor outlet, gauge', kind: 'analog' },
  flow: { unit: 'm³/min', decimals: 3, range: [0, 30], description: 'free air delivered', kind: 'analog' },
  motor_current: { unit: 'A', decimals: 2, range: [0, 200], description: 'motor phase current', kind: 'analog' },
  vibration_rms: { unit: 'mm/s', decimals: 3, range: [0, 45], description: 'crankcase vibration velocity, RMS', kind: 'analog' },
  vibration_kurtosis: kurtosisSensor('cylinder head'),
  discharge_temperature: { unit: '°C', decimals: 2, range: [-20, 250], description: 'air temperature at the cylinder discharge', kind: 'analog' },
  oil_temperature: { unit: '°C', decimals: 2, range: [-20, 120], description: 'crankcase oil temperature', kind: 'analog' },
  filter_dp: { unit: 'mbar', decimals: 1, range: [0, 150], description: 'intake filter differential pressure', kind: 'analog' },
  energy_kwh: ENERGY_SENSOR,
  state: STATE_SENSOR,
};

export const COMPRESSOR_DEGRADATION: Degradation = {
  mode: 'valve_wear',
  failure: 'discharge valve plate broke',
  repair: 'replaced suction and discharge valves',
};

/** A new filter's differential pressure and the limit at which it is changed, mbar. */
const FILTER_DP_NEW = 8;
const FILTER_DP_LIMIT = 50;

const DISCHARGE_TAU_MS = 5 * MINUTE_MS;
const OIL_TAU_MS = 30 * MINUTE_MS;

/** Valve leakage in [0, 1]. */
const leakOf = (wear: number): number => wear * Math.sqrt(wear);
/** Filter clogging in [0, 1]: slow while the dust cake builds, faster once it closes the pores. */
const clogOf = (filterH: number, lifeH: number): number => Math.min(1, (filterH / lifeH) ** 2);

export const airCompressor: MachineModel<CompressorParams, CompressorState, CompressorSensor> = {
  type: 'air-compressor',
  line: 'utilities',
  namePrefix: 'compressor',
  sensors: SENSORS,

  drawParams(rng: Rng): CompressorParams {
    return {
      ratedFadM3min: rng.uniform(2, 12),
      setPressureBar: rng.uniform(7, 8),
      ratedCurrentA: rng.uniform(30, 80),
      baseVibrationMmS: rng.uniform(1.8, 2.6),
      dischargeRiseC: rng.uniform(100, 130),
      oilRiseC: rng.uniform(25, 40),
      demandShare: rng.uniform(0.6, 0.8),
      filterLifeH: rng.uniform(150, 400),
      loadPhaseH: rng.uniform(-1.5, 1.5),
      // Compressor rooms are warm.
      ambientOffsetC: rng.uniform(2, 6),
      calendar: drawCalendar(rng, [2, 3, 3], false),
      life: { lifeScaleH: rng.uniform(150, 350), repairH: [3, 8] },
    };
  },

  initialState(p, tMs, rng) {
    const op = initialOperation(p.life, { energyKwh: [5e4, 1e6] }, rng);
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    return {
      op,
      dischargeTempC: ambient + 0.75 * p.dischargeRiseC,
      oilTempC: ambient + 0.75 * p.oilRiseC,
      filterH: rng.uniform(0, 0.9) * p.filterLifeH,
    };
  },

  step(p, s, tMs, dtMs, rng) {
    const adv = advance(s.op, p.life, COMPRESSOR_DEGRADATION, tMs, dtMs, rng);
    const accrued = adv.op;
    let events = adv.events;
    const ambient = ambientC(tMs) + p.ambientOffsetC;
    const d = accrued.wear;

    // The filter ages with the air drawn through it, at the rate the last step reported.
    let filterH = s.filterH + (s.op.state === RUNNING || s.op.state === SETUP ? dtMs / HOUR_MS : 0);
    if (clogOf(filterH, p.filterLifeH) >= 1) {
      const maintenance: MachineEvent = {
        kind: 'maintenance',
        ts: tMs,
        detail: `intake filter changed after ${Math.round(filterH)} running hours (differential pressure at its ${FILTER_DP_LIMIT} mbar limit)`,
        mode: 'intake_filter',
      };
      events = [...events, maintenance];
      filterH = 0;
    }
    const clog = clogOf(filterH, p.filterLifeH);

    let state: MachineStateIndex;
    switch (availability(accrued, p.calendar, tMs)) {
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
        state = RUNNING;
    }

    const leak = leakOf(d);
    const efficiency = 1 - 0.3 * leak - 0.05 * clog;
    const demand = p.demandShare * (0.45 + 0.6 * dailyLoad(tMs, p.loadPhaseH));
    // Commissioning: runs unloaded, checking oil and valves before it takes load.
    const duty = state === RUNNING ? Math.min(1, demand / efficiency) : 0;
    const turning = state === RUNNING || state === SETUP;
    const shaft = turning ? duty * (1 + 0.08 * clog) + (1 - duty) * 0.25 : -1;
    const draw = motorDraw(p.ratedCurrentA, shaft);
    const flow = p.ratedFadM3min * duty * efficiency;
    const shortfall = state === RUNNING ? Math.max(0, demand - efficiency) : 0;
    const dischargeTempC = thermalStep(
      s.dischargeTempC,
      ambient + (turning ? p.dischargeRiseC * (0.35 + 0.65 * duty) * (1 + 0.3 * leak + 0.05 * clog) : 0),
      dtMs,
      DISCHARGE_TAU_MS,
    );
    const oilTempC = thermalStep(s.oilTempC, ambient + (turning ? p.oilRiseC * (0.5 + 0.5 * duty) + 5 * leak : 0), dtMs, OIL_TAU_MS);
    // Valves wear with loaded strokes, faster when hot and when a clogged filter raises the ratio.
    const stress = turning ? ((0.4 + 0.6 * duty) / 0.8) * (1 + 0.5 * clog) * Math.max(0.5, 1 + 0.03 * (ambient - 26)) : 0;

    const op = settle(accrued, state, { powerKw: draw.powerKw, stress });
    // Idle: the other compressors hold the network; down: isolated and vented.
    const networkBar = p.setPressureBar - 0.3;
    const pressure =
      state === RUNNING
        ? networkBar - 4 * shortfall + rng.normal(0, 0.04)
        : state === DOWN
          ? Math.abs(rng.normal(0, 0.01))
          : networkBar - 0.2 + rng.normal(0, 0.04);
    return {
      state: { op, dischargeTempC, oilTempC, filterH },
      values: {
        discharge_pressure: pressure,
        flow: state === RUNNING ? flow * (1 + rng.normal(0, 0.015)) : 0,
        motor_current: turning ? draw.currentA + rng.normal(0, 0.01 * p.ratedCurrentA) : 0,
        vibration_rms: turning ? p.baseVibrationMmS * (0.85 + 0.15 * duty) * (1 + 0.6 * leak * leak) * (1 + rng.normal(0, 0.05)) : standstillRms(rng),
        // A reciprocating machine is impulsive even when healthy; fluttering, cracked plates more so.
        vibration_kurtosis: turning
          ? measuredKurtosis(4 + 5 * smoothstep(0.25, 0.8, d) * (1 - 0.3 * smoothstep(0.85, 1, d)), rng)
          : standstillKurtosis(rng),
        discharge_temperature: dischargeTempC + rng.normal(0, 0.3),
        oil_temperature: oilTempC + rng.normal(0, 0.1),
        filter_dp: turning ? FILTER_DP_NEW + (FILTER_DP_LIMIT - FILTER_DP_NEW) * clog * (0.6 + 0.4 * duty) + rng.normal(0, 0.3) : Math.abs(rng.normal(0, 0.2)),
        energy_kwh: op.energyKwh,
        state,
      },
      events,
      truth: truthOf(op, COMPRESSOR_DEGRADATION, duty),
    };
  },
};

import type { SimReading } from '../generate.js';
import { transmit } from '../transmit.js';
import type { Plant, PlantSensor } from '../plant.js';
import { createRng } from '../random.js';
import type { FaultSchedule, ScheduledFault } from './schedule.js';

/**
 * The fault layer: clean readings of a step in, the readings a gateway would receive out. It
 * removes readings (dropout), changes values (clamped and rounded like clean ones), marks quality
 * "bad", and shifts source timestamps (clock jump). Nothing else: it never touches a machine, so
 * the clean process underneath is the same with faults on or off.
 *
 * Deterministic: the output for step i depends on the schedule, i and the clean readings only,
 * given that every step is applied in order. (A stuck sensor holds the clean value of the first
 * step of its window, and a shift or drift moves away from the range end nearer to the value at
 * that first step; those two things are remembered from the step the fault began.)
 *
 * A fault can leave every reading as it was: a sensor stuck while its clean value is constant
 * anyway (a stopped motor's speed, a counter while idle), a shift or drift pushed against a range
 * end, bad quality that never drew a bad reading. `onFaultObserved` says, once per fault, at the
 * first step where a reading of it differs from the clean one (value, quality, or left out), so
 * that the ground truth can tell the windows an analysis could find from those it could not.
 * Clock jumps are not reported there: they move timestamps, and the ground truth keeps them apart.
 *
 * When no fault is active the input array is returned as it is, so a clean step costs one
 * comparison.
 */

export interface FaultLayer {
  /** `readings` are one step's clean readings, in `plant.sensors` order (as the generator emits). */
  apply(stepIndex: number, readings: readonly SimReading[]): readonly SimReading[];
}

export interface FaultLayerOptions {
  plant: Plant;
  schedule: FaultSchedule;
  /** Called once per fault, at the first step it is applied to: the ground truth listens here. */
  onFaultStart?: (fault: ScheduledFault) => void;
  /** Called once per sensor fault, at the first step its output differs from the clean reading. */
  onFaultObserved?: (fault: ScheduledFault) => void;
}

interface Active {
  readonly fault: ScheduledFault;
  /** Last step it covers. */
  readonly lastStep: number;
  /** Clean value at the first step (stuck), and the direction of an offset (shift, drift). */
  anchor?: number;
  direction?: 1 | -1;
  /** Some reading under it has differed from the clean one. */
  observed: boolean;
}

export function createFaultLayer(opts: FaultLayerOptions): FaultLayer {
  const { plant, schedule, onFaultStart, onFaultObserved } = opts;
  const sensors = plant.sensors;
  let active: Active[] = [];

  return {
    apply(stepIndex, readings) {
      for (const fault of schedule.take(stepIndex)) {
        const lastStep = fault.startStep + fault.steps - 1;
        if (lastStep < stepIndex) continue; // over before this run got to it
        onFaultStart?.(fault);
        active.push({ fault, lastStep, observed: false });
      }
      if (active.length === 0) return readings;
      active = active.filter((a) => a.lastStep >= stepIndex);
      if (active.length === 0) return readings;

      const out: (SimReading | null)[] = readings.slice();
      let dropped = false;
      for (const a of active) {
        const { fault } = a;
        if (fault.scope !== 'sensor') {
          shiftTimestamps(out, readings, sensors, fault);
          continue;
        }
        const at = indexOf(readings, sensors, fault.firstSensor);
        if (at < 0) continue; // this step carries no reading of the sensor
        const r = out[at];
        if (!r) continue;
        const spec = sensors[fault.firstSensor] as PlantSensor;
        const next = faulted(a, r, spec, stepIndex - fault.startStep);
        if (next === null) dropped = true;
        out[at] = next;
        if (!a.observed && (next === null || next.value !== r.value || next.quality !== r.quality)) {
          a.observed = true;
          onFaultObserved?.(fault);
        }
      }
      return dropped ? out.filter((r): r is SimReading => r !== null) : (out as SimReading[]);
    },
  };
}

/** One reading under one sensor fault; null: the reading is not sent. `j` is the step within the fault. */
function faulted(a: Active, r: SimReading, spec: PlantSensor, j: number): SimReading | null {
  const { fault } = a;
  const [low, high] = spec.range;
  const span = high - low;
  switch (fault.kind) {
    case 'dropout':
      return null;
    case 'intermittent_bad_quality':
      return stepUniform(fault.seed, j) < fault.magnitude ? { ...r, quality: 'bad' } : r;
    case 'stuck':
      a.anchor ??= r.value;
      return { ...r, value: a.anchor };
    case 'spike': {
      // Most of the way to the far end of the range: out of the normal band, short of saturation.
      const up = high - r.value >= r.value - low;
      const value = up ? r.value + fault.magnitude * (high - r.value) : r.value - fault.magnitude * (r.value - low);
      return { ...r, value: transmit(value, spec) };
    }
    case 'level_shift':
      a.direction ??= high - r.value >= r.value - low ? 1 : -1;
      return { ...r, value: transmit(r.value + a.direction * fault.magnitude * span, spec) };
    case 'drift':
      a.direction ??= high - r.value >= r.value - low ? 1 : -1;
      return { ...r, value: transmit(r.value + (a.direction * fault.magnitude * span * (j + 1)) / fault.steps, spec) };
    case 'noise_burst': {
      // Reflected at the range ends, so that a sensor resting at one (a stopped motor's current)
      // still shows the burst instead of having half of it clamped away.
      const noise = createRng(stepSeed(fault.seed, j)).normal(0, fault.magnitude * span);
      const value = r.value + noise < low || r.value + noise > high ? r.value - noise : r.value + noise;
      return { ...r, value: transmit(value, spec) };
    }
    case 'clock_jump':
      return r; // handled over the whole machine or plant by shiftTimestamps
  }
}

function shiftTimestamps(out: (SimReading | null)[], readings: readonly SimReading[], sensors: readonly PlantSensor[], fault: ScheduledFault): void {
  for (let k = 0; k < fault.sensorCount; k++) {
    const at = indexOf(readings, sensors, fault.firstSensor + k);
    const r = at < 0 ? null : out[at];
    if (r) out[at] = { ...r, ts: r.ts + fault.magnitude };
  }
}

/**
 * Position of sensor `sensorIndex`'s reading in the step. The generator emits one reading per
 * sensor in plant order, so it is normally the same index; anything else is searched.
 */
function indexOf(readings: readonly SimReading[], sensors: readonly PlantSensor[], sensorIndex: number): number {
  const id = sensors[sensorIndex]?.id;
  if (readings[sensorIndex]?.sensor === id) return sensorIndex;
  return readings.findIndex((r) => r.sensor === id);
}

/** A seed for step j of a fault: the golden-ratio multiple spreads consecutive steps apart. */
function stepSeed(seed: number, j: number): number {
  return (seed ^ Math.imul(j + 1, 0x9e3779b1)) >>> 0;
}

function stepUniform(seed: number, j: number): number {
  return createRng(stepSeed(seed, j)).next();
}

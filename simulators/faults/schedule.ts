import type { Plant } from '../plant.js';
import { createRng, deriveSeed, type Rng } from '../random.js';
import { faultKindsFor, sensorKind, type FaultConfig, type FaultKind } from './config.js';

/**
 * When and where faults strike, drawn from the seed alone. Each target (a sensor, or for clock
 * jumps a machine or the plant) has its own random stream, seeded from the scenario seed and the
 * target's path, so adding a machine to a plant does not move the faults of the others. Faults of
 * one target never overlap: the next starts an exponential gap (a Poisson process at the
 * configured rate) after the previous one ends.
 *
 * Faults sit on the step grid: a fault covers steps `startStep .. startStep + steps - 1`, and its
 * `start` and `end` are the timestamps of its first and last step (both inclusive), so the ground
 * truth names exactly the readings that were touched.
 *
 * The schedule is drawn lazily as time advances (`take`), so an endless run needs no horizon and
 * its memory stays at one pending fault per target.
 */

export type FaultScope = 'sensor' | 'machine' | 'plant';

export interface ScheduledFault {
  readonly kind: FaultKind;
  readonly scope: FaultScope;
  /** Sensor id (scope sensor), machine path (machine) or `<enterprise>/<site>` (plant). */
  readonly target: string;
  /** The affected sensors are `plant.sensors[firstSensor .. firstSensor + sensorCount - 1]`. */
  readonly firstSensor: number;
  readonly sensorCount: number;
  readonly startStep: number;
  /** Length in steps, at least 1. */
  readonly steps: number;
  /** Timestamp of the first affected step (ms, simulated time). */
  readonly start: number;
  /** Timestamp of the last affected step, inclusive. */
  readonly end: number;
  /**
   * Size, by kind: spike, fraction of the way to the far end of the range; level_shift and drift,
   * fraction of the span (drift: reached at the last step); noise_burst, standard deviation as a
   * fraction of the span; intermittent_bad_quality, probability that a reading is bad;
   * clock_jump, the shift in ms (negative: behind); stuck and dropout, 0.
   */
  readonly magnitude: number;
  /** Seed of the fault's own per-step randomness (noise, which readings go bad). */
  readonly seed: number;
}

export interface FaultScheduleOptions {
  plant: Plant;
  config: FaultConfig;
  /** Scenario seed. */
  seed: number;
  startMs: number;
  periodMs: number;
}

export interface FaultSchedule {
  /**
   * Faults starting at or before `stepIndex` not returned before, ordered by start step then
   * target. Call with non-decreasing step indexes.
   */
  take(stepIndex: number): ScheduledFault[];
}

const DAY_MS = 86_400_000;

interface Stream {
  readonly order: number;
  readonly rng: Rng;
  /** Expected faults per step. */
  readonly perStep: number;
  readonly kinds: readonly FaultKind[];
  readonly scope: FaultScope;
  readonly target: string;
  readonly firstSensor: number;
  readonly sensorCount: number;
  pending: ScheduledFault;
}

export function createFaultSchedule(opts: FaultScheduleOptions): FaultSchedule {
  const { plant, config, seed, startMs, periodMs } = opts;
  const heap: Stream[] = [];

  const draw = (s: Omit<Stream, 'pending'>, fromStep: number): ScheduledFault => {
    const { rng } = s;
    // Exponential gap: 1 - next() is in (0, 1], so the logarithm is finite.
    const startStep = fromStep + Math.floor(-Math.log(1 - rng.next()) / s.perStep);
    const kind = rng.pick(s.kinds);
    const [lo, hi] = config.durations[kind];
    const steps = Math.max(1, Math.round(rng.uniform(lo, hi) / periodMs));
    const magnitude = drawMagnitude(kind, rng, config);
    const faultSeed = Math.floor(rng.next() * 4_294_967_296);
    return {
      kind,
      scope: s.scope,
      target: s.target,
      firstSensor: s.firstSensor,
      sensorCount: s.sensorCount,
      startStep,
      steps,
      start: startMs + startStep * periodMs,
      end: startMs + (startStep + steps - 1) * periodMs,
      magnitude,
      seed: faultSeed,
    };
  };

  const addStream = (s: Omit<Stream, 'pending' | 'order' | 'rng' | 'perStep'>, streamSeed: number, ratePerDay: number): void => {
    if (ratePerDay <= 0 || s.kinds.length === 0) return;
    const base = { ...s, order: heap.length, rng: createRng(streamSeed), perStep: (ratePerDay * periodMs) / DAY_MS };
    heap.push({ ...base, pending: draw(base, 0) });
  };

  let index = 0;
  for (const machine of plant.machines) {
    const first = index;
    for (const sensor of machine.sensors) {
      if (plant.sensors[index]?.id !== sensor.id) throw new Error(`plant.sensors is not in machine order at ${sensor.id}`);
      const kinds = faultKindsFor(sensorKind(sensor), config.kinds);
      addStream({ kinds, scope: 'sensor', target: sensor.id, firstSensor: index, sensorCount: 1 }, deriveSeed(seed, sensor.id, 'faults'), config.rate);
      index++;
    }
    if (config.kinds.includes('clock_jump') && config.clockJump.scope === 'machine') {
      const target = machine.path;
      addStream({ kinds: ['clock_jump'], scope: 'machine', target, firstSensor: first, sensorCount: machine.sensors.length }, deriveSeed(seed, target, 'clock'), config.clockJump.rate);
    }
  }
  if (config.kinds.includes('clock_jump') && config.clockJump.scope === 'plant') {
    const target = `${plant.enterprise}/${plant.site}`;
    addStream({ kinds: ['clock_jump'], scope: 'plant', target, firstSensor: 0, sensorCount: plant.sensors.length }, deriveSeed(seed, target, 'clock'), config.clockJump.rate);
  }
  heapify(heap);

  return {
    take(stepIndex: number): ScheduledFault[] {
      const out: ScheduledFault[] = [];
      for (let top = heap[0]; top !== undefined && top.pending.startStep <= stepIndex; top = heap[0]) {
        out.push(top.pending);
        top.pending = draw(top, top.pending.startStep + top.pending.steps);
        siftDown(heap, 0);
      }
      return out;
    },
  };
}

/** Every fault that starts within the first `steps` steps, in start order. */
export function drawFaults(opts: FaultScheduleOptions & { steps: number }): ScheduledFault[] {
  if (opts.steps <= 0) return [];
  return createFaultSchedule(opts).take(opts.steps - 1);
}

function drawMagnitude(kind: FaultKind, rng: Rng, config: FaultConfig): number {
  switch (kind) {
    case 'spike':
      return rng.uniform(0.5, 0.9);
    case 'level_shift':
      return rng.uniform(0.05, 0.15);
    case 'drift':
      return rng.uniform(0.1, 0.25);
    case 'noise_burst':
      return rng.uniform(0.02, 0.05);
    case 'intermittent_bad_quality':
      return rng.uniform(0.3, 0.7);
    case 'clock_jump': {
      const [lo, hi] = config.clockJump.offset;
      const size = Math.round(rng.uniform(lo, hi));
      return rng.next() < 0.5 ? -size : size;
    }
    case 'stuck':
    case 'dropout':
      return 0;
  }
}

// --- a binary min-heap of streams keyed by (pending start step, order) ---------------------

const before = (a: Stream, b: Stream): boolean =>
  a.pending.startStep < b.pending.startStep || (a.pending.startStep === b.pending.startStep && a.order < b.order);

function heapify(h: Stream[]): void {
  for (let i = (h.length >> 1) - 1; i >= 0; i--) siftDown(h, i);
}

function siftDown(h: Stream[], i: number): void {
  const n = h.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < n && before(h[l] as Stream, h[m] as Stream)) m = l;
    if (r < n && before(h[r] as Stream, h[m] as Stream)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m] as Stream, h[i] as Stream];
    i = m;
  }
}

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { EpochMs, SensorId } from '../shared/reading.js';
import { FaultKind } from './faults/config.js';
import type { ScheduledFault } from './faults/schedule.js';
import type { SimStep } from './generate.js';
import type { MachineEventKind } from './machines/index.js';
import type { Plant } from './plant.js';

/**
 * Ground truth: everything the simulator did that an analysis should find, so that detectors and
 * remaining-life estimators can be scored on simulated plants as well as on public benchmarks.
 *
 * - per sensor, the injected anomaly windows (kind, first and last affected step, inclusive), and
 *   whether any reading in the window differed from the clean one (`observable`): a stuck
 *   sensor whose clean value was constant anyway changes nothing an analysis could find;
 * - clock jumps, per machine or plant (they shift timestamps, not values);
 * - per asset (machine path), the failures and maintenance events the machine model reported,
 *   and its true wear and remaining useful life, sampled every `truthEveryMs`.
 *
 * The recorder is fed step by step by the generator and keeps only those: windows and events are
 * few, and the truth series grows with simulated time over `truthEveryMs`, not with the rate.
 * Assets whose model reports no events or truth simply have empty lists.
 */

export const GROUND_TRUTH_FORMAT = 'millwright-ground-truth/1';

/** The kinds of `MachineEvent` (machines/model.ts), as a list for the schema. */
export const MACHINE_EVENT_KINDS = ['failure', 'repair_start', 'repair_end', 'maintenance'] as const satisfies readonly MachineEventKind[];
// Fails to compile if the models gain a kind this list lacks.
const noKindMissing: [Exclude<MachineEventKind, (typeof MACHINE_EVENT_KINDS)[number]>] extends [never] ? true : never = true;
void noKindMissing;

export const AnomalyWindow = z.strictObject({
  sensor: SensorId,
  kind: FaultKind.exclude(['clock_jump']),
  start: EpochMs.describe('timestamp of the first affected step'),
  end: EpochMs.describe('timestamp of the last affected step (inclusive)'),
  magnitude: z.number().describe('size, by kind: see simulators/faults/schedule.ts ScheduledFault.magnitude'),
  observable: z
    .boolean()
    .describe('some reading in the window differed from the clean run (value, quality, or missing); false: the fault changed nothing, e.g. stuck on a constant signal'),
});
export type AnomalyWindow = z.infer<typeof AnomalyWindow>;

export const ClockJumpWindow = z.strictObject({
  scope: z.enum(['machine', 'plant']),
  target: z.string().describe('machine path, or <enterprise>/<site> for the plant'),
  start: EpochMs.describe('true time of the first shifted step'),
  end: EpochMs.describe('true time of the last shifted step (inclusive)'),
  offsetMs: z.number().int().describe('added to the source timestamps; negative: the clock is behind'),
});
export type ClockJumpWindow = z.infer<typeof ClockJumpWindow>;

export const AssetEvent = z.strictObject({
  kind: z.enum(MACHINE_EVENT_KINDS),
  ts: EpochMs.describe('true time of the event'),
  detail: z.string().describe('one line for people, e.g. "bearing wear: drive-end bearing seized"'),
  mode: z.string().optional().describe('degradation mode or maintenance item, e.g. bearing_wear'),
});

export const AssetTruth = z.strictObject({
  type: z.string(),
  failures: z.array(EpochMs).describe('failure times'),
  events: z.array(AssetEvent).describe('failures, repairs and maintenance, in time order'),
  truth: z
    .array(z.tuple([EpochMs, z.number(), z.number().nullable(), z.number().nullable()]))
    .describe(
      '[ts, wear, rulHours, hoursToFailure], one every truthEveryMs. rulHours: the model\'s remaining life in running hours ' +
        '(null if it does not say); hoursToFailure: calendar hours until the next failure the run saw (null if none did)',
    ),
});
export type AssetTruth = z.infer<typeof AssetTruth>;

export const GroundTruth = z.strictObject({
  format: z.literal(GROUND_TRUTH_FORMAT),
  scenario: z.string(),
  seed: z.number().int(),
  startMs: EpochMs,
  periodMs: z.number().int().positive(),
  steps: z.number().int().min(0).describe('steps generated'),
  endMs: EpochMs.nullable().describe('timestamp of the last step generated; null when none was'),
  truthEveryMs: z.number().int().positive(),
  anomalies: z.array(AnomalyWindow).describe('sensor faults, in start order'),
  clockJumps: z.array(ClockJumpWindow),
  assets: z.record(z.string(), AssetTruth).describe('by machine path'),
});
export type GroundTruth = z.infer<typeof GroundTruth>;

export interface GroundTruthRecorder {
  recordFault(fault: ScheduledFault): void;
  /** The fault, recorded before, changed a reading (see `FaultLayerOptions.onFaultObserved`). */
  recordObserved(fault: ScheduledFault): void;
  recordStep(step: SimStep): void;
  /** The ground truth so far; windows still open end at the last step generated. */
  snapshot(): GroundTruth;
}

export interface GroundTruthOptions {
  scenario: string;
  seed: number;
  plant: Plant;
  startMs: number;
  periodMs: number;
  /** Spacing of the wear/RUL samples. Default one hour. */
  truthEveryMs?: number;
}

export const DEFAULT_TRUTH_EVERY_MS = 3_600_000;

export function createGroundTruthRecorder(opts: GroundTruthOptions): GroundTruthRecorder {
  const { plant, startMs, periodMs } = opts;
  const truthEveryMs = opts.truthEveryMs ?? DEFAULT_TRUTH_EVERY_MS;
  if (!Number.isInteger(truthEveryMs) || truthEveryMs < 1) throw new RangeError(`truthEveryMs must be a positive integer, got ${truthEveryMs}`);
  const anomalies: AnomalyWindow[] = [];
  const clockJumps: ClockJumpWindow[] = [];
  const windowOf = new WeakMap<ScheduledFault, AnomalyWindow>();
  const assets: AssetTruth[] = plant.machines.map((m) => ({ type: m.type, failures: [], events: [], truth: [] }));
  let steps = 0;
  let lastTs: number | null = null;
  let lastBucket = -1;

  return {
    recordFault(f) {
      if (f.scope === 'sensor') {
        if (f.kind === 'clock_jump') throw new Error('a clock jump acts on a machine or the plant, not a sensor');
        const w: AnomalyWindow = { sensor: f.target, kind: f.kind, start: f.start, end: f.end, magnitude: f.magnitude, observable: false };
        anomalies.push(w);
        windowOf.set(f, w);
      } else {
        clockJumps.push({ scope: f.scope, target: f.target, start: f.start, end: f.end, offsetMs: f.magnitude });
      }
    },

    recordObserved(f) {
      const w = windowOf.get(f);
      if (!w) throw new Error(`fault on ${f.target} at step ${f.startStep} was observed but never recorded`);
      w.observable = true;
    },

    recordStep(step) {
      steps++;
      lastTs = step.ts;
      for (const e of step.events) {
        const asset = assets[e.machine];
        if (!asset) continue;
        asset.events.push({ kind: e.kind, ts: e.ts, detail: e.detail, ...(e.mode === undefined ? {} : { mode: e.mode }) });
        if (e.kind === 'failure') asset.failures.push(e.ts);
      }
      const bucket = Math.floor((step.ts - startMs) / truthEveryMs);
      if (bucket > lastBucket) {
        lastBucket = bucket;
        step.truth.forEach((t, i) => {
          if (t) assets[i]?.truth.push([step.ts, t.wear, t.rulHours ?? null, null]);
        });
      }
    },

    snapshot() {
      const clip = <W extends { start: number; end: number }>(w: W): W | undefined =>
        lastTs === null || w.start > lastTs ? undefined : { ...w, end: Math.min(w.end, lastTs) };
      return {
        format: GROUND_TRUTH_FORMAT,
        scenario: opts.scenario,
        seed: opts.seed,
        startMs,
        periodMs,
        steps,
        endMs: lastTs,
        truthEveryMs,
        anomalies: anomalies.map(clip).filter((w) => w !== undefined),
        clockJumps: clockJumps.map(clip).filter((w) => w !== undefined),
        assets: Object.fromEntries(
          plant.machines.map((m, i) => {
            const a = assets[i] as AssetTruth;
            return [m.path, { type: a.type, failures: [...a.failures], events: [...a.events], truth: withHoursToFailure(a.truth, a.failures) }];
          }),
        ),
      };
    },
  };
}

/** Fills in the calendar hours from each sample to the next failure, now that the failures are known. */
function withHoursToFailure(truth: AssetTruth['truth'], failures: readonly number[]): AssetTruth['truth'] {
  let f = 0;
  return truth.map(([ts, wear, rul]) => {
    while (f < failures.length && (failures[f] as number) < ts) f++;
    const next = failures[f];
    return [ts, wear, rul, next === undefined ? null : (next - ts) / 3_600_000];
  });
}

/**
 * Writes the ground truth as JSON, one window, event or sample a line so that it diffs and
 * greps well, without building the whole text in memory.
 */
export function writeGroundTruth(file: string, gt: GroundTruth): void {
  const fd = openSync(file, 'w');
  try {
    const out = (s: string): void => {
      writeSync(fd, s);
    };
    const list = (items: readonly unknown[], indent: string): void => {
      if (items.length === 0) return out('[]');
      out('[\n');
      items.forEach((item, i) => out(`${indent}  ${JSON.stringify(item)}${i < items.length - 1 ? ',' : ''}\n`));
      out(`${indent}]`);
    };
    const { anomalies, clockJumps, assets, ...head } = gt;
    out('{\n');
    for (const [k, v] of Object.entries(head)) out(`  ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`);
    out('  "anomalies": ');
    list(anomalies, '  ');
    out(',\n  "clockJumps": ');
    list(clockJumps, '  ');
    out(',\n  "assets": {');
    const entries = Object.entries(assets);
    entries.forEach(([path, a], i) => {
      out(`\n    ${JSON.stringify(path)}: {\n      "type": ${JSON.stringify(a.type)},\n      "failures": ${JSON.stringify(a.failures)},\n      "events": `);
      list(a.events, '      ');
      out(',\n      "truth": ');
      list(a.truth, '      ');
      out(`\n    }${i < entries.length - 1 ? ',' : '\n  '}`);
    });
    out('}\n}\n');
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates a ground-truth file (for evaluations and tests). */
export function readGroundTruth(file: string): GroundTruth {
  return GroundTruth.parse(JSON.parse(readFileSync(file, 'utf8')));
}

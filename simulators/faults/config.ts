import { z } from 'zod';
import type { SensorSpec } from '../machines/index.js';

/**
 * The fault kinds the simulator injects, which sensors each applies to, and the `faults:` section
 * of a scenario. Every kind but `clock_jump` acts on one sensor; `clock_jump` acts on the gateway
 * and shifts the source timestamps of a whole machine or of the whole plant.
 *
 * | kind                       | what the readings show during the window                                  |
 * |----------------------------|---------------------------------------------------------------------------|
 * | `spike`                    | the value jumps 50–90 % of the way to the far end of the measuring range   |
 * | `level_shift`              | a constant offset of 5–15 % of the span                                    |
 * | `drift`                    | an offset growing linearly to 10–25 % of the span, gone after the window   |
 * | `stuck`                    | the value at the start of the window, repeated                             |
 * | `noise_burst`              | added Gaussian noise, sd 2–5 % of the span (reflected at the range ends)   |
 * | `dropout`                  | no readings at all                                                         |
 * | `intermittent_bad_quality` | 30–70 % of the readings have quality "bad" (values untouched)              |
 * | `clock_jump`               | source timestamps shifted by the offset (values untouched)                 |
 *
 * The span is the transmitter's measuring range (`SensorSpec.range`); faulted values are clamped
 * and rounded like clean ones. Offsets move away from the nearer end of the range, so a fault is
 * never swallowed by a transmitter that saturates.
 */

export const FAULT_KINDS = [
  'spike',
  'level_shift',
  'drift',
  'stuck',
  'noise_burst',
  'dropout',
  'intermittent_bad_quality',
  'clock_jump',
] as const;
export const FaultKind = z.enum(FAULT_KINDS);
export type FaultKind = z.infer<typeof FaultKind>;
export type SensorFaultKind = Exclude<FaultKind, 'clock_jump'>;

/** What a sensor measures; the machine models mark counters and machine states (default analog). */
export type SensorKind = 'analog' | 'counter' | 'state';

/**
 * A counter or a state enumeration cannot spike or drift (a 2.7 "running" or a counter that
 * runs backwards is a different bug), but its transmitter can freeze, go silent or report bad.
 */
const KINDS_FOR: Record<SensorKind, readonly SensorFaultKind[]> = {
  analog: ['spike', 'level_shift', 'drift', 'stuck', 'noise_burst', 'dropout', 'intermittent_bad_quality'],
  counter: ['stuck', 'dropout', 'intermittent_bad_quality'],
  state: ['stuck', 'dropout', 'intermittent_bad_quality'],
};

/**
 * `SensorSpec.kind` is optional here on purpose: models that predate it (and sensors that do not
 * say) are analog.
 */
export function sensorKind(spec: SensorSpec): SensorKind {
  const kind: unknown = (spec as unknown as { kind?: unknown }).kind;
  return kind === 'counter' || kind === 'state' ? kind : 'analog';
}

export function faultKindsFor(kind: SensorKind, enabled: readonly FaultKind[]): SensorFaultKind[] {
  return KINDS_FOR[kind].filter((k) => enabled.includes(k));
}

/**
 * Kinds whose effect is visible in the values of a series, and so belong in NAB-style label
 * windows. Dropouts, bad quality and clock jumps are data-quality faults: they are in the ground
 * truth, but a NAB series (good readings at the true time) does not show them.
 */
export const VALUE_FAULT_KINDS: readonly SensorFaultKind[] = ['spike', 'level_shift', 'drift', 'stuck', 'noise_burst'];

// --- durations -----------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_TEXT = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$/;
const DURATION_EXPECTED = 'a duration: milliseconds as a number, or a number with a unit ms, s, m, h or d (e.g. 90s, 5m, 2h)';

/** Milliseconds from `1500`, `"90s"`, `"5m"`, `"2h"`, `"1d"`; undefined when it is none of those. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION_TEXT.exec(value);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}

/** A duration, as milliseconds. */
export const Duration = z.unknown().transform((value, ctx): number => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected ${DURATION_EXPECTED}, got ${JSON.stringify(value) ?? String(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** `[shortest, longest]` (each drawn uniformly in between) or one duration for both. */
export const DurationRange = z.unknown().transform((value, ctx): readonly [number, number] => {
  const pair = Array.isArray(value) ? value : [value, value];
  if (pair.length !== 2) {
    ctx.addIssue({ code: 'custom', message: `expected [shortest, longest], two durations such as [5m, 2h], got ${pair.length} item(s)` });
    return z.NEVER;
  }
  const [lo, hi] = pair.map(parseDuration);
  if (lo === undefined || hi === undefined) {
    const bad = lo === undefined ? pair[0] : pair[1];
    ctx.addIssue({ code: 'custom', message: `expected [shortest, longest] where each is ${DURATION_EXPECTED}; got ${JSON.stringify(bad) ?? String(bad)}` });
    return z.NEVER;
  }
  if (lo > hi) {
    ctx.addIssue({ code: 'custom', message: `expected [shortest, longest] with shortest <= longest, got [${pair.map((p) => JSON.stringify(p)).join(', ')}]` });
    return z.NEVER;
  }
  return [lo, hi] as const;
});

/** Defaults, in milliseconds. A duration shorter than the period still lasts one step. */
export const DEFAULT_DURATIONS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  spike: [1000, 3000],
  level_shift: [30 * 60_000, 4 * 3_600_000],
  drift: [2 * 3_600_000, 12 * 3_600_000],
  stuck: [10 * 60_000, 2 * 3_600_000],
  noise_burst: [5 * 60_000, 30 * 60_000],
  dropout: [60_000, 20 * 60_000],
  intermittent_bad_quality: [10 * 60_000, 60 * 60_000],
  clock_jump: [10 * 60_000, 60 * 60_000],
};

const durationOf = (kind: FaultKind) =>
  DurationRange.optional()
    .transform((v) => v ?? DEFAULT_DURATIONS[kind])
    .describe(`how long a ${kind} lasts, [shortest, longest]`);

const Durations = z.strictObject({
  spike: durationOf('spike'),
  level_shift: durationOf('level_shift'),
  drift: durationOf('drift'),
  stuck: durationOf('stuck'),
  noise_burst: durationOf('noise_burst'),
  dropout: durationOf('dropout'),
  intermittent_bad_quality: durationOf('intermittent_bad_quality'),
  clock_jump: durationOf('clock_jump'),
});

export const FaultConfig = z.strictObject({
  rate: z
    .number()
    .min(0)
    .max(10_000)
    .default(1)
    .describe('sensor faults per sensor per simulated day, shared evenly among the kinds that apply to the sensor; 0: none'),
  kinds: z
    .array(FaultKind)
    .min(1)
    .default([...FAULT_KINDS])
    .refine((ks) => new Set(ks).size === ks.length, 'each kind at most once')
    .describe(`the kinds to inject, from: ${FAULT_KINDS.join(', ')}`),
  durations: Durations.prefault({}).describe('per kind, [shortest, longest]; unlisted kinds keep their defaults'),
  clockJump: z
    .strictObject({
      scope: z.enum(['machine', 'plant']).default('machine').describe('what a jump shifts: one machine\'s readings, or the whole plant\'s'),
      rate: z.number().min(0).max(1000).default(1).describe('jumps per machine (scope machine) or per plant (scope plant) per simulated day'),
      offset: DurationRange.optional()
        .transform((v) => v ?? ([30_000, 3_600_000] as const))
        .describe('size of the shift, [smallest, largest]; ahead or behind is drawn at random'),
    })
    .prefault({})
    .describe('clock jumps, when clock_jump is among the kinds'),
});
export type FaultConfig = z.output<typeof FaultConfig>;
export type FaultConfigInput = z.input<typeof FaultConfig>;

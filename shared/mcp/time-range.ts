import { z } from 'zod';
import { EPOCH_MS_MAX, EPOCH_MS_MIN } from '../reading.js';

/**
 * Time arguments of the history tools (edge and cloud alike), and the bucket width for
 * downsampling. Pure functions; the messages go straight back to the person or model that
 * called the tool.
 */

/** A point in time as a tool argument; parsed strictly by parseInstant. */
export const Instant = z
  .union([z.string(), z.number()])
  .describe('ISO 8601 time (e.g. "2025-03-01T08:00:00Z") or epoch milliseconds');

export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

export const DAY_MS = 86_400_000;
const MIN_MS = EPOCH_MS_MIN;
const MAX_MS = EPOCH_MS_MAX;
// An ISO 8601 date, optionally with a time; other formats Date.parse accepts are too ambiguous.
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/i;

/** ISO 8601 text or epoch milliseconds (number or digits) to epoch ms. */
export function parseInstant(value: string | number, field: string): number {
  const example = `an ISO 8601 time such as "2025-03-01T08:00:00Z" or epoch milliseconds such as 1740816000000`;
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (/^\d+$/.test(value.trim())) ms = Number(value.trim());
  else if (ISO.test(value.trim())) ms = Date.parse(value.trim());
  else throw new ToolInputError(`${field}: "${value}" is not ${example}`);
  if (!Number.isFinite(ms) || !Number.isInteger(ms)) throw new ToolInputError(`${field}: ${JSON.stringify(value)} is not ${example}`);
  if (ms < MIN_MS || ms > MAX_MS) {
    const hint = ms < MIN_MS && ms > MIN_MS / 1000 ? ' (seconds given? use milliseconds)' : '';
    throw new ToolInputError(`${field}: ${JSON.stringify(value)} is outside 2000..2100${hint}`);
  }
  return ms;
}

export interface ResolvedRange {
  /** epoch ms, inclusive; null for unbounded */
  fromMs: number | null;
  toMs: number | null;
}

/**
 * Neither bound: everything. Only `from`: from then until now. Only `to`: the 24 hours before
 * `to`. Both: as given. Bounds are inclusive.
 */
export function resolveRange(from: string | number | undefined, to: string | number | undefined, nowMs: number): ResolvedRange {
  if (from === undefined && to === undefined) return { fromMs: null, toMs: null };
  const toMs = to === undefined ? nowMs : parseInstant(to, 'to');
  const fromMs = from === undefined ? toMs - DAY_MS : parseInstant(from, 'from');
  if (fromMs > toMs) {
    throw new ToolInputError(`from (${new Date(fromMs).toISOString()}) is after to (${new Date(toMs).toISOString()})`);
  }
  return { fromMs, toMs };
}

const NICE_WIDTHS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 250, 500,
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
  60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
  DAY_MS, 2 * DAY_MS, 7 * DAY_MS,
];

/**
 * The smallest readable width (1 s, 5 min, 1 h, ...) that cuts `spanMs` into at most `maxBuckets`
 * buckets when they start at the beginning of the span.
 */
export function chooseBucketWidth(spanMs: number, maxBuckets: number): number {
  const least = Math.max(1, Math.ceil(spanMs / Math.max(1, maxBuckets)));
  const nice = NICE_WIDTHS_MS.find((w) => w >= least);
  return nice ?? Math.ceil(least / DAY_MS) * DAY_MS;
}

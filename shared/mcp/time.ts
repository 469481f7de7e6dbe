import { z } from 'zod';

/** A point in time as a tool argument: ISO 8601 text or milliseconds since the epoch. */
export const TimeArg = z
  .union([z.number().int().nonnegative(), z.string().min(1)])
  .describe('ISO 8601 time (2026-11-22T08:00:00Z) or milliseconds since the epoch');

/** Parses a TimeArg, or says what was wrong with it. */
export function parseTimeArg(v: number | string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new ToolInputError(`${name} "${v}" is not a time: use ISO 8601 like 2026-11-22T08:00:00Z or epoch milliseconds`);
  return ms;
}

/** A bad tool argument: reported to the caller as a tool error, with what to do. */
export class ToolInputError extends Error {
  override readonly name = 'ToolInputError';
}

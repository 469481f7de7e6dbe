import { describe, expect, it } from 'vitest';
import { chooseBucketWidth, DAY_MS, parseInstant, resolveRange, ToolInputError } from './time-range.js';

const T = Date.parse('2025-03-01T08:00:00Z');

describe('parseInstant', () => {
  it('accepts ISO 8601 and epoch milliseconds as number or digits', () => {
    expect(parseInstant('2025-03-01T08:00:00Z', 'from')).toBe(T);
    expect(parseInstant('2025-03-01T09:00:00+01:00', 'from')).toBe(T);
    expect(parseInstant(T, 'from')).toBe(T);
    expect(parseInstant(String(T), 'from')).toBe(T);
  });

  it('refuses text that is not a time, and seconds, with a message that says what to send', () => {
    expect(() => parseInstant('yesterday', 'from')).toThrow(/from: "yesterday" is not an ISO 8601 time/);
    expect(() => parseInstant(T / 1000, 'to')).toThrow(/seconds given/);
    expect(() => parseInstant('2025-13-45T00:00:00Z', 'to')).toThrow(ToolInputError);
  });
});

describe('resolveRange', () => {
  it('returns everything when no bound is given', () => {
    expect(resolveRange(undefined, undefined, T)).toEqual({ fromMs: null, toMs: null });
  });

  it('defaults the missing bound: until now, or the day before to', () => {
    expect(resolveRange(T - 1000, undefined, T)).toEqual({ fromMs: T - 1000, toMs: T });
    expect(resolveRange(undefined, T, T + 5)).toEqual({ fromMs: T - DAY_MS, toMs: T });
  });

  it('refuses from after to', () => {
    expect(() => resolveRange(T + 1, T, T)).toThrow(/is after to/);
  });
});

describe('chooseBucketWidth', () => {
  it('picks a readable width that keeps the bucket count within the limit', () => {
    expect(chooseBucketWidth(3_600_000, 60)).toBe(60_000);
    expect(chooseBucketWidth(3_600_000, 59)).toBe(120_000);
    expect(chooseBucketWidth(1000, 1000)).toBe(1);
    expect(chooseBucketWidth(30 * DAY_MS, 2)).toBe(15 * DAY_MS);
    for (const [span, max] of [[123_457, 7], [10_000_001, 1000], [1, 1], [999_999_999, 3]] as const) {
      const w = chooseBucketWidth(span, max);
      expect(Math.ceil(span / w)).toBeLessThanOrEqual(max);
    }
  });
});

import type { Quality } from '../../../shared/reading.js';

/**
 * OPC-UA status code → quality: the top two bits are the severity (OPC-UA Part 4, 7.39:
 * 00 Good, 01 Uncertain, 10/11 Bad).
 */
export function qualityOfStatus(statusCode: number): Quality {
  const severity = statusCode >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

/**
 * A variant's value as a number, or undefined when it is not one. node-opcua hands 64-bit
 * integers as [high, low] 32-bit words; booleans are stored as 0/1.
 */
export function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value) && value.length === 2 && value.every((w) => typeof w === 'number')) {
    return (value[0] as number) * 2 ** 32 + (value[1] as number);
  }
  return undefined;
}

/** A browse name as a sensor path segment: letters, digits, _ . - only. */
export function segmentOf(browseName: string): string {
  const s = browseName.trim().replace(/[^A-Za-z0-9_.-]+/g, '_');
  return s === '' ? '_' : s;
}

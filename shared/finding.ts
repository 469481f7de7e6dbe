import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EpochMs, SensorId } from './reading.js';

export const FindingKind = z.enum(['anomaly', 'remaining_life', 'threshold']);
export type FindingKind = z.infer<typeof FindingKind>;

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** What an analysis concluded about a sensor or an asset over a window of time. */
export const Finding = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{32}$/).describe('deterministic: see findingId()'),
  kind: FindingKind,
  subject: SensorId.describe('the sensor, or the asset path for asset-level findings'),
  start: EpochMs,
  end: EpochMs,
  score: z.number().finite().describe('0..1 for anomalies; for remaining life, hours'),
  severity: Severity,
  detector: z.string().min(1).max(64).describe('name and version of the detector, e.g. zscore@1'),
  message: z.string().max(2000).describe('what moved and how, for a person'),
  details: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).default({}),
});
export type Finding = z.infer<typeof Finding>;

/**
 * The same detector looking at the same subject from the same start must produce the same id,
 * so recomputing a window (after a restart, a model update) updates instead of duplicating.
 */
export function findingId(kind: FindingKind, subject: string, detector: string, start: number): string {
  return createHash('sha256').update(`${kind}\n${subject}\n${detector}\n${start}`).digest('hex').slice(0, 32);
}

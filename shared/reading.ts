import { z } from 'zod';

/**
 * A sensor id is a Unified-Namespace-style path: enterprise/site/area/line/machine/signal,
 * e.g. `acme/plant1/press-line/press-3/vibration_rms`. Segments are plain words so that the id
 * is also a safe MQTT topic suffix and a readable key in both databases.
 */
export const SensorId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'a path of words separated by "/" (letters, digits, _ . -)')
  .describe('Unified-Namespace path of the sensor');
export type SensorId = z.infer<typeof SensorId>;

/** OPC-UA style quality, reduced to the three classes an operator acts on. */
export const Quality = z.enum(['good', 'uncertain', 'bad']);
export type Quality = z.infer<typeof Quality>;

/** Compact codes used on disk and on the wire; the order is part of the contract. */
export const QUALITY_CODES: readonly Quality[] = ['good', 'uncertain', 'bad'];
export const qualityCode = (q: Quality): number => QUALITY_CODES.indexOf(q);
export const qualityFromCode = (c: number): Quality => QUALITY_CODES[c] ?? 'bad';

/** 2000-01-01 and 2100-01-01: timestamps outside are unit mix-ups, not plant data. */
export const EPOCH_MS_MIN = 946_684_800_000;
export const EPOCH_MS_MAX = 4_102_444_800_000;

/** Milliseconds since the Unix epoch; the range check catches seconds and microseconds mix-ups. */
export const EpochMs = z
  .number()
  .int()
  .min(EPOCH_MS_MIN, 'milliseconds since 1970 after 2000-01-01 (seconds given?)')
  .max(EPOCH_MS_MAX, 'milliseconds since 1970 before 2100-01-01 (microseconds given?)');

export const Reading = z.strictObject({
  sensor: SensorId,
  ts: EpochMs.describe('source timestamp, ms since epoch'),
  value: z.number().finite(),
  quality: Quality.default('good'),
  receivedAt: EpochMs.describe('gateway receive time, ms since epoch'),
});
export type Reading = z.infer<typeof Reading>;

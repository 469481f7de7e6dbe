import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { HealthModel } from './health-model.js';

/**
 * A trained remaining-life model as a file: what `millwright train` writes, what the cloud
 * publishes to gateways (`millwright cloud model publish`), what an edge loads. Versioned by its
 * format; its provenance says what it was trained on.
 */
export const MODEL_FORMAT = 'millwright-rul-health@1';

const ModelFile = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  trainedAt: z.string(),
  trainedOn: z.strictObject({ source: z.string(), units: z.number().int().min(1), cycles: z.number().int().min(1) }),
  model: z.custom<HealthModel>((m) => typeof m === 'object' && m !== null && (m as { version?: unknown }).version === 1, 'a health model, version 1'),
});
export type ModelFile = z.infer<typeof ModelFile>;

export function writeModelFile(path: string, m: ModelFile): void {
  // Aside and renamed: a reader never sees half a model.
  writeFileSync(`${path}.part`, JSON.stringify(m));
  renameSync(`${path}.part`, path);
}

export function readModelFile(path: string): ModelFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const parsed = ModelFile.safeParse(raw);
  if (!parsed.success) {
    const format = (raw as { format?: unknown } | null)?.format;
    throw new Error(`${path}: not a ${MODEL_FORMAT} model file${typeof format === 'string' ? ` (format "${format}")` : ''}: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return parsed.data;
}

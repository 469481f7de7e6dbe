import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { evalCmapss, evalCmapssCommand, trainCommand } from '../eval/cmapss-eval.js';
import { readCmapss } from '../eval/cmapss-data.js';
import { predictRemainingLife } from './health-model.js';
import { readModelFile } from './model-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mw-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cmapss = join(import.meta.dirname, '../../../../shared/datasets/cmapss');

describe('model files', () => {
  it('refuses a file of another format, naming it', () => {
    const f = join(dir, 'other.model');
    writeFileSync(f, JSON.stringify({ format: 'someone-else@2', model: {} }));
    expect(() => readModelFile(f)).toThrow(/not a millwright-rul-health@1 model file \(format "someone-else@2"\)/);
    expect(() => readModelFile(join(dir, 'missing.model'))).toThrow(/missing\.model: ENOENT/);
  });

  it.skipIf(!existsSync(cmapss))('`train` writes a model that `eval cmapss --model` scores exactly as the one trained in place', async () => {
    const out = join(dir, 'rul-fd003.model');
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((x: string | Uint8Array) => (printed.push(String(x)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await trainCommand({ data: cmapss, subset: 'FD003', out })).toBe(0);
      expect(await evalCmapssCommand({ data: cmapss, subset: 'FD003', model: out })).toBe(0);
      expect(await trainCommand({ data: cmapss, subset: 'all', out })).toBe(2);
    } finally {
      vi.restoreAllMocks();
    }
    const file = readModelFile(out);
    expect(file.trainedOn).toMatchObject({ source: 'C-MAPSS train_FD003', units: 100 });
    const inPlace = evalCmapss(cmapss, 'FD003');
    expect(printed.join('')).toContain(`FD003: RMSE ${inPlace.rmse.toFixed(2)}`);
    const unit = readCmapss(cmapss, 'FD003').test[0]!;
    expect(predictRemainingLife(file.model, unit.rows)).toBeGreaterThanOrEqual(0);
  });
});

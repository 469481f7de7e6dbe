import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../simulators/random.js';
import { evalCmapss } from '../eval/cmapss-eval.js';
import { DEFAULT_HEALTH_MODEL, predictRemainingLife, trainHealthModel, unitFeatures } from './health-model.js';

/** Units that wear out: two sensors drift faster as the end nears, over noise; lives 150–300 cycles. */
function fleet(n: number, seed: number): { rows: number[][] }[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const life = 150 + Math.floor(rng.next() * 150);
    return {
      rows: Array.from({ length: life }, (_, t) => {
        const wear = Math.exp((t - life) / 40);
        const sensors = Array.from({ length: 21 }, (_, s) => (s === 2 ? 600 + 30 * wear : s === 7 ? 40 - 5 * wear : 100) + (s === 2 || s === 7 ? rng.next() - 0.5 : 0));
        return [0, 0, 100, ...sensors];
      }),
    };
  });
}

describe('remaining-life health model', () => {
  it('features are causal: a cycle’s features do not change when later cycles do', () => {
    const norm = Array.from({ length: 80 }, (_, t) => [Math.sin(t / 5), t / 10]);
    const later = norm.map((r, t) => (t >= 50 ? [r[0]! * 9, -r[1]!] : r));
    expect(unitFeatures(later, DEFAULT_HEALTH_MODEL).slice(0, 50)).toEqual(unitFeatures(norm, DEFAULT_HEALTH_MODEL).slice(0, 50));
  });

  it('learns wear from run-to-failure histories and predicts the remaining life of units it never saw', () => {
    const model = trainHealthModel(fleet(40, 1), { mlp: { ...DEFAULT_HEALTH_MODEL.mlp, epochs: 15 } });
    expect(model.sensors).toEqual([2, 7]);
    const test = fleet(20, 2);
    const errors = test.map((u) => {
      const cut = u.rows.length - 30;
      return predictRemainingLife(model, u.rows.slice(0, cut)) - 30;
    });
    const rmse = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
    // Constant 125 would be off by 95 on each; the model reads the wear.
    expect(rmse).toBeLessThan(15);
  });

  const dir = join(import.meta.dirname, '../../../../shared/datasets/cmapss');
  it.skipIf(!existsSync(dir))('C-MAPSS FD001 by the standard protocol: RMSE under the 16 target, deterministic', () => {
    const a = evalCmapss(dir, 'FD001');
    expect(a.rmse).toBeLessThan(16);
    expect(evalCmapss(dir, 'FD001').rmse).toBe(a.rmse);
  });
});

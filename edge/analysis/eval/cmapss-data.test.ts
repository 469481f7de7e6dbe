import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cappedTargets, phm08Score, readCmapss, RUL_CAP, rmse, SUBSETS } from './cmapss-data.js';

const dir = join(import.meta.dirname, '../../../../shared/datasets/cmapss');

describe('C-MAPSS metrics', () => {
  it('RMSE and the PHM08 score on a hand-made case: late costs more than early', () => {
    expect(rmse([10, 20], [10, 20])).toBe(0);
    expect(rmse([13, 16], [10, 20])).toBeCloseTo(Math.sqrt((9 + 16) / 2), 12);
    // d = +10 (late): e^1 − 1; d = −13 (early): e^1 − 1; d = +13: e^1.3 − 1.
    expect(phm08Score([30], [20])).toBeCloseTo(Math.E - 1, 12);
    expect(phm08Score([7], [20])).toBeCloseTo(Math.E - 1, 12);
    expect(phm08Score([33], [20])).toBeGreaterThan(phm08Score([7], [20]));
  });

  it('the capped target runs down to 0 at the last cycle and is flat at 125 before', () => {
    const unit = { id: 1, rows: Array.from({ length: 200 }, () => [0]) };
    const t = cappedTargets(unit);
    expect(t[199]).toBe(0);
    expect(t[75]).toBe(124);
    expect(t[74]).toBe(RUL_CAP);
    expect(t[0]).toBe(RUL_CAP);
  });
});

/** ../shared/datasets/cmapss/sanity_baselines.md, raw truth: [constant 125 RMSE, score; mean target, RMSE, score]. */
const BASELINES: Record<string, [number, number, number, number, number]> = {
  FD001: [64.6153, 1502475.4129, 86.83, 43.067, 33629.2306],
  FD002: [69.3677, 5163062.8018, 86.91, 54.083, 153229.2594],
  FD003: [64.6661, 1390904.755, 93.14, 45.0695, 57949.6372],
  FD004: [66.7163, 4030492.6731, 92.99, 54.902, 189682.8175],
};

describe.skipIf(!existsSync(dir))('C-MAPSS protocol against the sanity baselines', () => {
  it.each(SUBSETS)('%s: constant 125 and the mean capped training target give the published RMSE and score', (subset) => {
    const d = readCmapss(dir, subset);
    const [rmse125, score125, mean, rmseMean, scoreMean] = BASELINES[subset]!;
    expect(rmse(d.truth.map(() => 125), d.truth)).toBeCloseTo(rmse125, 3);
    expect(phm08Score(d.truth.map(() => 125), d.truth) / score125).toBeCloseTo(1, 6);
    const targets = d.train.flatMap((u) => cappedTargets(u));
    const m = targets.reduce((a, b) => a + b, 0) / targets.length;
    expect(m).toBeCloseTo(mean, 2);
    expect(rmse(d.truth.map(() => m), d.truth)).toBeCloseTo(rmseMean, 3);
    expect(phm08Score(d.truth.map(() => m), d.truth) / scoreMean).toBeCloseTo(1, 5);
    expect(rmse(d.truth, d.truth)).toBe(0);
  });
});

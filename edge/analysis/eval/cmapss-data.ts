import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * NASA C-MAPSS turbofan run-to-failure data (../shared/datasets/cmapss, see its README): per row a
 * unit, a cycle, 3 operating settings and 21 sensors. Training units run to failure; test units
 * stop some time before, and RUL_FD00x gives each test unit's true remaining cycles.
 */
export const SUBSETS = ['FD001', 'FD002', 'FD003', 'FD004'] as const;
export type Subset = (typeof SUBSETS)[number];

/** The standard protocol's cap on the training target (piecewise-linear RUL). */
export const RUL_CAP = 125;

export interface Unit {
  id: number;
  /** One row per cycle, in cycle order: [setting1..3, sensor1..21]. */
  rows: number[][];
}

export interface CmapssSubset {
  subset: Subset;
  train: Unit[];
  test: Unit[];
  /** True RUL at each test unit's last cycle, in unit order. */
  truth: number[];
}

function readGz(file: string): string {
  try {
    return gunzipSync(readFileSync(file)).toString('utf8');
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

function units(text: string, file: string): Unit[] {
  const byId = new Map<number, number[][]>();
  text.split('\n').forEach((line, k) => {
    const cols = line.trim().split(/\s+/).filter((c) => c.length > 0).map(Number);
    if (cols.length === 0) return;
    if (cols.length !== 26 || cols.some((c) => !Number.isFinite(c))) throw new Error(`${file}:${k + 1}: expected 26 numbers (unit, cycle, 3 settings, 21 sensors)`);
    const [id, cycle] = cols as [number, number];
    const rows = byId.get(id) ?? [];
    if (cycle !== rows.length + 1) throw new Error(`${file}:${k + 1}: unit ${id} cycle ${cycle} out of order`);
    rows.push(cols.slice(2));
    byId.set(id, rows);
  });
  return [...byId.entries()].sort((a, b) => a[0] - b[0]).map(([id, rows]) => ({ id, rows }));
}

export function readCmapss(dir: string, subset: Subset): CmapssSubset {
  const train = units(readGz(join(dir, `train_${subset}.txt.gz`)), `train_${subset}`);
  const test = units(readGz(join(dir, `test_${subset}.txt.gz`)), `test_${subset}`);
  const truth = readGz(join(dir, `RUL_${subset}.txt.gz`))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map(Number);
  if (truth.length !== test.length) throw new Error(`RUL_${subset}: ${truth.length} values for ${test.length} test units`);
  return { subset, train, test, truth };
}

/** Training target per cycle: cycles left until the unit's last, capped (the standard protocol). */
export function cappedTargets(unit: Unit, cap = RUL_CAP): number[] {
  const n = unit.rows.length;
  return unit.rows.map((_, i) => Math.min(cap, n - 1 - i));
}

export function rmse(predicted: readonly number[], truth: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += (predicted[i]! - truth[i]!) ** 2;
  return Math.sqrt(s / truth.length);
}

/** PHM08 score: late predictions (d > 0) cost more than early ones. d = predicted − true. */
export function phm08Score(predicted: readonly number[], truth: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < truth.length; i++) {
    const d = predicted[i]! - truth[i]!;
    s += d < 0 ? Math.exp(-d / 13) - 1 : Math.exp(d / 10) - 1;
  }
  return s;
}

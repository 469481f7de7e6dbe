import { predictRemainingLife, trainHealthModel } from '../rul/health-model.js';
import { phm08Score, readCmapss, rmse, SUBSETS, type Subset } from './cmapss-data.js';

export interface CmapssResult {
  subset: Subset;
  trainUnits: number;
  testUnits: number;
  rmse: number;
  score: number;
  trainSeconds: number;
  /** Inference per test unit (its whole history), in milliseconds. */
  msPerUnit: number;
}

/**
 * The standard protocol (../shared/datasets/README.md): train on `train_*` only with the target
 * capped at 125, predict each test unit at its last cycle, compare with `RUL_*` (uncapped).
 */
export function evalCmapss(dir: string, subset: Subset, onProgress?: (line: string) => void): CmapssResult {
  const d = readCmapss(dir, subset);
  const t0 = performance.now();
  const model = trainHealthModel(d.train, {}, (epoch, of) => onProgress?.(`${subset}: training ${epoch}/${of}`));
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const predicted = d.test.map((u) => predictRemainingLife(model, u.rows));
  const msPerUnit = (performance.now() - t1) / d.test.length;
  return { subset, trainUnits: d.train.length, testUnits: d.test.length, rmse: rmse(predicted, d.truth), score: phm08Score(predicted, d.truth), trainSeconds, msPerUnit };
}

export function parseSubsets(arg: string): Subset[] {
  if (arg === 'all') return [...SUBSETS];
  const s = arg.toUpperCase();
  if (!(SUBSETS as readonly string[]).includes(s)) throw new Error(`--subset ${arg}: one of ${SUBSETS.join(', ')} or all`);
  return [s as Subset];
}

/** Published test RMSE (../shared/datasets/README.md), printed beside ours. */
const PUBLISHED: Record<Subset, string> = {
  FD001: 'LSTM 16.14, DCNN 12.61, STAR 10.61',
  FD002: 'LSTM 24.49, DCNN 22.36, STAR 13.47',
  FD003: 'LSTM 16.18, DCNN 12.64, STAR 10.71',
  FD004: 'LSTM 28.17, DCNN 23.31, STAR 15.87',
};

/** `millwright eval cmapss [--subset FD001|…|all] [--data DIR]`. */
export async function evalCmapssCommand(opts: { data: string; subset: string }): Promise<number> {
  let subsets: Subset[];
  try {
    subsets = parseSubsets(opts.subset);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const lines: string[] = [];
  for (const subset of subsets) {
    let r: CmapssResult;
    try {
      r = evalCmapss(opts.data, subset, (line) => process.stderr.write(`\r${line}`.padEnd(60)));
    } catch (err) {
      process.stderr.write(`\n${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write('\n');
    lines.push(
      `${subset}: RMSE ${r.rmse.toFixed(2)}, PHM08 score ${r.score.toFixed(0)} (${r.testUnits} test units, trained on ${r.trainUnits} in ${r.trainSeconds.toFixed(1)} s, ${r.msPerUnit.toFixed(2)} ms per unit) — published: ${PUBLISHED[subset]}`,
    );
    process.stdout.write(lines[lines.length - 1] + '\n');
  }
  return 0;
}

import { predictRemainingLife, trainHealthModel, type HealthModel } from '../rul/health-model.js';
import { MODEL_FORMAT, readModelFile, writeModelFile } from '../rul/model-file.js';
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
export function evalCmapss(dir: string, subset: Subset, onProgress?: (line: string) => void, given?: HealthModel): CmapssResult {
  const d = readCmapss(dir, subset);
  const t0 = performance.now();
  const model = given ?? trainHealthModel(d.train, {}, (epoch, of) => onProgress?.(`${subset}: training ${epoch}/${of}`));
  const trainSeconds = given ? 0 : (performance.now() - t0) / 1000;
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

/** `millwright train --subset FD00x --out FILE [--data DIR]`: trains on train_* only and writes the model file. */
export async function trainCommand(opts: { data: string; subset: string; out: string }): Promise<number> {
  let subset: Subset;
  try {
    const s = parseSubsets(opts.subset);
    if (s.length !== 1) throw new Error(`--subset ${opts.subset}: one subset per model`);
    subset = s[0]!;
    const d = readCmapss(opts.data, subset);
    const t0 = performance.now();
    const model = trainHealthModel(d.train, {}, (epoch, of) => process.stderr.write(`\r${subset}: training ${epoch}/${of}`.padEnd(40)));
    process.stderr.write('\n');
    const cycles = d.train.reduce((n, u) => n + u.rows.length, 0);
    writeModelFile(opts.out, { format: MODEL_FORMAT, trainedAt: new Date().toISOString(), trainedOn: { source: `C-MAPSS train_${subset}`, units: d.train.length, cycles }, model });
    process.stdout.write(`${MODEL_FORMAT} trained on ${d.train.length} units (${cycles} cycles) of ${subset} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${opts.out}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
}

/** `millwright eval cmapss [--subset FD001|…|all] [--data DIR] [--model FILE]`. */
export async function evalCmapssCommand(opts: { data: string; subset: string; model?: string }): Promise<number> {
  let subsets: Subset[];
  let given: HealthModel | undefined;
  try {
    subsets = parseSubsets(opts.subset);
    if (opts.model) {
      given = readModelFile(opts.model).model;
      if (subsets.length !== 1) throw new Error('--model: evaluate one --subset, the one it was trained for');
    }
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const lines: string[] = [];
  for (const subset of subsets) {
    let r: CmapssResult;
    try {
      r = evalCmapss(opts.data, subset, (line) => process.stderr.write(`\r${line}`.padEnd(60)), given);
    } catch (err) {
      process.stderr.write(`\n${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write('\n');
    lines.push(
      `${subset}: RMSE ${r.rmse.toFixed(2)}, PHM08 score ${r.score.toFixed(0)} (${r.testUnits} test units, ${given ? `model ${opts.model}` : `trained on ${r.trainUnits} in ${r.trainSeconds.toFixed(1)} s`}, ${r.msPerUnit.toFixed(2)} ms per unit) — published: ${PUBLISHED[subset]}`,
    );
    process.stdout.write(lines[lines.length - 1] + '\n');
  }
  return 0;
}

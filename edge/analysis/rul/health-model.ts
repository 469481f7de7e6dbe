import { DEFAULT_MLP, mlpPredict, trainMlp, type Mlp, type MlpOptions } from './mlp.js';

/**
 * Remaining useful life from run-to-failure histories: a health model in plain TypeScript.
 *
 * Each cycle is described by causal features (only that cycle and the ones before it): every
 * informative sensor normalised per operating condition, its recent mean and its recent slope,
 * and the unit's age. A ridge regression maps them to the capped remaining life. Small enough to
 * ship as JSON and to run per asset in microseconds.
 */

export interface HealthModelOptions {
  /** ridge: linear; mlp: a small perceptron over the same features (mlp.ts). */
  kind: 'ridge' | 'mlp';
  mlp: MlpOptions;
  /** Readings averaged for a sensor's recent level. */
  meanWindow: number;
  /** Readings over which a sensor's slope is fitted. */
  slopeWindow: number;
  /** Ridge penalty. */
  lambda: number;
  /** Predictions are clipped to [0, cap]. */
  cap: number;
}

export const DEFAULT_HEALTH_MODEL: HealthModelOptions = { kind: 'mlp', mlp: DEFAULT_MLP, meanWindow: 10, slopeWindow: 30, lambda: 1, cap: 125 };

export interface HealthModel {
  version: 1;
  options: HealthModelOptions;
  /** Operating-condition key → per-sensor [mean, std] in training. */
  conditions: Record<string, [number, number][]>;
  /** Indices (into the 21 sensors) kept as informative. */
  sensors: number[];
  /** Feature standardisation and the regression. */
  featureMean: number[];
  featureStd: number[];
  weights: number[];
  bias: number;
  mlp?: Mlp;
}

/** Rows are [setting1, setting2, setting3, sensor1..21]. Conditions differ by the settings. */
export function conditionKey(row: readonly number[]): string {
  return `${Math.round(row[0]!)}/${Math.round(row[1]! * 100)}/${Math.round(row[2]!)}`;
}

function normalise(rows: readonly (readonly number[])[], conditions: HealthModel['conditions'], sensors: readonly number[]): number[][] {
  return rows.map((row) => {
    const stats = conditions[conditionKey(row)];
    return sensors.map((s) => {
      const [m, sd] = stats?.[s] ?? [0, 1];
      return (row[3 + s]! - m) / (sd || 1);
    });
  });
}

/** Features of every cycle of one unit, each from that cycle and earlier ones only. */
export function unitFeatures(norm: readonly number[][], opts: HealthModelOptions): number[][] {
  const out: number[][] = [];
  const k = norm[0]?.length ?? 0;
  for (let t = 0; t < norm.length; t++) {
    const f: number[] = [];
    for (let j = 0; j < k; j++) {
      let sum = 0;
      const m0 = Math.max(0, t - opts.meanWindow + 1);
      for (let i = m0; i <= t; i++) sum += norm[i]![j]!;
      f.push(sum / (t - m0 + 1));
      // Least-squares slope over the slope window (0 with fewer than 3 points).
      const s0 = Math.max(0, t - opts.slopeWindow + 1);
      const n = t - s0 + 1;
      if (n < 3) f.push(0);
      else {
        const xm = (n - 1) / 2;
        let ym = 0;
        for (let i = s0; i <= t; i++) ym += norm[i]![j]!;
        ym /= n;
        let num = 0;
        let den = 0;
        for (let i = s0; i <= t; i++) {
          const x = i - s0 - xm;
          num += x * (norm[i]![j]! - ym);
          den += x * x;
        }
        f.push((num / den) * opts.slopeWindow);
      }
    }
    f.push(t / 100);
    out.push(f);
  }
  return out;
}

/** Solves (A) x = b for a symmetric positive definite A (Gaussian elimination with pivoting). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/** Trains on run-to-failure units: rows per cycle, the last row is the failure. */
export function trainHealthModel(
  units: readonly { rows: number[][] }[],
  options: Partial<HealthModelOptions> = {},
  onEpoch?: (epoch: number, of: number) => void,
): HealthModel {
  const opts = { ...DEFAULT_HEALTH_MODEL, ...options };
  // Per operating condition and sensor: mean and standard deviation over the training rows.
  const acc = new Map<string, { n: number; sum: number[]; sq: number[] }>();
  for (const u of units) {
    for (const row of u.rows) {
      const key = conditionKey(row);
      const a = acc.get(key) ?? { n: 0, sum: new Array<number>(21).fill(0), sq: new Array<number>(21).fill(0) };
      a.n++;
      for (let s = 0; s < 21; s++) {
        a.sum[s]! += row[3 + s]!;
        a.sq[s]! += row[3 + s]! ** 2;
      }
      acc.set(key, a);
    }
  }
  const conditions: HealthModel['conditions'] = {};
  for (const [key, a] of acc) conditions[key] = a.sum.map((s, i) => [s / a.n, Math.sqrt(Math.max(0, a.sq[i]! / a.n - (s / a.n) ** 2))]);
  // Informative: varies within a condition (the others are set points or constants).
  const sensors = Array.from({ length: 21 }, (_, s) => s).filter((s) => Object.values(conditions).some((c) => c[s]![1] > 1e-6 * Math.max(1, Math.abs(c[s]![0]))));

  const x: number[][] = [];
  const y: number[] = [];
  for (const u of units) {
    const f = unitFeatures(normalise(u.rows, conditions, sensors), opts);
    const n = u.rows.length;
    f.forEach((row, i) => {
      x.push(row);
      y.push(Math.min(opts.cap, n - 1 - i));
    });
  }
  const d = x[0]!.length;
  const featureMean = new Array<number>(d).fill(0);
  const featureStd = new Array<number>(d).fill(0);
  for (const row of x) row.forEach((v, j) => (featureMean[j]! += v / x.length));
  for (const row of x) row.forEach((v, j) => (featureStd[j]! += (v - featureMean[j]!) ** 2 / x.length));
  for (let j = 0; j < d; j++) featureStd[j] = Math.sqrt(featureStd[j]!) || 1;
  const ym = y.reduce((a, b) => a + b, 0) / y.length;
  const ata = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const aty = new Array<number>(d).fill(0);
  for (let r = 0; r < x.length; r++) {
    const z = x[r]!.map((v, j) => (v - featureMean[j]!) / featureStd[j]!);
    for (let i = 0; i < d; i++) {
      aty[i]! += z[i]! * (y[r]! - ym);
      for (let j = i; j < d; j++) ata[i]![j]! += z[i]! * z[j]!;
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) ata[i]![j] = ata[j]![i]!;
    ata[i]![i]! += opts.lambda;
  }
  const model: HealthModel = { version: 1, options: opts, conditions, sensors, featureMean, featureStd, weights: solve(ata, aty), bias: ym };
  if (opts.kind === 'mlp') {
    const z = x.map((row) => row.map((v, j) => (v - featureMean[j]!) / featureStd[j]!));
    model.mlp = trainMlp(z, y.map((v) => v / opts.cap), { ...DEFAULT_MLP, ...opts.mlp }, onEpoch);
  }
  return model;
}

/** Remaining life at the last of the given cycles (a running unit's history so far). */
export function predictRemainingLife(model: HealthModel, rows: readonly number[][]): number {
  const f = unitFeatures(normalise(rows, model.conditions, model.sensors), model.options);
  const last = f[f.length - 1]!;
  if (model.mlp) {
    const z = last.map((v, j) => (v - model.featureMean[j]!) / model.featureStd[j]!);
    return Math.min(model.options.cap, Math.max(0, mlpPredict(model.mlp, z) * model.options.cap));
  }
  let y = model.bias;
  for (let j = 0; j < last.length; j++) y += model.weights[j]! * ((last[j]! - model.featureMean[j]!) / model.featureStd[j]!);
  return Math.min(model.options.cap, Math.max(0, y));
}

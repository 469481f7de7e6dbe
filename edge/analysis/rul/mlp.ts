import { createRng } from '../../../simulators/random.js';

/**
 * A one-hidden-layer perceptron (ReLU), trained with Adam on squared error: the non-linear part
 * of the health model. Plain arrays; a few thousand weights.
 */
export interface Mlp {
  w1: number[][];
  b1: number[];
  w2: number[];
  b2: number;
}

export interface MlpOptions {
  hidden: number;
  epochs: number;
  learningRate: number;
  batch: number;
  seed: number;
}

export const DEFAULT_MLP: MlpOptions = { hidden: 32, epochs: 40, learningRate: 0.002, batch: 64, seed: 1 };

export function mlpPredict(m: Mlp, x: readonly number[]): number {
  let y = m.b2;
  for (let h = 0; h < m.b1.length; h++) {
    let a = m.b1[h]!;
    const w = m.w1[h]!;
    for (let j = 0; j < x.length; j++) a += w[j]! * x[j]!;
    if (a > 0) y += m.w2[h]! * a;
  }
  return y;
}

/** Trains on standardised inputs `x` and targets `y` (scaled by the caller). Deterministic by seed. */
export function trainMlp(x: readonly number[][], y: readonly number[], opts: MlpOptions = DEFAULT_MLP, onEpoch?: (epoch: number, of: number) => void): Mlp {
  const rng = createRng(opts.seed);
  const d = x[0]!.length;
  const H = opts.hidden;
  const init = (fan: number) => (rng.next() * 2 - 1) * Math.sqrt(6 / fan);
  const m: Mlp = { w1: Array.from({ length: H }, () => Array.from({ length: d }, () => init(d))), b1: new Array<number>(H).fill(0), w2: Array.from({ length: H }, () => init(H)), b2: 0 };
  // Adam moments, flattened in the order w1, b1, w2, b2.
  const size = H * d + H + H + 1;
  const mo = new Float64Array(size);
  const ve = new Float64Array(size);
  const g = new Float64Array(size);
  const order = Array.from({ length: x.length }, (_, i) => i);
  const a = new Float64Array(H);
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += opts.batch) {
      g.fill(0);
      const end = Math.min(order.length, start + opts.batch);
      for (let k = start; k < end; k++) {
        const xi = x[order[k]!]!;
        let out = m.b2;
        for (let h = 0; h < H; h++) {
          let s = m.b1[h]!;
          const w = m.w1[h]!;
          for (let j = 0; j < d; j++) s += w[j]! * xi[j]!;
          a[h] = s > 0 ? s : 0;
          out += m.w2[h]! * a[h]!;
        }
        const err = (out - y[order[k]!]!) / (end - start);
        for (let h = 0; h < H; h++) {
          g[H * d + H + h]! += err * a[h]!;
          if (a[h]! > 0) {
            const dh = err * m.w2[h]!;
            g[H * d + h]! += dh;
            for (let j = 0; j < d; j++) g[h * d + j]! += dh * xi[j]!;
          }
        }
        g[size - 1]! += err;
      }
      step++;
      const lr = (opts.learningRate * Math.sqrt(1 - 0.999 ** step)) / (1 - 0.9 ** step);
      const update = (idx: number): number => {
        mo[idx] = 0.9 * mo[idx]! + 0.1 * g[idx]!;
        ve[idx] = 0.999 * ve[idx]! + 0.001 * g[idx]! ** 2;
        return (lr * mo[idx]!) / (Math.sqrt(ve[idx]!) + 1e-8);
      };
      for (let h = 0; h < H; h++) {
        for (let j = 0; j < d; j++) m.w1[h]![j]! -= update(h * d + j);
        m.b1[h]! -= update(H * d + h);
        m.w2[h]! -= update(H * d + H + h);
      }
      m.b2 -= update(size - 1);
    }
    onEpoch?.(epoch + 1, opts.epochs);
  }
  return m;
}

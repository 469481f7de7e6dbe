/**
 * Streaming anomaly detection for one signal: causal (each score uses only the values before it
 * and the value itself), O(1) memory per sensor, cheap enough for a Raspberry Pi.
 *
 * Two parts, after Numenta's HTM detector on NAB:
 * - a raw surprise per reading: how far the value is from what the recent past predicts, from two
 *   predictors (the level, by an exponentially weighted mean and variance, and the step from the
 *   previous value, against the usual step size), each as a z-score;
 * - the anomaly likelihood: whether the recent surprise (a short average) is unusual against the
 *   long-run distribution of surprise, as a Gaussian tail, on a log scale so that the rare stands
 *   out from the merely uncommon.
 * The explanation (which part moved and by how many deviations) comes with each score.
 */

export interface DetectorOptions {
  /** Smoothing of the level model (per reading). */
  levelAlpha: number;
  /** Smoothing of the step-size model. */
  stepAlpha: number;
  /** Readings in the short average of surprise. */
  shortWindow: number;
  /** Readings in the long-run surprise statistics (exponentially weighted). */
  longWindow: number;
  /** Readings before any score is given (the models settle). */
  warmup: number;
  /** Bins of the value's range seen so far, for the sequence model. */
  bins: number;
  /** After a score at or above `restAbove`, this many readings score 0 (one incident, one alarm). */
  restPeriod: number;
  restAbove: number;
  /** Weight of the sequence novelty against the level/step surprise. */
  sequenceWeight: number;
  /** likelihood: the short average of surprise against its long run (HTM); raw: the surprise itself. */
  output: 'likelihood' | 'raw';
  /**
   * auto: a signal that has only risen over the warm-up (an energy or part counter) is scored by
   * its increase per reading, not its level, which a counter leaves behind for good. off: level.
   */
  counters: 'auto' | 'off';
  /** Residuals beyond this many deviations update the models as if they were this far: an
   * anomaly does not teach the model that it is normal within a few readings. 0: off. */
  clipAt: number;
}

/**
 * Chosen on NAB (bench/RESULTS.md, issue 6): the surprise itself scores better there than the
 * likelihood of it, and the sequence model did not help yet, so it is off (weight 0).
 */
export const DEFAULT_DETECTOR: DetectorOptions = {
  levelAlpha: 0.005,
  stepAlpha: 0.02,
  shortWindow: 10,
  longWindow: 2000,
  warmup: 50,
  bins: 16,
  restPeriod: 400,
  restAbove: 0.8,
  sequenceWeight: 0,
  output: 'raw',
  clipAt: 0,
  counters: 'off',
};

/**
 * As the agent runs it (edge/analysis/stateful-worker.ts): the incident tracker's hysteresis
 * decides when an incident ends, so no rest period (tuned for NAB's scoring, which counts only the
 * first detection; it would silence a persisting fault), and residuals clipped at 3 deviations,
 * else the models learn a sustained fault as normal within a minute and one hot spell becomes
 * two incidents, its rise and its fall (test/analysis-alarms.test.ts).
 */
export const AGENT_DETECTOR: DetectorOptions = { ...DEFAULT_DETECTOR, restPeriod: 0, clipAt: 3, counters: 'auto' };

export interface Score {
  /** 0..1 */
  score: number;
  /** Which model surprised most, and by how many deviations. */
  cause: 'level' | 'step' | 'sequence';
  deviations: number;
}

export interface StreamDetector {
  update(value: number): Score;
}

const EPS = 1e-9;

/** Upper tail of the standard normal, Q(z), by the complementary error function (Abramowitz–Stegun 7.1.26). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

export function createStreamDetector(opts: DetectorOptions = DEFAULT_DETECTOR): StreamDetector {
  if (opts.counters === 'auto') return counterAware(opts);
  return createSignalDetector(opts);
}

/**
 * Two detectors side by side until the warm-up is over, one on the value and one on its increase
 * per reading; then the signal is a counter if it never fell (a reset to a lower value, the
 * counter rolling over, does not count as falling) and rose at all, and that one's scores are used.
 */
function counterAware(opts: DetectorOptions): StreamDetector {
  const inner = { ...opts, counters: 'off' as const };
  const level = createSignalDetector(inner);
  const rate = createSignalDetector(inner);
  let n = 0;
  let prev: number | undefined;
  let fell = false;
  let rose = false;
  let mode: 'deciding' | 'level' | 'counter' = 'deciding';
  return {
    update(value) {
      n++;
      const step = prev === undefined ? 0 : value - prev;
      // A drop to near zero is a reset; any other drop means this is not a counter.
      if (prev !== undefined && step < 0 && !(value <= Math.abs(prev) * 0.05)) fell = true;
      if (step > 0) rose = true;
      prev = value;
      const increase = step < 0 ? value : step;
      if (mode === 'deciding' && n > opts.warmup) mode = !fell && rose ? 'counter' : 'level';
      if (mode === 'level') return level.update(value);
      if (mode === 'counter') return rate.update(increase);
      const l = level.update(value);
      rate.update(increase);
      return l;
    },
  };
}

function createSignalDetector(opts: DetectorOptions): StreamDetector {
  let n = 0;
  let mean = 0;
  let variance = 0;
  let prev = 0;
  let stepMean = 0;
  let stepVar = 0;
  const short: number[] = [];
  let shortSum = 0;
  let rawMean = 0;
  let rawVar = 0;
  const longAlpha = 2 / (opts.longWindow + 1);
  // The sequence model: the range seen so far split into bins, and how often each transition
  // (bin two readings ago, last bin) → bin has been seen. A value in a bin never reached from
  // this context before is novel however ordinary its level: a pattern broke.
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let b1 = -1;
  let b2 = -1;
  const seen = new Map<number, number>();
  const contextTotal = new Map<number, number>();
  let rest = 0;

  return {
    update(value) {
      n++;
      if (n === 1) {
        mean = value;
        prev = value;
        return { score: 0, cause: 'level', deviations: 0 };
      }
      const step = value - prev;
      const zLevel = Math.abs(value - mean) / Math.sqrt(variance + EPS);
      const zStep = Math.abs(step - stepMean) / Math.sqrt(stepVar + EPS);
      // Learn after scoring: the score uses only the past.
      // Clipped (when clipAt > 0, after the warm-up): the mean moves at most clipAt deviations'
      // worth, and an outlier counts as one typical deviation for the variance, so neither learns
      // a sustained fault as normal within a few readings.
      // Not before the variance has settled (two time constants): clipping against a variance
      // still growing from 0 would keep it too small and make ordinary readings look extreme.
      const clipping = opts.clipAt > 0 && n > Math.max(opts.warmup, 2 / opts.levelAlpha);
      const learn = (r: number, v: number): [number, number] => {
        const sd = Math.sqrt(v + EPS);
        if (!clipping || Math.abs(r) <= opts.clipAt * sd) return [r, r * r];
        return [Math.sign(r) * opts.clipAt * sd, v];
      };
      const [d, d2] = learn(value - mean, variance);
      mean += opts.levelAlpha * d;
      variance = (1 - opts.levelAlpha) * (variance + opts.levelAlpha * d2);
      const [ds, ds2] = learn(step - stepMean, stepVar);
      stepMean += opts.stepAlpha * ds;
      stepVar = (1 - opts.stepAlpha) * (stepVar + opts.stepAlpha * ds2);
      prev = value;

      // Sequence novelty, against the range before this value (a new extreme is novel too).
      const newExtreme = n > 2 && (value > hi || value < lo);
      if (value < lo) lo = value;
      if (value > hi) hi = value;
      const span = hi - lo || 1;
      const bin = Math.min(opts.bins - 1, Math.floor(((value - lo) / span) * opts.bins));
      let novelty = 0;
      if (b1 >= 0 && b2 >= 0) {
        const ctx = b2 * opts.bins + b1;
        const key = ctx * opts.bins + bin;
        const total = contextTotal.get(ctx) ?? 0;
        const count = seen.get(key) ?? 0;
        novelty = newExtreme ? 1 : total === 0 ? 0.5 : 1 - count / total;
        seen.set(key, count + 1);
        contextTotal.set(ctx, total + 1);
      }
      b2 = b1;
      b1 = bin;

      const deviations = Math.max(zLevel, zStep);
      // Surprise in 0..1: 3 deviations is already half-way.
      const magnitude = 1 - Math.exp(-deviations / 4);
      const raw = Math.max(magnitude, opts.sequenceWeight * novelty);
      const cause = opts.sequenceWeight * novelty > magnitude ? 'sequence' : zStep > zLevel ? 'step' : 'level';
      short.push(raw);
      shortSum += raw;
      if (short.length > opts.shortWindow) shortSum -= short.shift()!;
      const shortMean = shortSum / short.length;
      const z = (shortMean - rawMean) / Math.sqrt(rawVar + EPS);
      const dr = raw - rawMean;
      rawMean += longAlpha * dr;
      rawVar = (1 - longAlpha) * (rawVar + longAlpha * dr * dr);
      if (n <= opts.warmup) return { score: 0, cause, deviations };
      const likelihood = 1 - normalTail(z);
      // HTM's log scale: 0.5 → ~0.03, 0.999 → 0.3, 1 - 1e-10 → 1.
      const score = opts.output === 'raw' ? raw : Math.min(1, Math.max(0, Math.log(1.0000000001 - likelihood) / Math.log(1e-10)));
      if (rest > 0) {
        rest--;
        return { score: 0, cause, deviations };
      }
      if (score >= opts.restAbove) rest = opts.restPeriod;
      return { score, cause, deviations };
    },
  };
}

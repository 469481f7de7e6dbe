/**
 * Streaming anomaly detection for one signal: causal (each score uses only the values before it
 * and the value itself), O(1) memory per sensor, cheap enough for a Raspberry Pi.
 *
 * The score is the surprise of each reading against two predictors of the recent past: its level
 * (an exponentially weighted mean and variance) and its step from the previous value (against the
 * usual step), as z-scores; the larger wins and says which part moved and by how many deviations.
 * Measured on NAB and not kept (bench/RESULTS.md, issue 6): HTM's anomaly likelihood over this
 * surprise, and a binned sequence-novelty model; both scored lower.
 */

export interface DetectorOptions {
  /** Smoothing of the level model (per reading). */
  levelAlpha: number;
  /** Smoothing of the step-size model. */
  stepAlpha: number;
  /** Readings before any score is given (the models settle). */
  warmup: number;
  /** After a score at or above `restAbove`, this many readings score 0 (one incident, one alarm). */
  restPeriod: number;
  restAbove: number;
  /**
   * auto: a signal that has only risen over the warm-up (an energy or part counter) is scored by
   * its increase per reading, not its level, which a counter leaves behind for good. off: level.
   */
  counters: 'auto' | 'off';
  /** Residuals beyond this many deviations update the models as if they were this far: an
   * anomaly does not teach the model that it is normal within a few readings. 0: off. */
  clipAt: number;
}

/** Chosen on NAB (bench/RESULTS.md, issue 6). */
export const DEFAULT_DETECTOR: DetectorOptions = {
  levelAlpha: 0.005,
  stepAlpha: 0.02,
  warmup: 50,
  restPeriod: 400,
  restAbove: 0.8,
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
  cause: 'level' | 'step';
  deviations: number;
}

export interface StreamDetector {
  update(value: number): Score;
}

const EPS = 1e-9;

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

      const cause = zStep > zLevel ? 'step' : 'level';
      const deviations = Math.max(zLevel, zStep);
      if (n <= opts.warmup) return { score: 0, cause, deviations };
      // Surprise in 0..1: 3 deviations is already half-way.
      const score = 1 - Math.exp(-deviations / 4);
      if (rest > 0) {
        rest--;
        return { score: 0, cause, deviations };
      }
      if (score >= opts.restAbove) rest = opts.restPeriod;
      return { score, cause, deviations };
    },
  };
}

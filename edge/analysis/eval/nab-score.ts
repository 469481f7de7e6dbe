/**
 * NAB v1.1 scoring, as ../shared/datasets/nab/SCORING.md describes it (numenta/NAB nab/sweeper.py,
 * optimizer.py, runner.normalize): per-row weighted scores from the scaled sigmoid, one TP per
 * window (the earliest detection), FPs weighted by their distance after the previous window, the
 * probationary rows dropped, one corpus-wide threshold chosen as the best, normalised so that the
 * null detector scores 0 and the perfect one 100.
 */

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** ../shared/datasets/nab/config/profiles.json (tnWeight is never used). */
export const NAB_PROFILES = {
  standard: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 1.0 },
  reward_low_FP_rate: { tpWeight: 1.0, fpWeight: 0.22, fnWeight: 1.0 },
  reward_low_FN_rate: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 2.0 },
} as const satisfies Record<string, CostMatrix>;
export type NabProfile = keyof typeof NAB_PROFILES;

/** One data file as scored: row timestamps (ms), the detector's scores, the labelled windows. */
export interface ScoredFile {
  name: string;
  timestamps: readonly number[];
  scores: readonly number[];
  /** [start, end] in ms, inclusive, in time order. */
  windows: readonly (readonly [number, number])[];
}

const PROBATION_PERCENT = 0.15;

/** `sigma(y) = 2/(1+exp(5y)) - 1`, and -1 from y = 3 on (sweeper.py scaledSigmoid). */
export function scaledSigmoid(y: number): number {
  return y >= 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1;
}

export function probationaryLength(rows: number): number {
  return Math.min(Math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000);
}

interface Point {
  score: number;
  weighted: number;
  /** Window name, null outside every window; probationary rows are not kept. */
  window: string | null;
}

/** sweeper.calcSweepScore: every row's weighted score and window, probationary rows dropped. */
export function sweepPoints(file: ScoredFile, cost: CostMatrix): Point[] {
  const { timestamps, scores } = file;
  if (timestamps.length !== scores.length) throw new Error(`${file.name}: ${timestamps.length} rows but ${scores.length} scores`);
  const index = new Map<number, number>();
  timestamps.forEach((t, i) => {
    if (!index.has(t)) index.set(t, i);
  });
  const maxTP = scaledSigmoid(-1);
  const probation = probationaryLength(timestamps.length);
  const windows = [...file.windows];
  const out: Point[] = [];
  let cur: { name: string; end: number; right: number; width: number } | undefined;
  let prev: { right: number; width: number } | undefined;
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i]!;
    if (!cur && windows.length > 0 && t === windows[0]![0]) {
      const [start, end] = windows.shift()!;
      const left = index.get(start)!;
      const right = index.get(end);
      if (right === undefined) throw new Error(`${file.name}: window end ${new Date(end).toISOString()} is not a row timestamp`);
      cur = { name: `${file.name}|${start}`, end, right, width: right - left + 1 };
    }
    let weighted: number;
    if (cur) {
      weighted = (scaledSigmoid(-(cur.right - i + 1) / cur.width) * cost.tpWeight) / maxTP;
    } else {
      const y = prev === undefined ? 3 : Math.abs(prev.right - i) / (prev.width - 1);
      weighted = scaledSigmoid(y) * cost.fpWeight;
    }
    if (i >= probation) out.push({ score: scores[i]!, weighted, window: cur ? cur.name : null });
    if (cur && t === cur.end) {
      prev = { right: i, width: cur.width };
      cur = undefined;
    }
  }
  return out;
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  fp: number;
  fn: number;
}

/**
 * sweeper.calcScoreByThreshold over the points of every file: for each distinct score, highest
 * first, the raw score with every point at or above it a detection. The first entry (threshold
 * 1.1) detects nothing.
 */
export function scoresByThreshold(points: readonly Point[], cost: CostMatrix): ThresholdScore[] {
  const sorted = [...points].sort((a, b) => b.score - a.score);
  const windowScore = new Map<string, number>();
  for (const p of sorted) if (p.window !== null) windowScore.set(p.window, -cost.fnWeight);
  let windowSum = -cost.fnWeight * windowScore.size;
  let fpSum = 0;
  let tp = 0;
  let fp = 0;
  let fn = sorted.filter((p) => p.window !== null).length;
  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (const p of sorted) {
    if (p.score !== threshold) {
      out.push({ threshold, score: windowSum + fpSum, tp, fp, fn });
      threshold = p.score;
    }
    if (p.window === null) {
      fp++;
      fpSum += p.weighted;
    } else {
      tp++;
      fn--;
      const before = windowScore.get(p.window)!;
      if (p.weighted > before) {
        windowScore.set(p.window, p.weighted);
        windowSum += p.weighted - before;
      }
    }
  }
  out.push({ threshold, score: windowSum + fpSum, tp, fp, fn });
  return out;
}

export interface ProfileResult {
  profile: NabProfile;
  /** The corpus-wide threshold with the best raw score (optimizer.py). */
  threshold: number;
  raw: number;
  /** 100 * (raw - null) / (perfect - null). */
  score: number;
  tp: number;
  fp: number;
  fn: number;
}

/** Best raw score over thresholds; ties keep the higher threshold (the first met, as optimizer.py). */
function best(points: readonly Point[], cost: CostMatrix): ThresholdScore {
  let top: ThresholdScore | undefined;
  for (const s of scoresByThreshold(points, cost)) if (!top || s.score > top.score) top = s;
  return top!;
}

/**
 * The NAB score of a detector over a corpus, for one profile. The null detector (a constant
 * score, so no useful threshold) is the baseline and a detector firing on the first row of every
 * window the perfect one: `windows` counts the labelled windows of the whole corpus.
 */
export function nabScore(files: readonly ScoredFile[], profile: NabProfile): ProfileResult {
  const cost = NAB_PROFILES[profile];
  const points = files.flatMap((f) => sweepPoints(f, cost));
  const top = best(points, cost);
  const nullPoints = files.flatMap((f) => sweepPoints({ ...f, scores: f.scores.map(() => 0.5) }, cost));
  const baseline = best(nullPoints, cost).score;
  const perfect = files.reduce((n, f) => n + f.windows.length, 0) * cost.tpWeight;
  return {
    profile,
    threshold: top.threshold,
    raw: top.score,
    score: perfect === baseline ? 0 : (100 * (top.score - baseline)) / (perfect - baseline),
    tp: top.tp,
    fp: top.fp,
    fn: top.fn,
  };
}

/**
 * A causal anomaly detector: each point is scored against a window of the points before it
 * only, with a robust z-score (median and median absolute deviation), so one spike does not
 * inflate the scale it is judged by. Cheap enough for a Raspberry Pi: O(n · window log window).
 * A first detector; issue 6 measures and improves on it with NAB.
 */
export interface DetectInput {
  ts: readonly number[];
  values: readonly number[];
  /** Past points each score is computed from. */
  window?: number;
  /** |robust z| at or above this is anomalous. */
  threshold?: number;
}

export interface DetectOutput {
  /** One per input point, in [0, 1]; 0 until the window has filled (the probation). */
  scores: number[];
  /** Indexes whose score crossed the threshold, with what moved and how. */
  anomalies: { index: number; ts: number; value: number; median: number; z: number }[];
}

/** 1.4826 · MAD estimates the standard deviation for normal data. */
const MAD_TO_SIGMA = 1.4826;

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

export function detectAnomalies(input: DetectInput): DetectOutput {
  const window = input.window ?? 60;
  const threshold = input.threshold ?? 6;
  const { values, ts } = input;
  if (ts.length !== values.length) throw new Error('ts and values must have the same length');
  const scores = new Array<number>(values.length).fill(0);
  const anomalies: DetectOutput['anomalies'] = [];
  for (let i = window; i < values.length; i++) {
    const past = values.slice(i - window, i).sort((a, b) => a - b);
    const med = median(past);
    const mad = median(past.map((v) => Math.abs(v - med)).sort((a, b) => a - b));
    // A flat past (MAD 0) would make any change infinitely surprising; floor the scale.
    const sigma = Math.max(MAD_TO_SIGMA * mad, 1e-9 + Math.abs(med) * 1e-6);
    const z = (values[i]! - med) / sigma;
    scores[i] = Math.min(1, Math.abs(z) / (2 * threshold));
    if (Math.abs(z) >= threshold) anomalies.push({ index: i, ts: ts[i]!, value: values[i]!, median: med, z });
  }
  return { scores, anomalies };
}

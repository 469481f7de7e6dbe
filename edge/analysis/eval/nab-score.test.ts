import { describe, expect, it } from 'vitest';
import { nabScore, probationaryLength, scaledSigmoid, type ScoredFile } from './nab-score.js';

const T0 = Date.UTC(2014, 3, 10);
const MIN = 60_000;

/** A file of `rows` rows one minute apart, windows given as row ranges, scores from a function of the row. */
function file(name: string, rows: number, windows: [number, number][], score: (i: number) => number): ScoredFile {
  const timestamps = Array.from({ length: rows }, (_, i) => T0 + i * MIN);
  return { name, timestamps, scores: timestamps.map((_, i) => score(i)), windows: windows.map(([a, b]) => [T0 + a * MIN, T0 + b * MIN] as const) };
}

const corpus = (score: (f: number, i: number) => number): ScoredFile[] => [
  file('a/one.csv', 400, [[100, 139], [300, 339]], (i) => score(0, i)),
  file('a/two.csv', 1000, [[500, 599]], (i) => score(1, i)),
  file('b/none.csv', 200, [], (i) => score(2, i)),
];
const windowsOf = [[[100, 139], [300, 339]], [[500, 599]], []] as const;

describe('NAB scoring', () => {
  it('the scaled sigmoid and the probationary length are those of sweeper.py', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3)).toBe(-1);
    expect(probationaryLength(400)).toBe(60);
    expect(probationaryLength(22_695)).toBe(750);
  });

  it('the null detector scores 0 in every profile', () => {
    for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      expect(nabScore(corpus(() => 0.5), profile).score).toBe(0);
    }
  });

  it('a detector firing on the first row of every window, and nowhere else, scores 100', () => {
    const perfect = corpus((f, i) => (windowsOf[f]!.some(([a]) => a === i) ? 1 : 0));
    for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      expect(nabScore(perfect, profile).score).toBeCloseTo(100, 10);
    }
  });

  it('a hand-made case: one detection half-way into one window, one false positive after it, two windows missed', () => {
    // Detections (score 1): row 120 of one.csv (window 100..139, width 40) and row 160 (21 rows
    // after that window's right edge). Row 30 is probationary (60 rows) and does not count.
    const scores = corpus((f, i) => (f === 0 && (i === 120 || i === 160 || i === 30) ? 1 : 0));
    const tp = scaledSigmoid(-(139 - 120 + 1) / 40) / scaledSigmoid(-1);
    const fpAt = (w: number) => scaledSigmoid(Math.abs(139 - 160) / (40 - 1)) * w;
    const expected = (fp: number, fn: number) => {
      const raw = tp + fpAt(fp) - 2 * fn;
      const baseline = -3 * fn;
      return { raw, score: (100 * (raw - baseline)) / (3 - baseline) };
    };
    const standard = nabScore(scores, 'standard');
    expect(standard).toMatchObject({ threshold: 1, tp: 1, fp: 1 });
    expect(standard.raw).toBeCloseTo(expected(0.11, 1).raw, 12);
    expect(standard.score).toBeCloseTo(expected(0.11, 1).score, 10);
    expect(nabScore(scores, 'reward_low_FP_rate').score).toBeCloseTo(expected(0.22, 1).score, 10);
    expect(nabScore(scores, 'reward_low_FN_rate').score).toBeCloseTo(expected(0.11, 2).score, 10);
  });

  it('only the earliest detection in a window counts, and a false positive before any window costs the full weight', () => {
    const early = corpus((f, i) => (f === 1 && (i === 510 || i === 590) ? 1 : f === 2 && i === 100 ? 1 : 0));
    const r = nabScore(early, 'standard');
    const tp = scaledSigmoid(-(599 - 510 + 1) / 100) / scaledSigmoid(-1);
    expect(r.raw).toBeCloseTo(tp - 0.11 - 2, 12);
  });

  it('picks one threshold for the whole corpus, the best one', () => {
    // A weaker score (0.6) on a true detection and a stronger one (0.9) on a false positive far
    // from any window: the best threshold takes both (0.6), since a TP is worth more than an FP.
    const s = corpus((f, i) => (f === 1 && i === 500 ? 0.6 : f === 2 && i === 150 ? 0.9 : 0.1));
    const r = nabScore(s, 'standard');
    expect(r.threshold).toBe(0.6);
    expect(r.raw).toBeCloseTo(1 - 0.11 - 2, 12);
  });
});

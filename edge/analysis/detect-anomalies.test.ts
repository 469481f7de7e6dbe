import { describe, expect, it } from 'vitest';
import { detectAnomalies } from './detect-anomalies.js';
import { createAnalysisPool } from './pool.js';

const series = (n: number, f: (i: number) => number) => ({ ts: Array.from({ length: n }, (_, i) => i * 1000), values: Array.from({ length: n }, (_, i) => f(i)) });

describe('detectAnomalies', () => {
  it('finds a spike and a level shift in noise, and scores in [0, 1]', () => {
    const s = series(300, (i) => 20 + Math.sin(i * 1.7) * 0.5 + (i === 150 ? 15 : 0) + (i >= 250 ? 10 : 0));
    const out = detectAnomalies({ ...s, window: 60 });
    expect(out.anomalies.map((a) => a.index)).toContain(150);
    expect(out.anomalies.some((a) => a.index >= 250 && a.index < 255)).toBe(true);
    expect(out.anomalies.every((a) => a.index === 150 || a.index >= 250)).toBe(true);
    expect(out.scores.every((x) => x >= 0 && x <= 1)).toBe(true);
  });

  it('is causal: a point\'s score does not change when the future does', () => {
    const a = series(200, (i) => Math.cos(i));
    const b = { ts: a.ts, values: a.values.map((v, i) => (i > 120 ? v + 100 : v)) };
    expect(detectAnomalies(b).scores.slice(0, 121)).toEqual(detectAnomalies(a).scores.slice(0, 121));
  });
});

describe('analysis pool', () => {
  it('runs the named task in a worker thread (the built worker, as the CLI does)', async () => {
    const pool = createAnalysisPool();
    try {
      await pool.selfCheck();
      const s = series(100, (i) => (i === 90 ? 99 : 1 + (i % 3) * 0.01));
      const out = await pool.detectAnomalies({ ...s, window: 30 });
      expect(out.anomalies.map((a) => a.index)).toEqual([90]);
      expect(pool.stats().completed).toBe(2);
    } finally {
      await pool.close();
    }
  });
});

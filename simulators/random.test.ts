import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from './random.js';

describe('createRng', () => {
  it('replays the same sequence for the same seed and continues from its state', () => {
    const a = createRng(42);
    const b = createRng(42);
    const first = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(first);
    const resumed = createRng(a.state);
    expect(resumed.next()).toBe(a.next());
  });

  it('gives a different sequence for another seed', () => {
    const a = createRng(1);
    const b = createRng(2);
    expect(Array.from({ length: 10 }, () => a.next())).not.toEqual(Array.from({ length: 10 }, () => b.next()));
  });

  it('draws uniforms in [0, 1) and standard normals with mean 0 and sd 1', () => {
    const rng = createRng(7);
    const n = 20_000;
    let sum = 0;
    let sumSq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      if (!(u >= 0 && u < 1)) outside++;
      const z = rng.normal();
      if (!Number.isFinite(z)) outside++;
      sum += z;
      sumSq += z * z;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(sumSq / n - mean * mean) - 1)).toBeLessThan(0.03);
  });
});

describe('deriveSeed', () => {
  it('is stable and separates near-identical names', () => {
    expect(deriveSeed(1, 'acme/plant1/press-line/press-1')).toBe(deriveSeed(1, 'acme/plant1/press-line/press-1'));
    expect(deriveSeed(1, 'press-1')).not.toBe(deriveSeed(1, 'press-2'));
    expect(deriveSeed(1, 'press-1')).not.toBe(deriveSeed(2, 'press-1'));
    expect(deriveSeed(1, 'a', 'bc')).not.toBe(deriveSeed(1, 'ab', 'c'));
  });
});

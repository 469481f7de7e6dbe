/**
 * Seeded randomness for the simulators. Every random number a simulator uses comes from here, so
 * the same seed gives byte-identical readings: tests can assert exact values, and a benchmark or
 * a demo can be replayed. (Math.random is never used for data.)
 *
 * mulberry32 (Tommy Ettinger, public domain) keeps its whole state in one 32-bit integer, so a
 * machine's random state is a plain number that can sit in its explicit state and be copied.
 * It is not cryptographic and not meant to be.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Gaussian with the given mean and standard deviation. */
  normal(mean?: number, sd?: number): number;
  /** One of the given items, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** The current 32-bit state; `createRng(rng.state)` continues the same sequence. */
  readonly state: number;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    // Box–Muller without caching the second variate: one draw costs two uniforms, but the state
    // stays a single integer. 1 - next() is in (0, 1], so the logarithm is finite.
    normal: (mean = 0, sd = 1) => {
      const u1 = 1 - next();
      const u2 = next();
      return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick() needs at least one item');
      return items[Math.floor(next() * items.length)] as T;
    },
    get state() {
      return a;
    },
  };
}

/**
 * A 32-bit seed derived from a base seed and a path of names, e.g.
 * `deriveSeed(1, 'acme/plant1/press-line/press-1', 'noise')`. Each machine gets its own stream
 * keyed by its name, so adding a machine to a plant does not change what the others produce.
 * FNV-1a over the text, then the murmur3 finaliser so that near-identical names (press-1,
 * press-2) give unrelated seeds.
 */
export function deriveSeed(seed: number, ...names: readonly string[]): number {
  const text = [String(seed), ...names].join('\u0000');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

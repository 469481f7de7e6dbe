import type { SensorSpec } from './machines/index.js';

/**
 * What the transmitter reports: clamped to its measuring range, rounded to its decimals. Any
 * finite double survives JSON exactly; rounding keeps payloads short and makes the values equal
 * after a trip through a decimal text column too. `+ 0` turns -0 into 0 (JSON writes -0 as "0",
 * and `Object.is(-0, 0)` is false, so a test comparing sent and received values would fail).
 * Clean readings and faulted ones both go through here.
 */
export function transmit(value: number, spec: Pick<SensorSpec, 'range' | 'decimals'>): number {
  if (!Number.isFinite(value)) throw new RangeError(`simulated value is not finite: ${value}`);
  const [low, high] = spec.range;
  const scale = 10 ** spec.decimals;
  return Math.round(Math.min(high, Math.max(low, value)) * scale) / scale + 0;
}

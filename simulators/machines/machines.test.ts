import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { centrifugalPump } from './centrifugal-pump.js';
import { cncSpindle } from './cnc-spindle.js';
import { hydraulicPress } from './hydraulic-press.js';

// Compares a machine with itself at low and high wear: same constants, same time, same noise
// stream, a long step so that temperatures settle. Wear must push the worn signals upward.
const T = Date.UTC(2025, 0, 6, 14, 0, 0);
const LONG = 10 * 3_600_000;

describe('wear drifts the signals a worn machine shows', () => {
  it('centrifugal pump: more vibration, current and bearing heat, less flow', () => {
    const p = centrifugalPump.drawParams(createRng(1));
    const s = centrifugalPump.initialState(p, T, createRng(2));
    const fresh = centrifugalPump.step(p, { ...s, wear: 0.1 }, T, LONG, createRng(3)).values;
    const worn = centrifugalPump.step(p, { ...s, wear: 0.9 }, T, LONG, createRng(3)).values;
    expect(worn.vibration_rms).toBeGreaterThan(fresh.vibration_rms * 1.5);
    expect(worn.motor_current).toBeGreaterThan(fresh.motor_current);
    expect(worn.bearing_temperature).toBeGreaterThan(fresh.bearing_temperature + 5);
    expect(worn.flow).toBeLessThan(fresh.flow);
  });

  it('hydraulic press: more vibration, current and oil heat, less peak pressure', () => {
    const p = hydraulicPress.drawParams(createRng(1));
    const s = hydraulicPress.initialState(p, T, createRng(2));
    const fresh = hydraulicPress.step(p, { ...s, wear: 0.1 }, T, LONG, createRng(3)).values;
    const worn = hydraulicPress.step(p, { ...s, wear: 0.9 }, T, LONG, createRng(3)).values;
    expect(worn.vibration_rms).toBeGreaterThan(fresh.vibration_rms * 1.5);
    expect(worn.motor_current).toBeGreaterThan(fresh.motor_current);
    expect(worn.oil_temperature).toBeGreaterThan(fresh.oil_temperature + 5);
    expect(worn.hydraulic_pressure).toBeLessThan(fresh.hydraulic_pressure);
  });

  it('CNC spindle, same job: more vibration, load and bearing heat', () => {
    const p = cncSpindle.drawParams(createRng(1));
    const s = { ...cncSpindle.initialState(p, T, createRng(2)), job: { endsMs: T + LONG, speedFraction: 0.8, cut: 0.5 } };
    const fresh = cncSpindle.step(p, { ...s, wear: 0.1 }, T, LONG, createRng(3)).values;
    const worn = cncSpindle.step(p, { ...s, wear: 0.9 }, T, LONG, createRng(3)).values;
    expect(worn.vibration_rms).toBeGreaterThan(fresh.vibration_rms * 1.5);
    expect(worn.spindle_load).toBeGreaterThan(fresh.spindle_load);
    expect(worn.bearing_temperature).toBeGreaterThan(fresh.bearing_temperature + 5);
  });

  it('never mutates the state it is given', () => {
    const p = cncSpindle.drawParams(createRng(1));
    const s = Object.freeze(cncSpindle.initialState(p, T, createRng(2)));
    const before = JSON.stringify(s);
    cncSpindle.step(p, s, T + 60_000, 60_000, createRng(3));
    expect(JSON.stringify(s)).toBe(before);
  });
});

import { describe, expect, it } from 'vitest';
import { generateReadings, transmit, type SimReading } from './generate.js';
import { buildPlant } from './plant.js';

const START = Date.UTC(2025, 0, 6, 0, 0, 0); // a Monday, midnight UTC
const MINUTE = 60_000;
const HOUR = 3_600_000;

function collect(seed: number, machines: number, steps: number, periodMs = 1000): SimReading[][] {
  return [...generateReadings(buildPlant({ seed, machines }), { startMs: START, periodMs, steps })];
}

describe('generateReadings', () => {
  it('gives one reading per sensor per step, at startMs + i * periodMs', () => {
    const plant = buildPlant({ seed: 1, machines: 3 });
    const steps = [...generateReadings(plant, { startMs: START, periodMs: 500, steps: 4 })];
    expect(steps).toHaveLength(4);
    steps.forEach((step, i) => {
      expect(step.map((r) => r.sensor)).toEqual(plant.sensors.map((s) => s.id));
      expect(step.every((r) => r.ts === START + i * 500)).toBe(true);
      expect(step.every((r) => r.quality === undefined)).toBe(true);
    });
  });

  it('is deterministic: the same seed gives byte-identical readings, another seed different ones', () => {
    const a = JSON.stringify(collect(1, 6, 300));
    expect(JSON.stringify(collect(1, 6, 300))).toBe(a);
    expect(JSON.stringify(collect(2, 6, 300))).not.toBe(a);
  });

  it('keeps a machine\'s readings when more machines are added to the plant', () => {
    const small = collect(3, 3, 50);
    const large = collect(3, 9, 50);
    small.forEach((step, i) => expect(large[i]?.slice(0, step.length)).toEqual(step));
  });

  it('produces finite values in plausible ranges, rounded so that JSON carries them exactly', () => {
    const plant = buildPlant({ seed: 11, machines: 9 });
    const plausible: Record<string, [number, number]> = {
      bearing_temperature: [10, 95],
      oil_temperature: [10, 90],
      vibration_rms: [0, 8],
      motor_current: [0, 100],
      discharge_pressure: [0, 10],
      hydraulic_pressure: [120, 260],
      flow: [0, 250],
      speed: [0, 25_000],
      stroke_rate: [2, 20],
      spindle_load: [0, 100],
    };
    const specs = new Map(plant.sensors.map((s) => [s.id, s]));
    let atRangeTop = 0;
    let count = 0;
    // Three days at one reading a minute: every hour of the load cycle, and some wear.
    for (const step of generateReadings(plant, { startMs: START, periodMs: MINUTE, steps: 3 * 24 * 60 })) {
      for (const r of step) {
        const spec = specs.get(r.sensor)!;
        const [low, high] = plausible[spec.name] ?? [-Infinity, Infinity];
        // Plain checks in the hot loop (an expect per value is slow); fail with the reading.
        if (!Number.isFinite(r.value) || r.value < low || r.value > high) {
          expect.fail(`${r.sensor} = ${r.value} ${spec.unit} outside [${low}, ${high}]`);
        }
        if (Number(r.value.toFixed(spec.decimals)) !== r.value || JSON.parse(JSON.stringify(r.value)) !== r.value) {
          expect.fail(`${r.sensor} = ${r.value} is not rounded to ${spec.decimals} decimals`);
        }
        if (r.value === spec.range[1]) atRangeTop++;
        count++;
      }
    }
    expect(count).toBe(3 * 24 * 60 * plant.sensors.length);
    expect(atRangeTop).toBe(0); // nothing saturates the transmitters in normal operation
  });

  it('follows the daily load cycle: pumps run faster in the afternoon than at night', () => {
    const plant = buildPlant({ seed: 1, machines: 1 }); // pump-1
    const speed = plant.sensors.find((s) => s.name === 'speed')!.id;
    const byHour = new Map<number, number[]>();
    for (const step of generateReadings(plant, { startMs: START, periodMs: 10 * MINUTE, steps: 7 * 24 * 6 })) {
      const r = step.find((x) => x.sensor === speed)!;
      const h = new Date(r.ts).getUTCHours();
      byHour.set(h, [...(byHour.get(h) ?? []), r.value]);
    }
    const mean = (h: number) => byHour.get(h)!.reduce((a, b) => a + b, 0) / byHour.get(h)!.length;
    expect(mean(15)).toBeGreaterThan(mean(3) * 1.2);
  });

  it('drifts vibration upward as machines wear (pumps and presses over two months)', () => {
    const plant = buildPlant({ seed: 4, machines: 6 });
    const vib = plant.sensors.filter((s) => s.name === 'vibration_rms' && !s.id.includes('/machining/'));
    const weeks: number[][] = [];
    const steps = 9 * 7 * 24; // nine weeks, hourly
    let i = 0;
    for (const step of generateReadings(plant, { startMs: START, periodMs: HOUR, steps })) {
      const week = Math.floor(i++ / (7 * 24));
      weeks[week] ??= vib.map(() => 0);
      vib.forEach((s, k) => (weeks[week]![k]! += step.find((r) => r.sensor === s.id)!.value));
    }
    vib.forEach((s, k) => {
      const first = weeks[0]![k]!;
      const last = weeks[8]![k]!;
      expect(last, s.id).toBeGreaterThan(first * 1.05);
    });
  });

  it('refuses timings it cannot honour', () => {
    const plant = buildPlant({ seed: 1, machines: 1 });
    expect(() => generateReadings(plant, { startMs: START / 1000, periodMs: 1000, steps: 1 })).toThrow(/startMs/);
    expect(() => generateReadings(plant, { startMs: START, periodMs: 0, steps: 1 })).toThrow(/periodMs/);
    expect(() => generateReadings(plant, { startMs: START, periodMs: 1000, steps: -1 })).toThrow(/steps/);
  });
});

describe('transmit', () => {
  it('clamps to the measuring range, rounds, and never reports -0', () => {
    const spec = { range: [0, 10] as const, decimals: 2 };
    expect(transmit(12, spec)).toBe(10);
    expect(transmit(1.23456, spec)).toBe(1.23);
    expect(Object.is(transmit(-0.001, { range: [-5, 5], decimals: 2 }), 0)).toBe(true);
    expect(() => transmit(Number.NaN, spec)).toThrow(/not finite/);
  });
});

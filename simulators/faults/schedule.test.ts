import { describe, expect, it } from 'vitest';
import { buildPlant } from '../plant.js';
import { FaultConfig, sensorKind } from './config.js';
import { createFaultSchedule, drawFaults, type ScheduledFault } from './schedule.js';

const START = Date.UTC(2025, 0, 6);
const DAY = 86_400_000;

function draw(opts: { seed?: number; machines?: number; days?: number; periodMs?: number; config?: unknown } = {}): ScheduledFault[] {
  const periodMs = opts.periodMs ?? 10_000;
  const plant = buildPlant({ seed: 1, machines: opts.machines ?? 5 });
  const config = FaultConfig.parse(opts.config ?? { rate: 4 });
  return drawFaults({ plant, config, seed: opts.seed ?? 1, startMs: START, periodMs, steps: ((opts.days ?? 10) * DAY) / periodMs });
}

describe('fault schedule', () => {
  it('is drawn from the seed: the same seed gives the same faults, another seed others', () => {
    expect(draw()).toEqual(draw());
    expect(draw({ seed: 2 })).not.toEqual(draw());
  });

  it('puts faults on the step grid, one after another per target, never overlapping', () => {
    const faults = draw();
    const last = new Map<string, number>();
    for (const f of faults) {
      expect(f.steps).toBeGreaterThanOrEqual(1);
      expect(f.start).toBe(START + f.startStep * 10_000);
      expect(f.end).toBe(f.start + (f.steps - 1) * 10_000);
      const prevEnd = last.get(f.target);
      if (prevEnd !== undefined) expect(f.startStep).toBeGreaterThan(prevEnd);
      last.set(f.target, f.startStep + f.steps - 1);
    }
    // In start order.
    expect(faults.map((f) => f.startStep)).toEqual([...faults.map((f) => f.startStep)].sort((a, b) => a - b));
  });

  it('strikes each sensor at about the configured rate, with the kinds its sensor kind allows', () => {
    const plant = buildPlant({ seed: 1, machines: 5 });
    const faults = draw({ days: 30, config: { rate: 4, kinds: ['spike', 'stuck', 'dropout'], durations: { stuck: '1m', dropout: '1m', spike: '10s' } } });
    const sensorFaults = faults.filter((f) => f.scope === 'sensor');
    // Poisson at 4 a day, minus the short time spent in faults: about 120 per sensor over 30 days.
    const perSensor = sensorFaults.length / plant.sensors.length;
    expect(perSensor).toBeGreaterThan(100);
    expect(perSensor).toBeLessThan(140);
    const kindOf = new Map(plant.sensors.map((s) => [s.id, sensorKind(s)]));
    for (const f of sensorFaults) {
      if (kindOf.get(f.target) !== 'analog') expect(f.kind).not.toBe('spike');
    }
    expect(faults.some((f) => f.kind === 'clock_jump')).toBe(false);
  });

  it('jumps the clock of machines or of the whole plant, ahead or behind by the configured offset', () => {
    const byMachine = draw({ config: { rate: 0, kinds: ['clock_jump'], clockJump: { rate: 2, offset: ['1m', '5m'] } } });
    expect(byMachine.length).toBeGreaterThan(0);
    for (const f of byMachine) {
      expect(f.scope).toBe('machine');
      expect(Math.abs(f.magnitude)).toBeGreaterThanOrEqual(60_000);
      expect(Math.abs(f.magnitude)).toBeLessThanOrEqual(300_000);
    }
    expect(new Set(byMachine.map((f) => Math.sign(f.magnitude)))).toEqual(new Set([1, -1]));
    const plantWide = draw({ config: { rate: 0, kinds: ['clock_jump'], clockJump: { scope: 'plant', rate: 2 } } });
    expect(plantWide.every((f) => f.scope === 'plant' && f.target === 'acme/plant1' && f.firstSensor === 0)).toBe(true);
  });

  it('keeps a sensor\'s faults when machines are added to the plant', () => {
    const small = draw({ machines: 3 });
    const large = draw({ machines: 8 });
    const ids = new Set(small.map((f) => f.target));
    expect(large.filter((f) => ids.has(f.target))).toEqual(small);
  });

  it('is drawn lazily: taking step by step gives what drawing at once gives', () => {
    const plant = buildPlant({ seed: 1, machines: 5 });
    const config = FaultConfig.parse({ rate: 4 });
    const opts = { plant, config, seed: 1, startMs: START, periodMs: 10_000 };
    const schedule = createFaultSchedule(opts);
    const stepwise: ScheduledFault[] = [];
    for (let i = 0; i < 20_000; i += 7) stepwise.push(...schedule.take(i));
    stepwise.push(...schedule.take(19_999));
    expect(stepwise).toEqual(drawFaults({ ...opts, steps: 20_000 }));
  });
});

import { describe, expect, it } from 'vitest';
import { SensorId } from '../shared/reading.js';
import { MACHINE_TYPES } from './machines/index.js';
import { buildPlant } from './plant.js';

describe('buildPlant', () => {
  it('names every sensor with a valid, unique Unified-Namespace id and a unit', () => {
    const plant = buildPlant({ seed: 1, machines: 7 });
    expect(plant.machines).toHaveLength(7);
    for (const sensor of plant.sensors) {
      expect(SensorId.safeParse(sensor.id).success).toBe(true);
      expect(sensor.id).toMatch(/^acme\/plant1\/[a-z-]+\/[a-z]+-\d+\/[a-z_]+$/);
      expect(sensor.unit.length).toBeGreaterThan(0);
    }
    expect(new Set(plant.sensors.map((s) => s.id)).size).toBe(plant.sensors.length);
    expect(plant.sensors.map((s) => s.id)).toContain('acme/plant1/press-line/press-1/vibration_rms');
  });

  it('deals machine types round robin, numbered per type', () => {
    const plant = buildPlant({ seed: 1, machines: 4 });
    expect(plant.machines.map((m) => m.type)).toEqual([...MACHINE_TYPES, MACHINE_TYPES[0]]);
    expect(plant.machines.map((m) => m.path)).toEqual([
      'acme/plant1/pump-station/pump-1',
      'acme/plant1/press-line/press-1',
      'acme/plant1/machining/cnc-1',
      'acme/plant1/pump-station/pump-2',
    ]);
  });

  it('uses the enterprise and site given', () => {
    const plant = buildPlant({ seed: 1, machines: 1, enterprise: 'globex', site: 'springfield' });
    expect(plant.sensors[0]?.id.startsWith('globex/springfield/')).toBe(true);
  });

  it('draws machine constants from the seed, the same for a machine whatever the plant size', () => {
    const small = buildPlant({ seed: 5, machines: 3 });
    const large = buildPlant({ seed: 5, machines: 9 });
    expect(large.machines.slice(0, 3).map((m) => m.params)).toEqual(small.machines.map((m) => m.params));
    expect(buildPlant({ seed: 6, machines: 3 }).machines.map((m) => m.params)).not.toEqual(small.machines.map((m) => m.params));
  });

  it('refuses bad options with a message that says what is expected', () => {
    expect(() => buildPlant({ seed: 1, machines: 0 })).toThrow(/machines must be an integer from 1/);
    expect(() => buildPlant({ seed: 1.5, machines: 1 })).toThrow(/seed must be an integer/);
    expect(() => buildPlant({ seed: 1, machines: 1, site: 'a/b' })).toThrow(/site must be one path segment/);
  });
});

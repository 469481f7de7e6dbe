import { describe, expect, it } from 'vitest';
import { createRng } from '../../../simulators/random.js';
import { createIncidentTracker } from '../incidents.js';
import { AGENT_DETECTOR, createStreamDetector, type DetectorOptions } from './stream.js';

function alarmsOn(values: number[], opts: DetectorOptions): number {
  const d = createStreamDetector(opts);
  const t = createIncidentTracker('acme/plant1/line1/pump-1/energy_kwh');
  return values.filter((v, i) => t.observe(i * 5000, v, d.update(v))?.alarm.state === 'active').length;
}

describe('counters', () => {
  // An energy meter: ~0.25 kWh per reading, random noise in the increase, one reset to 0.
  // (A sawtooth increase, the same large step every 11th reading, does raise alarms: the clipped
  // variance forgets a regular outlier. Noted in issue 6.)
  const rng = createRng(3);
  const meter: number[] = [];
  let total = 1000;
  for (let i = 0; i < 4000; i++) {
    if (i === 3000) total = 0;
    total += 0.2 + rng.next() / 10;
    meter.push(total);
  }

  it('a counter is scored by its increase: steady counting, and a reset, raise nothing', () => {
    expect(alarmsOn(meter, AGENT_DETECTOR)).toBe(0);
    // Scored by level, the same counter keeps looking like it moved away from its recent level.
    expect(alarmsOn(meter, { ...AGENT_DETECTOR, counters: 'off' })).toBeGreaterThan(0);
  });

  it('a counter that stops counting (the machine stalls) is an incident', () => {
    const stalled = meter.map((v, i) => (i >= 2000 && i < 2200 ? meter[1999]! : i >= 2200 && i < 3000 ? v - (meter[2199]! - meter[1999]!) : v));
    expect(alarmsOn(stalled, AGENT_DETECTOR)).toBeGreaterThanOrEqual(1);
  });
});

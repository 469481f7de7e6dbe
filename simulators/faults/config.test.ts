import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../shared/config-load.js';
import { DEFAULT_DURATIONS, FAULT_KINDS, FaultConfig, faultKindsFor, parseDuration, sensorKind } from './config.js';

describe('parseDuration', () => {
  it('reads milliseconds and numbers with a unit', () => {
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    for (const bad of ['5', 'five minutes', '-1s', -3, Number.NaN, null, {}]) expect(parseDuration(bad), String(bad)).toBeUndefined();
  });
});

describe('FaultConfig', () => {
  it('defaults to every kind at one fault per sensor per day with the default durations', () => {
    const c = FaultConfig.parse({});
    expect(c.rate).toBe(1);
    expect(c.kinds).toEqual([...FAULT_KINDS]);
    expect(c.durations).toEqual(DEFAULT_DURATIONS);
    expect(c.clockJump).toEqual({ scope: 'machine', rate: 1, offset: [30_000, 3_600_000] });
  });

  it('takes durations as [shortest, longest] or one value, and says what it expected otherwise', () => {
    const c = FaultConfig.parse({ durations: { stuck: ['10m', '1h'], spike: '2s' } });
    expect(c.durations.stuck).toEqual([600_000, 3_600_000]);
    expect(c.durations.spike).toEqual([2000, 2000]);
    expect(c.durations.drift).toEqual(DEFAULT_DURATIONS.drift);
    const messages = (raw: unknown) => describeIssues(FaultConfig.safeParse(raw).error!.issues).join('\n');
    expect(messages({ durations: { stuck: ['1h', '10m'] } })).toMatch(/durations\.stuck[\s\S]*shortest <= longest/);
    expect(messages({ durations: { stuck: ['10 minutes', '1h'] } })).toMatch(/durations\.stuck[\s\S]*unit ms, s, m, h or d/);
    expect(messages({ durations: { stuk: '1m' } })).toMatch(/stuk/);
    expect(messages({ kinds: ['spike', 'spike'] })).toMatch(/each kind at most once/);
    expect(messages({ kinds: ['sparks'] })).toMatch(/kinds\[0\]/);
  });
});

describe('faultKindsFor', () => {
  it('lets counters and machine states only freeze, drop out or go bad', () => {
    expect(faultKindsFor('analog', FAULT_KINDS)).toEqual(['spike', 'level_shift', 'drift', 'stuck', 'noise_burst', 'dropout', 'intermittent_bad_quality']);
    expect(faultKindsFor('counter', FAULT_KINDS)).toEqual(['stuck', 'dropout', 'intermittent_bad_quality']);
    expect(faultKindsFor('state', ['spike', 'dropout'])).toEqual(['dropout']);
    expect(sensorKind({ unit: 'A', decimals: 1, range: [0, 1], description: '' } as never)).toBe('analog');
  });
});

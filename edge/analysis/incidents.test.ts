import { describe, expect, it } from 'vitest';
import type { Score } from './detectors/stream.js';
import { createIncidentTracker, DEFAULT_INCIDENTS, type IncidentUpdate } from './incidents.js';

const subject = 'acme/plant1/line2/pump-1/bearing_temp';
const s = (score: number, deviations = score * 10): Score => ({ score, cause: 'level', deviations });

function feed(scores: Score[]): IncidentUpdate[] {
  const t = createIncidentTracker(subject);
  return scores.flatMap((x, i) => t.observe(1000 + i, 70 + i, x) ?? []);
}

describe('incidents: one incident, one alarm', () => {
  it('raises once, keeps quiet while it lasts, clears after the scores stay low', () => {
    const scores = [...Array.from({ length: 10 }, () => s(0.1)), s(0.9, 5), s(0.95, 6.5), s(0.6, 3), s(0.85, 5), ...Array.from({ length: DEFAULT_INCIDENTS.clearAfter }, () => s(0.2)), s(0.1)];
    const updates = feed(scores);
    expect(updates.map((u) => u.alarm.state)).toEqual(['active', 'cleared']);
    const [raised, cleared] = updates;
    expect(raised!.alarm).toMatchObject({ raisedAt: 1010, severity: 'warning' });
    expect(cleared!.alarm).toMatchObject({ id: raised!.alarm.id, clearedAt: 1010 + 4 + DEFAULT_INCIDENTS.clearAfter - 1 });
    expect(cleared!.finding).toMatchObject({ id: raised!.finding.id, start: 1010, end: cleared!.alarm.clearedAt, score: 0.95 });
    expect(cleared!.finding.message).toMatch(/moved away from its recent level: 6\.5 standard deviations/);
  });

  it('a score hovering between the lines does not clear and raise again', () => {
    const updates = feed([s(0.9, 5), ...Array.from({ length: 200 }, (_, i) => s(i % 2 ? 0.55 : 0.79, 4))]);
    expect(updates).toHaveLength(1);
  });

  it('escalates to critical once, when the deviations cross the line', () => {
    const updates = feed([s(0.9, 5), s(0.95, 9), s(0.99, 12)]);
    expect(updates.map((u) => u.alarm.severity)).toEqual(['warning', 'critical']);
    expect(updates[1]!.alarm.id).toBe(updates[0]!.alarm.id);
  });

  it('a later incident is a new alarm; the same readings again give the same ids', () => {
    const seq = [s(0.9), ...Array.from({ length: 40 }, () => s(0.1)), s(0.9)];
    const a = feed(seq);
    expect(a.map((u) => u.alarm.state)).toEqual(['active', 'cleared', 'active']);
    expect(a[2]!.alarm.id).not.toBe(a[0]!.alarm.id);
    expect(feed(seq).map((u) => u.alarm.id)).toEqual(a.map((u) => u.alarm.id));
  });
});

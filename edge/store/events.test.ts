import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alarm } from '../../shared/alarm.js';
import { findingId, type Finding } from '../../shared/finding.js';
import { EVENT_LOG_KEEP_MS } from './events.js';
import { openStore } from './store.js';

const T0 = Date.UTC(2026, 0, 1);
const subject = 'acme/plant1/line2/pump-1/bearing_temp';
const finding = (score: number, start = T0): Finding => ({
  id: findingId('anomaly', subject, 'test@1', start),
  kind: 'anomaly',
  subject,
  start,
  end: start + 60_000,
  score,
  severity: 'warning',
  detector: 'test@1',
  message: `score ${score}`,
  details: {},
});
const alarm = (over: Partial<Alarm> = {}): Alarm => ({
  id: 'b'.repeat(32),
  subject,
  severity: 'warning',
  state: 'active',
  raisedAt: T0,
  updatedAt: T0,
  message: 'bearing hot',
  ...over,
});
const open = () => openStore({ file: join(mkdtempSync(join(tmpdir(), 'mw-events-')), 'historian.sqlite') });

describe('findings and alarms on the edge', () => {
  it('logs each new version once; the same version again is not sent again', () => {
    const s = open();
    expect(s.events.recordFindings([finding(0.5), finding(0.5, T0 + 1)])).toBe(2);
    expect(s.events.recordFindings([finding(0.5)])).toBe(0);
    expect(s.events.recordFindings([finding(0.9)])).toBe(1);
    expect(s.events.next(10).map((r) => [r.seq, r.finding?.score])).toEqual([[1, 0.5], [2, 0.5], [3, 0.9]]);
    expect(s.events.findings({ subject }).map((f) => f.score).sort()).toEqual([0.5, 0.9]);
    expect(s.events.state()).toMatchObject({ ackedSeq: 0, lastSeq: 3, pending: 3 });
    s.close();
  });

  it('keeps the newest alarm version; an older one is ignored; open alarms are active or unacknowledged', () => {
    const s = open();
    expect(s.events.recordAlarms([alarm()])).toBe(1);
    const acked = alarm({ updatedAt: T0 + 10, ack: { by: 'op-anna', at: T0 + 10 } });
    expect(s.events.recordAlarms([acked, alarm()])).toBe(1);
    expect(s.events.alarm(acked.id)).toEqual(acked);
    expect(s.events.openAlarms()).toEqual([acked]);
    const done = { ...acked, state: 'cleared' as const, updatedAt: T0 + 20, clearedAt: T0 + 20 };
    s.events.recordAlarms([done]);
    expect(s.events.openAlarms()).toEqual([]);
    expect(s.events.next(10).map((r) => r.alarm?.updatedAt)).toEqual([T0, T0 + 10, T0 + 20]);
    s.close();
  });

  it('refuses a malformed finding, naming the field, and logs nothing of its transaction', () => {
    const s = open();
    expect(() => s.events.recordFindings([finding(0.1), { ...finding(0.2, T0 + 5), severity: 'loud' as Finding['severity'] }])).toThrow(/severity/);
    expect(s.events.state().lastSeq).toBe(0);
    s.close();
  });

  it('settling keeps acknowledged records a while, then prunes them; seqs are never reused', () => {
    const s = open();
    s.events.recordFindings([finding(0.1), finding(0.2, T0 + 1)]);
    s.events.settle(2);
    expect(s.events.next(10)).toEqual([]);
    expect(s.db.prepare('SELECT count(*) AS n FROM event_log').get()).toEqual({ n: 2 });
    // Logged long ago: the next settle prunes them.
    s.db.prepare('UPDATE event_log SET at = ?').run(Date.now() - EVENT_LOG_KEEP_MS - 1000);
    s.events.settle(2);
    expect(s.db.prepare('SELECT count(*) AS n FROM event_log').get()).toEqual({ n: 0 });
    s.events.recordFindings([finding(0.3)]);
    expect(s.events.next(10).map((r) => r.seq)).toEqual([3]);
    expect(s.events.state()).toMatchObject({ ackedSeq: 2, lastSeq: 3, pending: 1 });
    // A cloud restored from a backup rewinds to 0: the kept-no-longer records start the next batch as a hole.
    s.events.settle(0);
    expect(s.events.next(10).map((r) => r.seq)).toEqual([3]);
    s.close();
  });

  it('survives a reopen', () => {
    const s = open();
    s.events.recordAlarms([alarm()]);
    s.close();
    const again = openStore({ file: s.file });
    expect(again.events.openAlarms()).toHaveLength(1);
    expect(again.events.state().lastSeq).toBe(1);
    again.close();
  });
});

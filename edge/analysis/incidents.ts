import type { Alarm } from '../../shared/alarm.js';
import { findingId, type Finding, type Severity } from '../../shared/finding.js';
import type { Score } from './detectors/stream.js';

/**
 * Turns one sensor's anomaly scores into incidents: one finding and one alarm per incident, with
 * hysteresis so that a score hovering around the line does not raise, clear and raise again.
 * An incident opens when a score reaches `raiseAt`, and closes once scores have stayed under
 * `clearBelow` for `clearAfter` readings. Ids are deterministic (subject, detector, start), so
 * scoring the same readings again updates the same finding and alarm instead of adding new ones.
 */
export interface IncidentOptions {
  raiseAt: number;
  clearBelow: number;
  clearAfter: number;
  /** Deviations at or above which the alarm is critical (else a warning). */
  criticalAt: number;
  detector: string;
}

export const DEFAULT_INCIDENTS: IncidentOptions = { raiseAt: 0.8, clearBelow: 0.5, clearAfter: 30, criticalAt: 8, detector: 'stream@1' };

export interface IncidentUpdate {
  finding: Finding;
  alarm: Alarm;
}

export interface IncidentTracker {
  /** Feeds one scored reading; returns the finding and alarm versions it changed (none mostly). */
  observe(ts: number, value: number, s: Score): IncidentUpdate | undefined;
  /** The incident under way, if any. */
  open(): { start: number } | undefined;
}

const CAUSE_TEXT: Record<Score['cause'], string> = {
  level: 'moved away from its recent level',
  step: 'jumped from one reading to the next',
};

export function createIncidentTracker(subject: string, opts: IncidentOptions = DEFAULT_INCIDENTS): IncidentTracker {
  let incident: { start: number; end: number; peak: number; deviations: number; cause: Score['cause']; value: number; quiet: number; severity: Severity } | undefined;

  const versions = (ts: number, state: 'active' | 'cleared'): IncidentUpdate => {
    const i = incident!;
    const id = findingId('anomaly', subject, opts.detector, i.start);
    const message = `${subject} ${CAUSE_TEXT[i.cause]}: ${i.deviations.toFixed(1)} standard deviations at its peak (value ${i.value})`;
    const finding: Finding = {
      id,
      kind: 'anomaly',
      subject,
      start: i.start,
      end: i.end,
      score: i.peak,
      severity: i.severity,
      detector: opts.detector,
      message,
      details: { cause: i.cause, deviations: Number(i.deviations.toFixed(2)), value: i.value },
    };
    const alarm: Alarm = {
      id,
      subject,
      severity: i.severity,
      state,
      raisedAt: i.start,
      updatedAt: ts,
      ...(state === 'cleared' ? { clearedAt: ts } : {}),
      findingId: id,
      message,
    };
    return { finding, alarm };
  };

  return {
    observe(ts, value, s) {
      if (!incident) {
        if (s.score < opts.raiseAt) return undefined;
        const severity: Severity = s.deviations >= opts.criticalAt ? 'critical' : 'warning';
        incident = { start: ts, end: ts, peak: s.score, deviations: s.deviations, cause: s.cause, value, quiet: 0, severity };
        return versions(ts, 'active');
      }
      incident.end = ts;
      if (s.score >= opts.clearBelow) {
        incident.quiet = 0;
        if (s.deviations > incident.deviations) {
          const escalates = s.deviations >= opts.criticalAt && incident.severity !== 'critical';
          Object.assign(incident, { peak: Math.max(incident.peak, s.score), deviations: s.deviations, cause: s.cause, value });
          if (escalates) {
            incident.severity = 'critical';
            return versions(ts, 'active');
          }
        }
        return undefined;
      }
      incident.quiet++;
      if (incident.quiet < opts.clearAfter) return undefined;
      const done = versions(ts, 'cleared');
      incident = undefined;
      return done;
    },
    open: () => (incident ? { start: incident.start } : undefined),
  };
}

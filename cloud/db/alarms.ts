import type { Alarm } from '../../shared/alarm.js';
import type { Queryable } from './connect.js';

/**
 * Upserts alarm versions from a gateway's findings stream. A version older than the row's
 * (by the edge's updatedAt) is ignored, so a resent or reordered change never undoes a newer
 * one. Returns the rows inserted or updated. Keyed by gateway like findings (guarantee 6).
 */
export async function upsertAlarms(client: Queryable, gateway: string, alarms: readonly Alarm[]): Promise<number> {
  const latest = new Map<string, Alarm>();
  for (const a of alarms) {
    const prev = latest.get(a.id);
    if (!prev || prev.updatedAt <= a.updatedAt) latest.set(a.id, a);
  }
  if (latest.size === 0) return 0;
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const records = [...latest.values()].map((a) => ({
    id: a.id,
    subject: a.subject,
    severity: a.severity,
    state: a.state,
    raised_at: iso(a.raisedAt),
    updated_at: iso(a.updatedAt),
    cleared_at: iso(a.clearedAt),
    acked_at: iso(a.ack?.at),
    acked_by: a.ack?.by ?? null,
    ack_note: a.ack?.note ?? null,
    finding_id: a.findingId ?? null,
    message: a.message,
  }));
  const res = await client.query(
    `INSERT INTO alarms (id, gateway, subject, severity, state, raised_at, updated_at, cleared_at, acked_at, acked_by, ack_note, finding_id, message)
     SELECT a.id, $1, a.subject, a.severity, a.state, a.raised_at, a.updated_at, a.cleared_at, a.acked_at, a.acked_by, a.ack_note, a.finding_id, a.message
       FROM jsonb_to_recordset($2::jsonb) AS a(id text, subject text, severity text, state text, raised_at timestamptz,
         updated_at timestamptz, cleared_at timestamptz, acked_at timestamptz, acked_by text, ack_note text, finding_id text, message text)
     ON CONFLICT (gateway, id) DO UPDATE SET
       subject = excluded.subject, severity = excluded.severity, state = excluded.state, raised_at = excluded.raised_at,
       updated_at = excluded.updated_at, cleared_at = excluded.cleared_at, acked_at = excluded.acked_at,
       acked_by = excluded.acked_by, ack_note = excluded.ack_note, finding_id = excluded.finding_id,
       message = excluded.message, received_at = now()
     WHERE alarms.updated_at <= excluded.updated_at`,
    [gateway, JSON.stringify(records)],
  );
  return res.rowCount ?? 0;
}

export interface AlarmRow extends Alarm {
  gateway: string;
}

/** Alarms still needing attention (active, or cleared but never acknowledged), newest first. */
export async function openAlarms(q: Queryable, gateway?: string): Promise<AlarmRow[]> {
  const res = await q.query<{
    id: string; gateway: string; subject: string; severity: Alarm['severity']; state: Alarm['state'];
    raised_at: Date; updated_at: Date; cleared_at: Date | null; acked_at: Date | null; acked_by: string | null;
    ack_note: string | null; finding_id: string | null; message: string;
  }>(
    `SELECT id, gateway, subject, severity, state, raised_at, updated_at, cleared_at, acked_at, acked_by, ack_note, finding_id, message
       FROM alarms WHERE (state = 'active' OR acked_at IS NULL) AND ($1::text IS NULL OR gateway = $1)
      ORDER BY raised_at DESC`,
    [gateway ?? null],
  );
  return res.rows.map((r) => ({
    id: r.id,
    gateway: r.gateway,
    subject: r.subject,
    severity: r.severity,
    state: r.state,
    raisedAt: r.raised_at.getTime(),
    updatedAt: r.updated_at.getTime(),
    ...(r.cleared_at ? { clearedAt: r.cleared_at.getTime() } : {}),
    ...(r.acked_at && r.acked_by ? { ack: { by: r.acked_by, at: r.acked_at.getTime(), ...(r.ack_note ? { note: r.ack_note } : {}) } } : {}),
    ...(r.finding_id ? { findingId: r.finding_id } : {}),
    message: r.message,
  }));
}

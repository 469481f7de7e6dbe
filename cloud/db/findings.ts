import type { Finding } from '../../shared/finding.js';
import type { Queryable } from './connect.js';

/**
 * Upserts findings by their deterministic id: a recomputed finding updates its row. Returns the
 * number of rows inserted or updated.
 *
 * A finding id does not include the gateway, so the update applies only to the same gateway's
 * row: a gateway can never overwrite another gateway's finding (DESIGN guarantee 6).
 */
export async function upsertFindings(client: Queryable, gateway: string, findings: readonly Finding[]): Promise<number> {
  // ON CONFLICT DO UPDATE cannot touch one row twice in a statement; the last version wins.
  const latest = new Map<string, Finding>();
  for (const f of findings) latest.set(f.id, f);
  if (latest.size === 0) return 0;
  const records = [...latest.values()].map((f) => ({
    id: f.id,
    kind: f.kind,
    subject: f.subject,
    start: new Date(f.start).toISOString(),
    end: new Date(f.end).toISOString(),
    score: f.score,
    severity: f.severity,
    detector: f.detector,
    message: f.message,
    details: f.details,
  }));
  const res = await client.query(
    `INSERT INTO findings (id, gateway, kind, subject, start, "end", score, severity, detector, message, details, updated_at)
     SELECT f.id, $1, f.kind, f.subject, f.start, f."end", f.score, f.severity, f.detector, f.message, f.details, now()
     FROM jsonb_to_recordset($2::jsonb) AS f(id text, kind text, subject text, start timestamptz, "end" timestamptz,
       score float8, severity text, detector text, message text, details jsonb)
     ON CONFLICT (gateway, id) DO UPDATE SET
       kind = excluded.kind, subject = excluded.subject, start = excluded.start, "end" = excluded."end",
       score = excluded.score, severity = excluded.severity, detector = excluded.detector,
       message = excluded.message, details = excluded.details, updated_at = now()`,
    [gateway, JSON.stringify(records)],
  );
  return res.rowCount ?? 0;
}

export async function countFindings(q: Queryable, gateway?: string): Promise<number> {
  const res = await q.query<{ n: string }>('SELECT count(*) AS n FROM findings WHERE ($1::text IS NULL OR gateway = $1)', [gateway ?? null]);
  return Number(res.rows[0]?.n ?? 0);
}

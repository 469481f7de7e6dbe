import { Alarm } from '../../shared/alarm.js';
import { Finding } from '../../shared/finding.js';
import type { EventRecord } from '../../shared/sync.js';
import type { SqliteDb } from './db.js';
import { createStreamCursor } from './stream-cursor.js';

export interface EventsOutboxState {
  ackedSeq: number;
  lastSeq: number;
  pending: number;
  oldestPendingAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
}

/**
 * Findings and alarms on the edge (migrations/008_events.sql). Recording a new version updates the
 * current state and appends it to the findings stream in one transaction; recording the same
 * version again changes nothing and sends nothing, so a recomputation never duplicates.
 */
export interface EventStore {
  /** Returns how many were new versions; a version ending before the stored one is ignored. */
  recordFindings(findings: readonly Finding[]): number;
  /** Returns how many were new versions; a version older than the stored one (updatedAt) is ignored. */
  recordAlarms(alarms: readonly Alarm[]): number;
  alarm(id: string): Alarm | undefined;
  /** Active or not yet acknowledged, newest first. */
  openAlarms(limit?: number): Alarm[];
  findings(opts?: { subject?: string; limit?: number }): Finding[];
  /**
   * The stream's pending records above the acknowledged seq, in order. The first may be above
   * ackedSeq + 1 only after a rewind below what the log still keeps (EVENT_LOG_KEEP_MS).
   */
  next(limit: number): EventRecord[];
  /** Moves the acknowledged seq; prunes acknowledged records older than EVENT_LOG_KEEP_MS. */
  settle(ackedSeq: number): void;
  recordError(message: string): void;
  reject(b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): void;
  state(): EventsOutboxState;
}

const STREAM = 'findings';
/** How long the log keeps records the cloud has acknowledged. */
export const EVENT_LOG_KEEP_MS = 7 * 24 * 3600_000;

export function createEventStore(db: SqliteDb): EventStore {
  const findingRow = db.prepare<[string], { body: string; end_ts: number }>('SELECT body, end_ts FROM findings WHERE id = ?');
  const upsertFinding = db.prepare(
    `INSERT INTO findings (id, kind, subject, start, end_ts, severity, body) VALUES (@id, @kind, @subject, @start, @end, @severity, @body)
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, subject = excluded.subject, start = excluded.start,
       end_ts = excluded.end_ts, severity = excluded.severity, body = excluded.body`,
  );
  const alarmRow = db.prepare<[string], { body: string; updated_at: number }>('SELECT body, updated_at FROM alarms WHERE id = ?');
  const upsertAlarm = db.prepare(
    `INSERT INTO alarms (id, subject, severity, state, acked, raised_at, updated_at, body)
     VALUES (@id, @subject, @severity, @state, @acked, @raisedAt, @updatedAt, @body)
     ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, severity = excluded.severity, state = excluded.state,
       acked = excluded.acked, raised_at = excluded.raised_at, updated_at = excluded.updated_at, body = excluded.body`,
  );
  const openAlarmsStmt = db.prepare<[number], { body: string }>(
    `SELECT body FROM alarms WHERE state = 'active' OR acked = 0 ORDER BY raised_at DESC LIMIT ?`,
  );
  const findingsStmt = db.prepare<{ subject: string | null; limit: number }, { body: string }>(
    'SELECT body FROM findings WHERE @subject IS NULL OR subject = @subject ORDER BY start DESC LIMIT @limit',
  );
  const log = db.prepare<[number, string]>('INSERT INTO event_log (at, body) VALUES (?, ?)');
  const nextStmt = db.prepare<[number, number], { seq: number; body: string }>('SELECT seq, body FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?');
  // Acknowledged rows are kept a while: a cloud restored from last night's backup rewinds its
  // watermark, and the edge can send them again. Older ones are declared evicted then (next()).
  const prune = db.prepare<[number, number]>('DELETE FROM event_log WHERE seq <= ? AND at < ?');
  // sqlite_sequence keeps the highest seq ever given, also once its row is pruned.
  const lastSeqStmt = db.prepare<[], { seq: number }>(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event_log'), 0) AS seq`);
  const oldestStmt = db.prepare<[number], { at: number }>('SELECT at FROM event_log WHERE seq > ? ORDER BY seq LIMIT 1');
  const cursor = createStreamCursor(db, STREAM);
  const acked = () => cursor.get().ackedSeq;

  const recordFindings = db.transaction((findings: readonly Finding[]) => {
    let n = 0;
    for (const raw of findings) {
      const f = Finding.parse(raw);
      const body = JSON.stringify(f);
      const prev = findingRow.get(f.id);
      // The same version, or an older one (an incident's finding only ever extends its end):
      // scoring the same readings again after a restart changes nothing.
      if (prev && (prev.body === body || prev.end_ts > f.end)) continue;
      upsertFinding.run({ id: f.id, kind: f.kind, subject: f.subject, start: f.start, end: f.end, severity: f.severity, body });
      log.run(Date.now(), JSON.stringify({ finding: f }));
      n++;
    }
    return n;
  });

  const recordAlarms = db.transaction((alarms: readonly Alarm[]) => {
    let n = 0;
    for (const raw of alarms) {
      const a = Alarm.parse(raw);
      const body = JSON.stringify(a);
      const prev = alarmRow.get(a.id);
      if (prev && (prev.updated_at > a.updatedAt || prev.body === body)) continue;
      upsertAlarm.run({ id: a.id, subject: a.subject, severity: a.severity, state: a.state, acked: a.ack ? 1 : 0, raisedAt: a.raisedAt, updatedAt: a.updatedAt, body });
      log.run(Date.now(), JSON.stringify({ alarm: a }));
      n++;
    }
    return n;
  });

  return {
    recordFindings: (f) => recordFindings(f),
    recordAlarms: (a) => recordAlarms(a),
    alarm(id) {
      const row = alarmRow.get(id);
      return row ? (JSON.parse(row.body) as Alarm) : undefined;
    },
    openAlarms: (limit = 1000) => openAlarmsStmt.all(limit).map((r) => JSON.parse(r.body) as Alarm),
    findings: (opts = {}) => findingsStmt.all({ subject: opts.subject ?? null, limit: opts.limit ?? 1000 }).map((r) => JSON.parse(r.body) as Finding),
    next: (limit) => nextStmt.all(acked(), limit).map((r) => ({ seq: r.seq, ...(JSON.parse(r.body) as Omit<EventRecord, 'seq'>) })),
    settle: db.transaction((ackedSeq: number) => {
      cursor.settle(ackedSeq);
      prune.run(ackedSeq, Date.now() - EVENT_LOG_KEEP_MS);
    }),
    recordError: (message) => cursor.recordError(message),
    reject: (b) => cursor.reject(b),
    state: db.transaction(() => {
      const c = cursor.get();
      const ackedSeq = c.ackedSeq;
      const lastSeq = lastSeqStmt.get()?.seq ?? 0;
      return {
        ackedSeq,
        lastSeq,
        pending: Math.max(0, lastSeq - ackedSeq),
        oldestPendingAt: oldestStmt.get(ackedSeq)?.at ?? null,
        lastSuccessAt: c.lastSuccessAt,
        lastError: c.lastError,
      };
    }),
  };
}

import type { SqliteDb } from './db.js';

export interface Gap {
  id: number;
  source: string;
  startMs: number;
  /** null while the gap is open. */
  endMs: number | null;
  reason: string;
  createdAt: number;
  /** What was read back from the server's history after the gap; null if nothing was tried. */
  backfill: { outcome: BackfillOutcome; values: number } | null;
}

export type BackfillOutcome = 'complete' | 'partial' | 'unsupported' | 'failed';

export interface GapStore {
  /**
   * Records a gap. Without `end` it is opened; a source has at most one open gap, so opening
   * while one is open keeps the earlier one (its start is the true start) and returns its id.
   */
  record(source: string, gap: { start: number; end?: number | undefined; reason: string }): number;
  /** Closes the source's open gap at `end` (never before its start). Returns the closed gap, or null when none was open. */
  close(source: string, end: number): Gap | null;
  /** Gaps overlapping [fromMs, toMs], oldest first; open gaps overlap everything after their start. */
  list(opts?: { source?: string; fromMs?: number; toMs?: number }): Gap[];
  /** Records the backfill of the source's gap that started at `start`; false if there is none. */
  backfilled(source: string, start: number, b: { outcome: BackfillOutcome; values: number }): boolean;
}

interface Row {
  id: number;
  source: string;
  start_ms: number;
  end_ms: number | null;
  reason: string;
  created_at: number;
  backfill: BackfillOutcome | null;
  backfilled_values: number | null;
}

const toGap = (r: Row): Gap => ({
  id: r.id,
  source: r.source,
  startMs: r.start_ms,
  endMs: r.end_ms,
  reason: r.reason,
  createdAt: r.created_at,
  backfill: r.backfill === null ? null : { outcome: r.backfill, values: r.backfilled_values ?? 0 },
});

export function createGapStore(db: SqliteDb): GapStore {
  const openOf = db.prepare<[string], Row>('SELECT * FROM gaps WHERE source = ? AND end_ms IS NULL');
  const insert = db.prepare<[string, number, number | null, string, number]>(
    'INSERT INTO gaps (source, start_ms, end_ms, reason, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const closeStmt = db.prepare<[number, number], Row>('UPDATE gaps SET end_ms = max(?, start_ms) WHERE id = ? RETURNING *');
  const listStmt = db.prepare<[string | null, string | null, number, number], Row>(
    `SELECT * FROM gaps
      WHERE (? IS NULL OR source = ?) AND start_ms <= ? AND (end_ms IS NULL OR end_ms >= ?)
      ORDER BY start_ms, id`,
  );
  const record = db.transaction((source: string, gap: { start: number; end?: number | undefined; reason: string }): number => {
    const reason = gap.reason.slice(0, 1000);
    if (gap.end === undefined) {
      const open = openOf.get(source);
      if (open) return open.id;
    }
    const end = gap.end === undefined ? null : Math.max(gap.end, gap.start);
    return Number(insert.run(source, gap.start, end, reason, Date.now()).lastInsertRowid);
  });
  const backfillStmt = db.prepare<[BackfillOutcome, number, string, number]>(
    `UPDATE gaps SET backfill = ?, backfilled_values = ?
      WHERE id = (SELECT max(id) FROM gaps WHERE source = ? AND start_ms = ?)`,
  );
  return {
    record,
    backfilled: (source, start, b) => backfillStmt.run(b.outcome, b.values, source, start).changes > 0,
    close(source, end) {
      const open = openOf.get(source);
      if (!open) return null;
      const row = closeStmt.get(end, open.id);
      return row ? toGap(row) : null;
    },
    list(opts = {}) {
      const source = opts.source ?? null;
      return listStmt.all(source, source, opts.toMs ?? Number.MAX_SAFE_INTEGER, opts.fromMs ?? 0).map(toGap);
    },
  };
}

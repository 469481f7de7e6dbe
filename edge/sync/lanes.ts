import { encodeSeries } from '../../shared/sync-codec.js';
import type { Applied } from '../../shared/pushback.js';
import { evictedCount, type EventRecord, type EvictedRange, type Stream, type SyncBatch } from '../../shared/sync.js';
import type { EventsOutboxState } from '../store/events.js';
import type { Outbox } from '../store/outbox.js';
import type { SealedBatch } from '../store/sealed.js';

type Writes<T, K extends keyof T> = { [P in K]: T[P] extends (...args: infer A) => unknown ? (...args: A) => Promise<void> | void : never };

/**
 * The outbox as the sync client uses it: reads answer at once (the main thread's read-only
 * connection), writes may go to the writer thread and are awaited.
 */
export type SyncOutbox = Pick<Outbox, 'next' | 'span' | 'state'> &
  Writes<Outbox, 'makeDurable' | 'settle' | 'recordError' | 'reject'> & {
    /** Files the landed readings now, so they have seqs (edge/store/filing.ts); absent: nothing lands. */
    fileLanded?: () => Promise<unknown>;
    /** The first sealed batch above `ackedSeq` (edge/store/sealed.ts); absent: none are sealed. */
    sealed?: (ackedSeq: number) => SealedBatch | undefined;
    /** Evicted seqs within lo..hi (edge/store/outbox.ts). */
    evictedBetween?: (lo: number, hi: number) => EvictedRange[];
  };

/** The findings stream's outbox (edge/store/events.ts), in the same split of reads and writes. */
export interface FindingsOutbox extends Writes<Outbox, 'settle' | 'recordError' | 'reject'> {
  next(limit: number): EventRecord[];
  state(): EventsOutboxState;
}

/** One stream as the loop drives it; the readings and findings streams differ only in here. */
export interface Lane {
  stream: Stream;
  /** `full`: the stream has more right after this batch (no pause before the next). */
  build(limit: number): Promise<{ batch: SyncBatch; records: number; full: boolean; sealedSeries?: Buffer } | null>;
  /** The highest seq this edge has given in the stream. */
  lastSeq(): number;
  ackedSeq(): number;
  settle(seq: number): Promise<void> | void;
  recordError(message: string): Promise<void> | void;
  reject(b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): Promise<void> | void;
  /** A rejected batch, keyed by where it starts and the status, tried `tries` times. */
  rejected: { key: string; tries: number };
  parked: boolean;
  /** After a failure the cloud answered (a 5xx, a refusal), the other stream goes first until then. */
  notBefore: number;
  /** The last try ended in a state an operator must look at (refused, historian behind or ahead of the cloud). */
  blocked: boolean;
}

export const lagOf = (oldest: number | null) => (oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));


/** What the lanes need from the sync loop: the batch head, and whether to report the backlog. */
export interface LaneContext {
  head(): { gateway: string; sentAt: number; applied?: Applied };
  backlogDue(): boolean;
  sealedSent(): void;
}

/** The readings stream: a sealed batch when there is one just above the acked seq, else rows. */
export function readingsLane(outbox: SyncOutbox, ctx: LaneContext): Lane {
  const backlog = (s: { pending: number; oldestPendingAt: number | null }) =>
    ctx.backlogDue() ? { backlog: { records: s.pending, seconds: lagOf(s.oldestPendingAt) } } : {};
  return {
    stream: 'readings',
    async build(limit) {
      const s0 = outbox.state();
      const acked = s0.ackedSeq;
      const seal = outbox.sealed?.(acked);
      // Seals made with a larger batchSize than now in force (a cloud lowered it, say after a
      // 413) are not sent; the rows are, and the seals go once the cloud acknowledges past them.
      const usable = seal && seal.records <= limit ? seal : undefined;
      const sendSealed = (firstSeq: number, evicted: EvictedRange[]) => {
        ctx.sealedSent();
        const batch: SyncBatch = {
          ...ctx.head(),
          stream: 'readings',
          encoding: 'columnar-json-v1',
          firstSeq,
          lastSeq: usable!.lastSeq,
          ...(evicted.length > 0 ? { evicted } : {}),
          ...backlog(s0),
          series: [],
        };
        return { batch, records: usable!.records, full: true, sealedSeries: usable!.body };
      };
      if (usable) {
        // Encoded while the cloud was away: read and sent as it is. It spans no evicted seq; the
        // seqs between the acked one and its start may all be evicted, and are declared so.
        const gap = usable.firstSeq > acked + 1 ? (outbox.evictedBetween?.(acked + 1, usable.firstSeq - 1) ?? []) : [];
        if (usable.firstSeq === acked + 1 || evictedCount(gap) === usable.firstSeq - acked - 1) {
          await outbox.makeDurable();
          return sendSealed(acked + 1, gap);
        }
      }
      let rows = outbox.next(limit);
      // A batch of rows ends where the next seal starts, so that the seals stay usable.
      if (seal) rows = rows.filter((r) => r.seq < seal.firstSeq);
      if (rows.length === 0) {
        if (!usable) return null;
        // Nothing stored between the acked seq and the seal, and not evicted either: the cloud
        // will say where it stands (409), and the sync reports the hole.
        await outbox.makeDurable();
        return sendSealed(usable.firstSeq, []);
      }
      await outbox.makeDurable();
      // The span starts just above the acked seq and declares what the disk budget evicted in it.
      const { firstSeq, lastSeq, evicted } = outbox.span(rows);
      const batch: SyncBatch = {
        ...ctx.head(),
        stream: 'readings',
        encoding: 'columnar-json-v1',
        firstSeq,
        lastSeq,
        ...(evicted.length > 0 ? { evicted } : {}),
        ...backlog(s0),
        series: encodeSeries(rows),
      };
      return { batch, records: rows.length, full: rows.length === limit || seal !== undefined };
    },
    lastSeq: () => outbox.state().lastSeq,
    ackedSeq: () => outbox.state().ackedSeq,
    settle: (seq) => outbox.settle(seq),
    recordError: (m) => outbox.recordError(m),
    reject: (b) => outbox.reject(b),
    rejected: { key: '', tries: 0 },
    parked: false,
    notBefore: 0,
    blocked: false,
  };
}

/** Findings and alarms (edge/store/events.ts). */
export function findingsLane(findings: FindingsOutbox, ctx: LaneContext): Lane {
  return {
    stream: 'findings',
    async build(limit) {
      const records = findings.next(limit);
      const s = findings.state();
      const firstSeq = s.ackedSeq + 1;
      if (records.length === 0 && s.lastSeq < firstSeq) return null;
      // Only after the cloud rewound below what the log still keeps (events.ts): say so, also
      // when nothing newer is left to carry the declaration.
      const lastSeq = records.length > 0 ? records[records.length - 1]!.seq : s.lastSeq;
      const keptFrom = records.length > 0 ? records[0]!.seq : s.lastSeq + 1;
      const lost = keptFrom > firstSeq ? { evicted: [[firstSeq, keptFrom - 1] as [number, number]] } : {};
      const batch: SyncBatch = { ...ctx.head(), stream: 'findings', encoding: 'rows-json-v1', firstSeq, lastSeq, ...lost, findings: records };
      return { batch, records: records.length, full: records.length === limit };
    },
    lastSeq: () => findings.state().lastSeq,
    ackedSeq: () => findings.state().ackedSeq,
    settle: (seq) => findings.settle(seq),
    recordError: (m) => findings.recordError(m),
    reject: (b) => findings.reject(b),
    rejected: { key: '', tries: 0 },
    parked: false,
    notBefore: 0,
    blocked: false,
  };
}

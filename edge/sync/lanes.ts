import { encodeSeries } from '../../shared/sync-codec.js';
import type { Applied } from '../../shared/pushback.js';
import type { EventRecord, Stream, SyncBatch } from '../../shared/sync.js';
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
    /** The sealed batch starting just above `ackedSeq` (edge/store/sealed.ts); absent: none are sealed. */
    sealed?: (ackedSeq: number) => SealedBatch | undefined;
  };

/** The findings stream's outbox (edge/store/events.ts), in the same split of reads and writes. */
export interface FindingsOutbox extends Writes<Outbox, 'settle' | 'recordError' | 'reject'> {
  next(limit: number): EventRecord[];
  state(): EventsOutboxState;
}

/** One stream as the loop drives it; the readings and findings streams differ only in here. */
export interface Lane {
  stream: Stream;
  build(limit: number): Promise<{ batch: SyncBatch; records: number; sealedSeries?: Buffer } | null>;
  /** The highest seq this edge has given in the stream. */
  lastSeq(): number;
  ackedSeq(): number;
  settle(seq: number): Promise<void> | void;
  recordError(message: string): Promise<void> | void;
  reject(b: { firstSeq: number; lastSeq: number; status: number | null; reason: string }): Promise<void> | void;
  /** A rejected batch, keyed by where it starts and the status, tried `tries` times. */
  rejected: { key: string; tries: number };
  parked: boolean;
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
      const sealed = outbox.sealed?.(s0.ackedSeq);
      if (sealed) {
        // Encoded while the cloud was away: read and sent as it is. It spans no evicted seq.
        await outbox.makeDurable();
        const batch: SyncBatch = {
          ...ctx.head(),
          stream: 'readings',
          encoding: 'columnar-json-v1',
          firstSeq: sealed.firstSeq,
          lastSeq: sealed.lastSeq,
          ...backlog(s0),
          series: [],
        };
        ctx.sealedSent();
        return { batch, records: sealed.records, sealedSeries: sealed.body };
      }
      const rows = outbox.next(limit);
      if (rows.length === 0) return null;
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
        ...backlog(outbox.state()),
        series: encodeSeries(rows),
      };
      return { batch, records: rows.length };
    },
    lastSeq: () => outbox.state().lastSeq,
    ackedSeq: () => outbox.state().ackedSeq,
    settle: (seq) => outbox.settle(seq),
    recordError: (m) => outbox.recordError(m),
    reject: (b) => outbox.reject(b),
    rejected: { key: '', tries: 0 },
    parked: false,
  };
}

/** Findings and alarms (edge/store/events.ts). */
export function findingsLane(findings: FindingsOutbox, ctx: LaneContext): Lane {
  return {
    stream: 'findings',
    async build(limit) {
      const records = findings.next(limit);
      if (records.length === 0) return null;
      const firstSeq = findings.state().ackedSeq + 1;
      const lastSeq = records[records.length - 1]!.seq;
      // Only after the cloud rewound below what the log still keeps (events.ts): say so.
      const lost = records[0]!.seq > firstSeq ? { evicted: [[firstSeq, records[0]!.seq - 1] as [number, number]] } : {};
      const batch: SyncBatch = { ...ctx.head(), stream: 'findings', encoding: 'rows-json-v1', firstSeq, lastSeq, ...lost, findings: records };
      return { batch, records: records.length };
    },
    lastSeq: () => findings.state().lastSeq,
    ackedSeq: () => findings.state().ackedSeq,
    settle: (seq) => findings.settle(seq),
    recordError: (m) => findings.recordError(m),
    reject: (b) => findings.reject(b),
    rejected: { key: '', tries: 0 },
    parked: false,
  };
}

import { z } from 'zod';
import { Alarm } from './alarm.js';
import { Finding } from './finding.js';
import { Applied, PushbackField, type Pushback } from './pushback.js';
import { EPOCH_MS_MAX, EPOCH_MS_MIN, EpochMs, Quality, SensorId } from './reading.js';

/**
 * The sync envelope: what an edge posts to `POST /v1/ingest`, and what the cloud answers.
 *
 * Every record leaves the edge with (gateway, stream, seq). Sequences are dense per stream:
 * a batch covers firstSeq..lastSeq, and each seq of it is either carried once as a record or
 * declared evicted (DESIGN guarantee 2). Evicted seqs are those the edge's disk budget dropped
 * before they were sent (guarantee 3); without them a thinned stream would leave a gap that the
 * cloud refuses forever.
 */

export const GatewayId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');
export type GatewayId = z.infer<typeof GatewayId>;

/**
 * The sync protocol version, sent in the SYNC_VERSION_HEADER of every batch. A cloud that does not
 * speak it answers 426 and the edge keeps the batch (DESIGN guarantee 5).
 */
export const SYNC_PROTOCOL = 1;
export const SYNC_VERSION_HEADER = 'x-millwright-sync';
/** Body encodings per stream in this protocol version; another value is a newer (or older) edge. */
export const SYNC_ENCODINGS: Readonly<Record<string, string>> = { readings: 'columnar-json-v1', findings: 'rows-json-v1' };

export const Stream = z.enum(['readings', 'findings']);
export type Stream = z.infer<typeof Stream>;

const Int = z.number().int();
const Seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * One sensor's readings in a batch, column by column. Timestamps and sequences are deltas from
 * the previous entry, and the first delta is 0 (entry 0 is at t0 / s0); this keeps the JSON small
 * and compresses well. `lag` is gateway receive time minus source time, per reading.
 */
export const SeriesBlock = z
  .strictObject({
    sensor: SensorId,
    s0: Seq,
    ds: z.array(Int.min(0)),
    t0: EpochMs,
    dt: z.array(Int),
    values: z.array(z.number().finite()),
    quality: z.array(Quality).optional().describe('absent: every reading is good'),
    lag: z.array(Int),
  })
  .refine(
    (b) =>
      b.ds.length === b.values.length &&
      b.dt.length === b.values.length &&
      b.lag.length === b.values.length &&
      (b.quality === undefined || b.quality.length === b.values.length),
    { message: 'ds, dt, lag, quality and values must have the same length' },
  )
  .refine((b) => b.values.length > 0 && b.ds[0] === 0 && b.dt[0] === 0, {
    message: 'a block holds at least one reading and its first deltas (ds[0], dt[0]) are 0',
  });
export type SeriesBlock = z.infer<typeof SeriesBlock>;

/** Inclusive [from, to] of seqs the edge dropped unsent; they will never arrive. */
export const EvictedRange = z
  .tuple([Seq, Seq])
  .refine(([from, to]) => to >= from, { message: 'an evicted range is [from, to] with to >= from' });
export type EvictedRange = z.infer<typeof EvictedRange>;

const BatchHead = {
  gateway: GatewayId,
  firstSeq: Seq,
  lastSeq: Seq,
  sentAt: EpochMs.describe('gateway clock when sent; the cloud compares it with its own'),
  backlog: z
    .strictObject({ records: Int.min(0), seconds: z.number().min(0).finite() })
    .optional()
    .describe("the stream's records not yet in the cloud and the age of the oldest, when sent"),
  applied: Applied.optional().describe('what the edge has applied of the pushback; absent: send no pushback'),
  evicted: z
    .array(EvictedRange)
    .optional()
    .describe('seqs of firstSeq..lastSeq dropped by the edge disk budget before they were sent; absent: none'),
};

export const ReadingsBatch = z.strictObject({
  ...BatchHead,
  stream: z.literal('readings'),
  encoding: z.literal('columnar-json-v1'),
  series: z.array(SeriesBlock),
});
export type ReadingsBatch = z.infer<typeof ReadingsBatch>;

/** A record of the findings stream: a new version of a finding or of an alarm, in the order made. */
export const EventRecord = z
  .strictObject({ seq: Seq, finding: Finding.optional(), alarm: Alarm.optional() })
  .refine((r) => (r.finding === undefined) !== (r.alarm === undefined), { message: 'a record holds exactly one of finding and alarm' });
export type EventRecord = z.infer<typeof EventRecord>;

/** Findings and alarms: their own stream, sent ahead of readings, so a backlog never delays an alarm. */
export const FindingsBatch = z.strictObject({
  ...BatchHead,
  stream: z.literal('findings'),
  encoding: z.literal('rows-json-v1'),
  findings: z.array(EventRecord),
});
export type FindingsBatch = z.infer<typeof FindingsBatch>;

export const SyncBatch = z
  .discriminatedUnion('stream', [ReadingsBatch, FindingsBatch])
  .superRefine((b, ctx) => {
    const problem = checkSequences(b);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['lastSeq'] });
    const timeProblem = b.stream === 'readings' ? checkTimes(b) : undefined;
    if (timeProblem) ctx.addIssue({ code: 'custom', message: timeProblem, path: ['series'] });
  });
export type SyncBatch = z.infer<typeof SyncBatch>;

/** Sequences of every record in a batch, in the order they appear. */
export function batchSequences(b: ReadingsBatch | FindingsBatch): number[] {
  if (b.stream === 'findings') return b.findings.map((f) => f.seq);
  const out: number[] = [];
  for (const block of b.series) {
    let s = block.s0;
    for (const d of block.ds) {
      s += d;
      out.push(s);
    }
  }
  return out;
}

/** How many seqs the evicted ranges of a batch cover (they are checked not to overlap). */
export function evictedCount(ranges: readonly EvictedRange[] | undefined): number {
  let n = 0;
  for (const [from, to] of ranges ?? []) n += to - from + 1;
  return n;
}

/**
 * A batch must account for each sequence of firstSeq..lastSeq exactly once: carried as a record
 * or inside one evicted range. Records and ranges inside the span, ranges disjoint from each other
 * and from every record, and records + evicted = span together mean an exact cover.
 */
function checkSequences(b: ReadingsBatch | FindingsBatch): string | undefined {
  if (b.lastSeq < b.firstSeq) return 'lastSeq is below firstSeq';
  const span = b.lastSeq - b.firstSeq + 1;
  const ranges = [...(b.evicted ?? [])].sort((x, y) => x[0] - y[0]);
  for (let i = 0; i < ranges.length; i++) {
    const [from, to] = ranges[i]!;
    if (from < b.firstSeq || to > b.lastSeq) return `evicted range ${from}..${to} is outside ${b.firstSeq}..${b.lastSeq}`;
    if (i > 0 && from <= ranges[i - 1]![1]) return `evicted ranges ${ranges[i - 1]![0]}..${ranges[i - 1]![1]} and ${from}..${to} overlap`;
  }
  const evicted = evictedCount(ranges);
  const seqs = batchSequences(b);
  if (seqs.length + evicted !== span) {
    const declared = evicted > 0 ? `${span} seqs (seq ${b.firstSeq}..${b.lastSeq}, ${evicted} of them evicted)` : `${span} records (seq ${b.firstSeq}..${b.lastSeq})`;
    return `batch declares ${declared} but carries ${seqs.length}${evicted > 0 ? ' records' : ''}`;
  }
  const seen = new Set<number>();
  for (const s of seqs) {
    if (s < b.firstSeq || s > b.lastSeq) return `record seq ${s} is outside ${b.firstSeq}..${b.lastSeq}`;
    if (seen.has(s)) return `record seq ${s} appears twice`;
    if (ranges.length > 0 && inRanges(ranges, s)) return `record seq ${s} is inside an evicted range`;
    seen.add(s);
  }
  return undefined;
}

/** Binary search over sorted, disjoint ranges. */
function inRanges(ranges: readonly EvictedRange[], s: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = ranges[mid]!;
    if (s < from) hi = mid - 1;
    else if (s > to) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Deltas can carry a timestamp out of range although t0 is in it; every decoded time must be in it. */
function checkTimes(b: ReadingsBatch): string | undefined {
  const inRange = (t: number) => t >= EPOCH_MS_MIN && t <= EPOCH_MS_MAX;
  for (const block of b.series) {
    let t = block.t0;
    for (let i = 0; i < block.dt.length; i++) {
      t += block.dt[i]!;
      if (!inRange(t)) return `${block.sensor}: reading ${i} has source time ${t}, outside 2000..2100 in ms`;
      if (!inRange(t + block.lag[i]!)) return `${block.sensor}: reading ${i} has receive time ${t + block.lag[i]!}, outside 2000..2100 in ms`;
    }
  }
  return undefined;
}


/**
 * 200 reply. `acceptedThrough` is the committed watermark for (gateway, stream) after this batch:
 * everything at or below it is in the cloud. `duplicate` says nothing was written because the
 * batch was already at or below the watermark.
 */
export const SyncReply = z.strictObject({
  acceptedThrough: Int.min(0),
  duplicate: z.boolean(),
  written: Int.min(0),
  cloudTime: EpochMs,
  push: PushbackField,
});
export type SyncReply = Omit<z.output<typeof SyncReply>, 'push'> & { push?: Pushback };

/** 4xx/5xx reply. On SEQUENCE_GAP, `acceptedThrough` tells the edge where to rewind to. */
export const SyncErrorReply = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
  acceptedThrough: Int.min(0).optional(),
  cloudTime: EpochMs,
});
export type SyncErrorReply = z.infer<typeof SyncErrorReply>;

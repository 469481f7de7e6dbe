import {
  DataValue,
  HistoryData,
  HistoryReadResult,
  isMinDate,
  ReadRawModifiedDetails,
  StatusCodes,
  type ContinuationData,
  type ISessionContext,
  type StatusCode,
  type Variant,
} from 'node-opcua';
import type { Quality } from '../../shared/reading.js';

/**
 * The recent past of one variable, for HistoryRead (raw) [OPC 10000-11, 6.5.3].
 *
 * node-opcua's own historian (`addressSpace.installHistoricalDataNode`) gives every variable a
 * "HA Configuration" object of a dozen nodes and keeps each value as a DataValue object. Measured
 * with 10,000 variables and 100 values each: 12 s more to start and about 330 MB more memory. This
 * ring keeps the last `capacity` values in typed arrays instead (24 bytes a value) and answers
 * HistoryRead through the variable's public `historyRead` method.
 *
 * When full, the oldest value is overwritten: a client that needs more than `capacity` values of
 * the past has to read more often. Not supported: ReadModified, ReadProcessed (aggregates),
 * ReadAtTime, events, and bounding values (`returnBounds` is ignored).
 */
export class HistoryRing {
  private readonly ts: Float64Array;
  private readonly values: Float64Array;
  private readonly statuses: StatusCode[];
  /** Index the next value goes to. */
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be a positive integer, got ${capacity}`);
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.statuses = new Array<StatusCode>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** `value` NaN stands for "no value" (a sensor that dropped out before it ever reported). */
  push(tsMs: number, value: number, status: StatusCode): void {
    const i = this.next;
    this.ts[i] = tsMs;
    this.values[i] = value;
    this.statuses[i] = status;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.size < this.capacity) this.size++;
  }

  /**
   * Positions (oldest first = 0) of the values with startMs ≤ ts ≤ endMs, in insertion order, or
   * newest first when `newestFirst`; at most `max` of them (0: all). Insertion order is time order
   * unless the source clock jumped back; a clock jump is served as it happened.
   */
  select(startMs: number, endMs: number, max: number, newestFirst: boolean): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.size; k++) {
      const pos = newestFirst ? this.size - 1 - k : k;
      const t = this.ts[this.slot(pos)] as number;
      if (t < startMs || t > endMs) continue;
      out.push(pos);
      if (max > 0 && out.length === max) break;
    }
    return out;
  }

  /** Value at a position from `select`, as a DataValue (source and server timestamp = the source time). */
  dataValue(pos: number, toVariant: (value: number) => Variant | null): DataValue {
    const slot = this.slot(pos);
    const when = new Date(this.ts[slot] as number);
    const value = this.values[slot] as number;
    return new DataValue({
      value: (Number.isNaN(value) ? null : toVariant(value)) ?? undefined,
      statusCode: this.statuses[slot],
      sourceTimestamp: when,
      serverTimestamp: when,
    });
  }

  private slot(pos: number): number {
    const first = this.size < this.capacity ? 0 : this.next;
    return (first + pos) % this.capacity;
  }
}

/**
 * HistoryRead of raw values from a ring, with the time-domain rules of OPC 10000-11 6.4.3.2: start
 * only → forward from start; end only → backward from end (numValuesPerNode required); both →
 * forward, or backward when end < start. More than numValuesPerNode values → a continuation point,
 * kept by the session's continuation point manager like node-opcua's own historian does.
 */
export function readRawHistory(
  ring: HistoryRing,
  toVariant: (value: number) => Variant | null,
  context: ISessionContext,
  details: unknown,
  continuationData: ContinuationData,
): HistoryReadResult {
  const points = context.session?.continuationPointManager;
  if (!points) return new HistoryReadResult({ statusCode: StatusCodes.BadSessionIdInvalid });
  if (continuationData.continuationPoint || continuationData.releaseContinuationPoints) {
    const numValues = details instanceof ReadRawModifiedDetails ? details.numValuesPerNode : 0;
    const next = points.getNextHistoryReadRaw(numValues, continuationData);
    return new HistoryReadResult({
      statusCode: next.statusCode,
      continuationPoint: next.continuationPoint,
      historyData: new HistoryData({ dataValues: next.values ?? [] }),
    });
  }
  if (!(details instanceof ReadRawModifiedDetails) || details.isReadModified) {
    return new HistoryReadResult({ statusCode: StatusCodes.BadHistoryOperationUnsupported });
  }
  const start = specified(details.startTime);
  const end = specified(details.endTime);
  const max = details.numValuesPerNode;
  let positions: number[];
  if (start === undefined && end === undefined) {
    return new HistoryReadResult({ statusCode: StatusCodes.BadArgumentsMissing });
  } else if (end === undefined) {
    positions = ring.select(start as number, Infinity, max, false);
  } else if (start === undefined) {
    if (max === 0) return new HistoryReadResult({ statusCode: StatusCodes.BadArgumentsMissing });
    positions = ring.select(-Infinity, end, max, true);
  } else if (end < start) {
    positions = ring.select(end, start, 0, true);
  } else {
    positions = ring.select(start, end, 0, false);
  }
  if (positions.length === 0) return new HistoryReadResult({ statusCode: StatusCodes.GoodNoData, historyData: new HistoryData({ dataValues: [] }) });
  const dataValues = positions.map((pos) => ring.dataValue(pos, toVariant));
  const page = points.registerHistoryReadRaw(max, dataValues, continuationData);
  return new HistoryReadResult({
    statusCode: page.statusCode,
    continuationPoint: page.continuationPoint,
    historyData: new HistoryData({ dataValues: page.values ?? [] }),
  });
}

/** DateTime.MinValue (or nothing) means "not specified" [OPC 10000-11, 6.4.3.2]. */
function specified(time: Date | null | undefined): number | undefined {
  if (!time || isMinDate(time)) return undefined;
  return time.getTime();
}

/**
 * The history of every variable, kept apart from one server instance so that it can outlive it: a
 * PLC's historian goes on recording while its OPC-UA server restarts, and answers for that time
 * once the server is back. Pass the same one to successive `startOpcuaServer` calls (`history`);
 * without it each server starts with an empty history.
 */
export interface OpcuaHistory {
  readonly capacity: number;
  /** The ring of one sensor, made on first use. */
  ring(sensor: string): HistoryRing;
  /**
   * Records readings measured while no server is running (a running server records what it is
   * given through `update` by itself). Values are kept as given: one a variable cannot hold is
   * served as "no value" with the reading's status.
   */
  record(readings: readonly { sensor: string; ts: number; value: number; quality?: Quality | undefined }[]): void;
}

const QUALITY_STATUS: Readonly<Record<Quality, StatusCode>> = { good: StatusCodes.Good, uncertain: StatusCodes.Uncertain, bad: StatusCodes.Bad };

export function createOpcuaHistory(capacity: number): OpcuaHistory {
  const rings = new Map<string, HistoryRing>();
  const ring = (sensor: string): HistoryRing => {
    let r = rings.get(sensor);
    if (!r) rings.set(sensor, (r = new HistoryRing(capacity)));
    return r;
  };
  return {
    capacity,
    ring,
    record(readings) {
      for (const r of readings) ring(r.sensor).push(r.ts, r.value, QUALITY_STATUS[r.quality ?? 'good']);
    },
  };
}

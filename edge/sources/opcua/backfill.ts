import {
  HistoryData,
  HistoryReadRequest,
  ReadRawModifiedDetails,
  StatusCodes,
  TimestampsToReturn,
  type ClientSession,
  type DataValue,
  type HistoryReadResult,
  type StatusCode,
} from 'node-opcua';
import { backoffDelay } from '../../../shared/backoff.js';
import type { Logger } from '../../../shared/log.js';
import type { Reading } from '../../../shared/reading.js';
import type { Telemetry } from '../../telemetry/events.js';
import type { BackfillOutcome } from '../../store/gaps.js';
import type { Sink } from '../types.js';
import type { OpcuaSourceConfig } from './config.js';
import { numericValue, qualityOfStatus } from './decode.js';

/**
 * HistoryRead backfill of a gap (DESIGN guarantee 4): once values flow again after a gap, the
 * source asks the server for what it kept of the gap (ReadRawModifiedDetails, isReadModified
 * false, OPC 10000-11 6.4.3) and commits it. The store keeps one reading per (sensor, source
 * time), so reading more than the gap (the value before it, the first ones after it) is harmless:
 * the overlap is skipped as duplicates.
 *
 * The window is in the server's time, per node: from the source time of the node's newest value
 * before the gap (the gap's receive-time start if the node had none) to the newest source time
 * received from any node since. Receive times are not used for the window because the PLC's clock
 * and the gateway's may differ (guarantee 7). At most `maxSpanMs` of the end of the window is read,
 * and at most `maxValuesPerNode` values per node, oldest first.
 *
 * Not guaranteed: values the server no longer has (its history is a ring, or it restarted without
 * keeping history) stay missing, and so does a window whose backfill failed (the connection went
 * again, the store refused for the whole stop); the gap marker stays either way, and the log line
 * `opcua_backfill` says how much was read. Nodes whose server answers that history is unsupported
 * are skipped from then on (logged once); restart the source after enabling history on the server.
 */

/** Nodes per HistoryRead request. Small: each node with more data holds a continuation point, and servers allow few per session (MaxHistoryContinuationPoints, OPC 10000-5 6.3.11). */
const NODES_PER_REQUEST = 10;

/** What a node's HistoryRead status means (OPC 10000-11 6.10, 7). */
export type HistoryOutcome = 'values' | 'unsupported' | 'failed';

const UNSUPPORTED: ReadonlySet<number> = new Set(
  [
    StatusCodes.BadHistoryOperationUnsupported,
    StatusCodes.BadHistoryOperationInvalid,
    StatusCodes.BadNotReadable, // no HistoryRead in the node's AccessLevel
    StatusCodes.BadUserAccessDenied,
    StatusCodes.BadServiceUnsupported,
    StatusCodes.BadNotSupported,
    StatusCodes.BadNotImplemented,
  ].map((s) => s.value),
);

export function classifyHistoryStatus(code: StatusCode): HistoryOutcome {
  if (UNSUPPORTED.has(code.value)) return 'unsupported';
  // Good, GoodNoData, GoodMoreData, and Uncertain: whatever values came are usable.
  return code.value >>> 30 >= 2 ? 'failed' : 'values';
}

export interface BackfillNode {
  nodeId: string;
  sensor: string;
  /** Not numeric (dead-lettered by the live path): nothing to backfill. */
  unusable: boolean;
}

export interface BackfillCounts {
  nodes: number;
  /** Values returned by the server and handed to the store (duplicates of stored ones included). */
  values: number;
  unsupported: number;
  /** Nodes that hit `maxValuesPerNode` with more left on the server. */
  truncated: number;
  failed: number;
  firstFailure?: string;
}

export interface BackfillDeps {
  telemetry: Telemetry;
  log: Logger;
  sink: () => Sink | undefined;
  stopping: () => boolean;
  /** Source time of the newest value per node, across reconnections. */
  newest: () => ReadonlyMap<string, number>;
}

export interface Backfiller {
  /** A gap opened at `start` (receive time): remembers where each node's data stopped. */
  gapOpened(start: number): void;
  /** The gap closed: reads what the server kept of it, in the background, one gap after another. */
  gapClosed(session: ClientSession | undefined, items: readonly BackfillNode[], end: number): void;
  /** Resolves when no backfill is under way or queued. */
  idle(): Promise<void>;
}

interface Window {
  from: ReadonlyMap<string, number>;
  start: number;
  end: number;
}

export function createBackfiller(cfg: OpcuaSourceConfig, deps: BackfillDeps): Backfiller {
  const { log } = deps;
  const opts = cfg.backfill;
  let open: Window | undefined;
  const unsupported = new Set<string>();
  let chain: Promise<void> = Promise.resolve();

  /** Commits one page, retrying while the store refuses; false when the source stops first. */
  async function commitDurably(readings: Reading[]): Promise<boolean> {
    for (let attempt = 0; !deps.stopping(); attempt++) {
      const sink = deps.sink();
      if (!sink) return false;
      try {
        await sink.commit(cfg.name, readings);
        return true;
      } catch (err) {
        const delay = backoffDelay(attempt, { baseMs: cfg.flushMs, capMs: 5000 });
        deps.telemetry.storeWriteFailed(cfg.name, err, delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    return false;
  }

  function toReadings(node: BackfillNode, dataValues: readonly DataValue[], receivedAt: number): Reading[] {
    const out: Reading[] = [];
    for (const dv of dataValues) {
      const ts = (dv.sourceTimestamp ?? dv.serverTimestamp)?.getTime();
      const value = numericValue(dv.value?.value);
      // No time: cannot be placed. No value: a bad status without a reading, as on the live path.
      if (ts === undefined || !(ts > 0) || value === undefined) continue;
      out.push({ sensor: node.sensor, ts, value, quality: qualityOfStatus(dv.statusCode.value), receivedAt });
    }
    return out;
  }

  function markUnsupported(nodes: readonly BackfillNode[], why: string): void {
    const fresh = nodes.filter((n) => !unsupported.has(n.nodeId));
    for (const n of fresh) unsupported.add(n.nodeId);
    if (fresh.length > 0) {
      log.warn('opcua_history_unsupported', { source: cfg.name, nodes: fresh.length, examples: fresh.slice(0, 5).map((n) => n.nodeId), status: why });
    }
  }

  /** HistoryRead of one group of nodes sharing a window, page by page through continuation points. */
  async function readGroup(session: ClientSession, group: BackfillNode[], start: number, end: number, counts: BackfillCounts): Promise<void> {
    const details = new ReadRawModifiedDetails({
      isReadModified: false,
      startTime: new Date(start),
      endTime: new Date(end),
      numValuesPerNode: opts.valuesPerRequest,
      // Bounding values may lie outside the window or be interpolated: not readings.
      returnBounds: false,
    });
    const request = (nodes: { node: BackfillNode; cp?: Buffer }[], release: boolean) =>
      session.historyRead(
        new HistoryReadRequest({
          historyReadDetails: details,
          timestampsToReturn: TimestampsToReturn.Both,
          releaseContinuationPoints: release,
          nodesToRead: nodes.map((p) => (p.cp ? { nodeId: p.node.nodeId, continuationPoint: p.cp } : { nodeId: p.node.nodeId })),
        }),
      );
    let pending: { node: BackfillNode; cp?: Buffer; got: number }[] = group.map((node) => ({ node, got: 0 }));
    while (pending.length > 0 && !deps.stopping()) {
      let results: HistoryReadResult[];
      try {
        results = (await request(pending, false)).results ?? [];
      } catch (err) {
        const message = (err as Error).message;
        if (!/BadServiceUnsupported|BadHistoryOperationUnsupported|BadNotImplemented/.test(message)) throw err;
        counts.unsupported += group.length;
        return markUnsupported(group, message);
      }
      const receivedAt = Date.now();
      const readings: Reading[] = [];
      const next: typeof pending = [];
      const release: typeof pending = [];
      const refused: BackfillNode[] = [];
      pending.forEach((p, i) => {
        const r = results[i];
        const outcome = r ? classifyHistoryStatus(r.statusCode) : 'failed';
        if (outcome === 'unsupported') return void refused.push(p.node);
        if (outcome === 'failed' || !r) {
          // Counted, and the first reason kept for the summary line: one line per node would flood the log.
          counts.failed++;
          counts.firstFailure ??= `${p.node.nodeId}: ${r?.statusCode.toString() ?? 'no result'}`;
          return;
        }
        const dataValues = r.historyData instanceof HistoryData ? (r.historyData.dataValues ?? []) : [];
        const taken = dataValues.slice(0, opts.maxValuesPerNode - p.got);
        p.got += taken.length;
        counts.values += taken.length;
        readings.push(...toReadings(p.node, taken, receivedAt));
        const cp = r.continuationPoint && r.continuationPoint.length > 0 ? r.continuationPoint : undefined;
        if (!cp) return;
        if (p.got >= opts.maxValuesPerNode) {
          counts.truncated++;
          release.push({ ...p, cp });
        } else next.push({ ...p, cp });
      });
      markUnsupported(refused, 'BadHistoryOperationUnsupported or similar');
      counts.unsupported += refused.length;
      // One page at a time: memory stays at NODES_PER_REQUEST × valuesPerRequest readings.
      if (readings.length > 0 && !(await commitDurably(readings))) return;
      // Continuation points hold memory on the server until read or released (OPC 10000-4 5.10.3).
      if (release.length > 0) await request(release, true).catch(() => {});
      pending = next;
    }
  }

  async function run(session: ClientSession, items: readonly BackfillNode[], w: Window): Promise<void> {
    const began = Date.now();
    let serverNow = -Infinity;
    for (const ts of deps.newest().values()) serverNow = Math.max(serverNow, ts);
    if (!Number.isFinite(serverNow)) serverNow = w.end;
    const counts: BackfillCounts = { nodes: 0, values: 0, unsupported: 0, truncated: 0, failed: 0 };
    let clipped = false;
    const groups = new Map<number, BackfillNode[]>();
    for (const item of items) {
      if (item.unusable || unsupported.has(item.nodeId)) continue;
      let start = w.from.get(item.nodeId) ?? w.start;
      if (start < serverNow - opts.maxSpanMs) {
        start = serverNow - opts.maxSpanMs;
        clipped = true;
      }
      if (start > serverNow) continue;
      counts.nodes++;
      const group = groups.get(start) ?? [];
      group.push(item);
      groups.set(start, group);
    }
    let error: string | undefined;
    try {
      for (const [start, group] of groups) {
        for (let i = 0; i < group.length && !deps.stopping(); i += NODES_PER_REQUEST) {
          await readGroup(session, group.slice(i, i + NODES_PER_REQUEST), start, serverNow, counts);
        }
      }
    } catch (err) {
      error = (err as Error).message;
    }
    const fields = { source: cfg.name, gapStartMs: w.start, gapEndMs: w.end, ...counts, spanClipped: clipped, durationMs: Date.now() - began };
    const outcome: BackfillOutcome =
      error !== undefined
        ? 'failed'
        : counts.nodes === 0 || counts.unsupported === counts.nodes
          ? 'unsupported'
          : counts.unsupported > 0 || counts.truncated > 0 || counts.failed > 0 || clipped || deps.stopping()
            ? 'partial'
            : 'complete';
    // Kept with the gap marker, so a filled gap does not read like one that lost everything.
    const sink = deps.sink();
    try {
      await sink?.gapBackfilled?.(cfg.name, { start: w.start, outcome, values: counts.values });
    } catch (err) {
      log.warn('opcua_backfill_unrecorded', { source: cfg.name, error: (err as Error).message });
    }
    if (error !== undefined) log.warn('opcua_backfill_failed', { ...fields, error });
    else if (counts.nodes > 0) log.info('opcua_backfill', { ...fields, stopped: deps.stopping() || undefined });
  }

  return {
    gapOpened(start) {
      if (!opts.enabled || open) return;
      open = { from: new Map(deps.newest()), start, end: start };
    },
    gapClosed(session, items, end) {
      const w = open;
      open = undefined;
      if (!w || !session || deps.stopping()) return;
      const snapshot = items.slice();
      // Wait two publishing intervals: values the server queued during the gap arrive first, and
      // the window's end (the newest source time seen) then covers them.
      const settle = Math.max(100, 2 * cfg.publishingIntervalMs);
      chain = chain
        .then(() => new Promise((r) => setTimeout(r, settle)))
        .then(() => (deps.stopping() ? undefined : run(session, snapshot, { ...w, end })))
        .catch((err: unknown) => log.warn('opcua_backfill_failed', { source: cfg.name, error: (err as Error).message }));
    },
    idle: () => chain,
  };
}

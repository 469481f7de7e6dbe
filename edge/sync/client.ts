import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { backoffDelay, type BackoffOptions } from '../../shared/backoff.js';
import { encodeSeries } from '../../shared/sync-codec.js';
import type { ReadingsBatch } from '../../shared/sync.js';
import type { Outbox } from '../store/outbox.js';
import type { Telemetry } from '../telemetry/events.js';
import { classifyNetworkError, classifyResponse, type Delivery } from './classify.js';

const gzipAsync = promisify(gzip);
/** How often a batch the cloud refused as invalid is sent again before the sync gives up on it. */
const REJECTED_RETRIES = 3;

export interface SyncOptions {
  url: string;
  token: string;
  gatewayId: string;
  batchSize: number;
  intervalMs: number;
  timeoutMs: number;
  backoff: BackoffOptions;
  /** gzip (default): the batch's JSON is compressed on the wire (Content-Encoding). */
  compression?: 'gzip' | 'none';
}

export interface SyncStatus {
  state: 'idle' | 'sending' | 'backing-off' | 'blocked' | 'stopped';
  ackedSeq: number;
  pendingRecords: number;
  /** Seconds between now and the receive time of the oldest reading not yet in the cloud. */
  lagSeconds: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Cloud clock minus gateway clock, from the last reply (DESIGN guarantee 7). */
  clockOffsetMs: number | null;
  /** Request bodies sent since start (compressed, as on the wire) and the records they carried. */
  wire: { bytes: number; records: number };
}

export interface SyncClient {
  start(): void;
  /** Stops after the batch in flight settles (or its request times out). */
  stop(): Promise<void>;
  status(): SyncStatus;
  /** Resolves when everything committed before the call is acknowledged by the cloud. */
  drained(timeoutMs: number): Promise<boolean>;
}

/**
 * The outbox as the sync client uses it: reads answer at once (the main thread's read-only
 * connection), writes may go to the writer thread and are awaited.
 */
export type SyncOutbox = Pick<Outbox, 'next' | 'span' | 'state'> & {
  [K in 'makeDurable' | 'settle' | 'recordError' | 'reject']: (...args: Parameters<Outbox[K]>) => Promise<void> | void;
} & {
  /** Files the landed readings now, so they have seqs (edge/store/filing.ts); absent: nothing lands. */
  fileLanded?: () => Promise<unknown>;
};

/**
 * Store-and-forward: reads pending readings from the outbox in seq order, posts them as one
 * batch, and moves the outbox cursor only to what the cloud says it committed.
 */
export function createSyncClient(outbox: SyncOutbox, opts: SyncOptions, telemetry: Telemetry): SyncClient {
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let state: SyncStatus['state'] = 'idle';
  let clockOffsetMs: number | null = null;
  let lastRejected = '';
  let rejectedTries = 0;
  let attempt = 0;
  const wire = { bytes: 0, records: 0 };
  let plainOnly = false;

  /** Until stop(): a rejected batch given up on waits for a restart, not for a timer. */
  let unpark: (() => void) | undefined;
  const parked = () => new Promise<void>((resolve) => (unpark = resolve));
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function post(batch: ReadingsBatch, records: number): Promise<Delivery> {
    const started = Date.now();
    try {
      const json = Buffer.from(JSON.stringify(batch));
      const gzip = (opts.compression ?? 'gzip') === 'gzip' && !plainOnly;
      // Off the event loop (libuv's pool): a 5,000-reading batch is ~150 KB of JSON.
      const payload = gzip ? await gzipAsync(json) : json;
      const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` };
      if (gzip) headers['content-encoding'] = 'gzip';
      wire.bytes += payload.length;
      wire.records += records;
      const res = await fetch(`${opts.url.replace(/\/$/, '')}/v1/ingest`, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      if (gzip && res.status === 415) {
        // A cloud older than compressed batches refuses the encoding: send plain JSON from now on.
        plainOnly = true;
        await res.text().catch(() => undefined);
        return await post(batch, 0);
      }
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const delivery = classifyResponse(res.status, body);
      const cloudTime = delivery.outcome === 'accepted' ? delivery.reply.cloudTime : delivery.outcome === 'retry' ? delivery.cloudTime : undefined;
      // The cloud stamped its time somewhere inside the round trip; assume the middle.
      if (cloudTime !== undefined) clockOffsetMs = cloudTime - Math.round((started + Date.now()) / 2);
      return delivery;
    } catch (err) {
      return classifyNetworkError(err);
    }
  }

  /** One step; returns how long to wait before the next. */
  async function step(): Promise<number> {
    const rows = outbox.next(opts.batchSize);
    if (rows.length === 0) {
      state = 'idle';
      return opts.intervalMs;
    }
    await outbox.makeDurable();
    // The span starts just above the acked seq and declares what the disk budget evicted in it.
    const { firstSeq, lastSeq, evicted } = outbox.span(rows);
    const batch: ReadingsBatch = {
      gateway: opts.gatewayId,
      stream: 'readings',
      encoding: 'columnar-json-v1',
      firstSeq,
      lastSeq,
      ...(evicted.length > 0 ? { evicted } : {}),
      sentAt: Date.now(),
      series: encodeSeries(rows),
    };
    state = 'sending';
    const d = await post(batch, rows.length);
    if (d.outcome === 'accepted') {
      attempt = 0;
      const historianLast = outbox.state().lastSeq;
      if (d.reply.acceptedThrough > historianLast) {
        // The cloud holds more of this stream than this historian ever wrote: the historian was
        // replaced or restored. Advancing would silently skip what we have; stop and say so.
        await outbox.recordError(
          `cloud watermark ${d.reply.acceptedThrough} is ahead of this historian (last seq ${historianLast}): was the historian file replaced or restored? readings are kept locally`,
        );
        state = 'blocked';
        return opts.backoff.capMs;
      }
      await outbox.settle(d.reply.acceptedThrough);
      telemetry.syncDelivered(firstSeq, lastSeq, d.reply.written, d.reply.duplicate);
      return rows.length === opts.batchSize ? 0 : opts.intervalMs;
    }
    if (d.outcome === 'retry' && d.rewindTo !== undefined) {
      // The cloud's watermark is the truth: resend from just above it.
      telemetry.syncRewound(outbox.state().ackedSeq, d.rewindTo);
      await outbox.settle(d.rewindTo);
      await outbox.recordError(d.reason);
      return 0;
    }
    if (d.outcome === 'rejected') {
      // Not skipped: skipping would leave a gap the cloud refuses. Kept with its reason and
      // retried a few times (a cloud being upgraded may refuse for a moment), then not again
      // until the agent restarts: an operator must act, and the status says so.
      // By where the batch starts: on a caught-up gateway each resend carries the readings that
      // arrived meanwhile, so its end (and the cloud's wording) may differ from try to try.
      const key = `${firstSeq}-${d.status}`;
      if (key !== lastRejected) {
        await outbox.reject({ firstSeq, lastSeq, status: d.status, reason: d.reason });
        telemetry.syncRejected(firstSeq, lastSeq, d.status, d.reason);
        lastRejected = key;
        rejectedTries = 0;
      }
      rejectedTries++;
      const giveUp = rejectedTries > REJECTED_RETRIES;
      await outbox.recordError(
        `rejected batch ${firstSeq}..${lastSeq}: ${d.reason}${giveUp ? `; not sent again until the agent restarts (refused ${rejectedTries} times)` : ''}`,
      );
      state = 'blocked';
      return giveUp ? Number.POSITIVE_INFINITY : opts.backoff.capMs;
    }
    await outbox.recordError(d.reason);
    const delay = backoffDelay(attempt++, opts.backoff);
    telemetry.syncRetry(d.reason, attempt, delay);
    state = 'backing-off';
    return delay;
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          let delay: number;
          try {
            delay = await step();
          } catch (err) {
            // The writer may be what failed; the error is in the status and the log either way.
            await Promise.resolve(outbox.recordError(`sync: ${(err as Error).message}`)).catch(() => undefined);
            delay = backoffDelay(attempt++, opts.backoff);
            telemetry.syncRetry((err as Error).message, attempt, delay);
          }
          if (running && delay === Number.POSITIVE_INFINITY) await parked();
          else if (running && delay > 0) await sleep(delay);
        }
        state = 'stopped';
      })();
    },
    async stop() {
      running = false;
      wake?.();
      unpark?.();
      await loop;
    },
    status() {
      const s = outbox.state();
      return {
        state,
        ackedSeq: s.ackedSeq,
        pendingRecords: s.pending,
        lagSeconds: s.oldestPendingAt === null ? 0 : Math.max(0, (Date.now() - s.oldestPendingAt) / 1000),
        lastSuccessAt: s.lastSuccessAt,
        lastError: s.lastError,
        clockOffsetMs,
        wire: { ...wire },
      };
    },
    async drained(timeoutMs) {
      await outbox.fileLanded?.();
      const target = outbox.state().lastSeq;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (outbox.state().ackedSeq >= target) return true;
        wake?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      return outbox.state().ackedSeq >= target;
    },
  };
}

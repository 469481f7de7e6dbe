import { backoffDelay, type BackoffOptions } from '../../shared/backoff.js';
import type { SyncBatch } from '../../shared/sync.js';
import type { Telemetry } from '../telemetry/events.js';
import { PollReply } from '../../shared/pushback.js';
import { classifyNetworkError, type Delivery } from './classify.js';
import { createBreaker, createPacer, type BreakerOptions, type BreakerStatus } from './flow.js';
import type { PushbackApplier, PushbackStatus } from './pushback.js';
import { findingsLane, lagOf, readingsLane, type FindingsOutbox, type Lane, type SyncOutbox } from './lanes.js';
import { createTransport, type TlsMaterial } from './transport.js';

export type { FindingsOutbox, SyncOutbox } from './lanes.js';

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
  /** Average request-body bytes per second at most; absent or 0: as fast as the link allows. */
  maxBytesPerSecond?: number;
  /** Absent: 10 failures in a row open the circuit for 60 s. */
  breaker?: BreakerOptions;
  tls?: TlsMaterial;
  /** A caught-up edge asks the cloud for pushback this often (absent: 30 s). */
  pollMs?: number;
}

/** The settings a cloud may change while the sync runs (shared/pushback.ts RemoteSettings). */
export type LiveSyncSettings = Partial<Pick<SyncOptions, 'batchSize' | 'intervalMs' | 'maxBytesPerSecond'>>;

export interface SyncStatus {
  state: 'idle' | 'sending' | 'backing-off' | 'circuit-open' | 'blocked' | 'stopped';
  ackedSeq: number;
  pendingRecords: number;
  /** Seconds between now and the receive time of the oldest reading not yet in the cloud. */
  lagSeconds: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Cloud clock minus gateway clock, from the last reply (DESIGN guarantee 7). */
  clockOffsetMs: number | null;
  /** Batches sent since start (every attempt, resends too), their bodies' bytes (compressed, as on the wire), the records they carried, and how many were sealed ahead of time. */
  wire: { batches: number; bytes: number; records: number; sealed: number };
  breaker: BreakerStatus;
  /** The findings stream (findings and alarms), sent ahead of readings; null when not synced. */
  findings: { ackedSeq: number; pendingRecords: number; lagSeconds: number; lastError: string | null; parked: boolean } | null;
  /** What the cloud pushed back and this edge applied; null without the channel. */
  pushback: PushbackStatus | null;
}

export interface SyncClient {
  start(): void;
  /** Stops after the batch in flight settles (or its request times out). */
  stop(): Promise<void>;
  status(): SyncStatus;
  /** Resolves when everything committed before the call is acknowledged by the cloud. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Puts new settings in force from the next batch on. */
  reconfigure(settings: LiveSyncSettings): void;
}

/**
 * Store-and-forward: reads pending records in seq order, posts them as one batch, and moves the
 * outbox cursor only to what the cloud says it committed. Findings and alarms go first, so a
 * backlog of readings never holds back an alarm.
 */
export function createSyncClient(
  outbox: SyncOutbox,
  options: SyncOptions,
  telemetry: Telemetry,
  findings?: FindingsOutbox,
  pushback?: PushbackApplier,
): SyncClient {
  const opts = { ...options };
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let state: SyncStatus['state'] = 'idle';
  let clockOffsetMs: number | null = null;
  let attempt = 0;
  const wire = { batches: 0, bytes: 0, records: 0, sealed: 0 };
  const transport = createTransport(opts);
  let pacer = createPacer(opts.maxBytesPerSecond);
  const pollMs = opts.pollMs ?? 30_000;
  let lastExchangeAt = 0;
  let pollUnsupported = false;
  const breaker = createBreaker(opts.breaker ?? { failures: 10, openMs: 60_000 });
  // What the edge has applied, and its backlog, go with a batch when they changed or once per
  // pollMs: in every batch they would cost a caught-up gateway (small batches) ~5 bytes a reading.
  let lastApplied = '';
  let lastBacklogAt = 0;
  // The optional head fields go only to a cloud that said it reads them (SYNC_VERSION_HEADER in a
  // reply): a cloud from before them refuses a batch with unknown fields (422).
  let cloudSpeaks = false;
  const reportDue = () => Date.now() - lastExchangeAt >= pollMs;
  const head = () => {
    const applied = cloudSpeaks ? pushback?.applied() : undefined;
    const report = applied !== undefined && (reportDue() || JSON.stringify(applied) !== lastApplied);
    return { gateway: opts.gatewayId, sentAt: Date.now(), ...(report ? { applied } : {}) };
  };

  const lane = { head, backlogDue: () => cloudSpeaks && Date.now() - lastBacklogAt >= pollMs, sealedSent: () => void wire.sealed++ };
  const readings = readingsLane(outbox, lane);
  const lanes: Lane[] = findings ? [findingsLane(findings, lane), readings] : [readings];

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

  /** One step; returns how long to wait before the next. */
  async function step(): Promise<number> {
    const open = breaker.wait(Date.now());
    if (open > 0) {
      state = 'circuit-open';
      return open;
    }
    const pace = pacer.delay(Date.now());
    if (pace > 0) return pace;
    const ready = (l: Lane, now: number) => !l.parked && l.notBefore <= now;
    for (const [i, lane] of lanes.entries()) {
      if (!ready(lane, Date.now())) continue;
      const built = await lane.build(opts.batchSize);
      if (!built) continue;
      state = 'sending';
      const startedAt = Date.now();
      const sent = await transport.post(built.batch, built.sealedSeries);
      // From the start of the send: the round trip is part of the time the bytes took.
      pacer.sent(sent.bytes, startedAt);
      wire.batches++;
      wire.bytes += sent.bytes;
      wire.records += built.records;
      if (sent.cloudSpeaks) cloudSpeaks = true;
      if (sent.clockOffsetMs !== undefined) clockOffsetMs = sent.clockOffsetMs;
      const delay = await settle(lane, built.batch, sent.delivery);
      // A short batch means this stream is drained for now; the next stream may still have some.
      if (delay === undefined) return built.full || i < lanes.length - 1 ? 0 : opts.intervalMs;
      // The cloud answered but this stream failed (a 5xx on its rows, a refusal): the other
      // stream goes on meanwhile instead of waiting behind it. A network failure stops both.
      const answered = sent.delivery.outcome !== 'retry' || sent.delivery.status !== null;
      const now = Date.now();
      if (delay > 0 && answered && lanes.some((l) => l !== lane && ready(l, now))) {
        lane.notBefore = now + delay;
        return 0;
      }
      return delay;
    }
    if (pushback && !pollUnsupported && reportDue()) return poll(pushback);
    state = lanes.some((l) => l.parked || l.blocked) ? 'blocked' : 'idle';
    if (lanes.every((l) => l.parked)) return pushback ? pollMs : Number.POSITIVE_INFINITY;
    const cooling = lanes.filter((l) => !l.parked && l.notBefore > Date.now()).map((l) => l.notBefore - Date.now());
    return Math.min(opts.intervalMs, ...cooling);
  }

  /** A caught-up edge asks for pushback; the cloud also takes it as a sign of life. */
  async function poll(channel: PushbackApplier): Promise<number> {
    const applied = channel.applied();
    const started = Date.now();
    let status: number;
    let reply: PollReply | undefined;
    try {
      const res = await transport.request('POST', '/v1/poll', { gateway: opts.gatewayId, sentAt: started, applied });
      status = res.status;
      if (res.cloudSpeaks) cloudSpeaks = true;
      if (status === 200) {
        let raw: unknown;
        try {
          raw = JSON.parse(res.body.toString('utf8'));
        } catch {
          raw = undefined;
        }
        const parsed = PollReply.safeParse(raw);
        // A 200 that is not a poll reply: something else answers /v1/poll (an older cloud).
        if (parsed.success) reply = parsed.data;
        else status = 400;
      }
    } catch (err) {
      const d = classifyNetworkError(err);
      return failed(d.outcome === 'retry' ? d.reason : String(err));
    }
    if (reply) {
      breaker.success();
      attempt = 0;
      lastExchangeAt = Date.now();
      lastApplied = JSON.stringify(applied);
      clockOffsetMs = reply.cloudTime - Math.round((started + lastExchangeAt) / 2);
      channel.reported(applied);
      if (reply.push) await channel.apply(reply.push);
      state = lanes.some((l) => l.parked || l.blocked) ? 'blocked' : 'idle';
      return opts.intervalMs;
    }
    // A cloud from before the channel (404), or one that does not take this edge's poll: readings
    // still flow (their batches carry the report), there is just no polling until a restart.
    if (status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status)) {
      pollUnsupported = true;
      telemetry.syncRetry(`poll: HTTP ${status}; not polling again until the agent restarts`, 0, opts.intervalMs);
      return opts.intervalMs;
    }
    return failed(`poll: HTTP ${status}`);
  }

  async function failed(reason: string): Promise<number> {
    await readings.recordError(reason);
    const now = Date.now();
    breaker.failure(now);
    const open = breaker.wait(now);
    const delay = open > 0 ? open : backoffDelay(attempt++, opts.backoff);
    telemetry.syncRetry(reason, attempt, delay);
    state = open > 0 ? 'circuit-open' : 'backing-off';
    return delay;
  }

  /** Acts on a delivery's outcome; undefined: accepted, carry on at the loop's pace. */
  async function settle(lane: Lane, batch: SyncBatch, d: Delivery): Promise<number | undefined> {
    const { firstSeq, lastSeq } = batch;
    lane.blocked = false;
    if (d.outcome === 'accepted') {
      attempt = 0;
      breaker.success();
      const historianLast = lane.lastSeq();
      if (d.reply.acceptedThrough > historianLast) {
        // The cloud holds more of this stream than this historian ever wrote: the historian was
        // replaced or restored. Advancing would silently skip what we have; stop and say so.
        await lane.recordError(
          `cloud watermark ${d.reply.acceptedThrough} is ahead of this historian (last ${lane.stream} seq ${historianLast}): was the historian file replaced or restored? data is kept locally`,
        );
        state = 'blocked';
        lane.blocked = true;
        return opts.backoff.capMs;
      }
      await lane.settle(d.reply.acceptedThrough);
      telemetry.syncDelivered(firstSeq, lastSeq, d.reply.written, d.reply.duplicate);
      if (batch.backlog) lastBacklogAt = Date.now();
      if (pushback && batch.applied) {
        lastExchangeAt = Date.now();
        lastApplied = JSON.stringify(batch.applied);
        pushback.reported(batch.applied);
        if (d.reply.push) await pushback.apply(d.reply.push);
      }
      return undefined;
    }
    if (d.outcome === 'retry' && d.rewindTo !== undefined) {
      // The cloud answered, so it is up; its watermark is the truth: resend from just above it.
      breaker.success();
      if (d.rewindTo === lane.ackedSeq()) {
        // Already there, and the batch still did not start just above it: the historian no
        // longer holds what comes next (retention removed it after the cloud had acknowledged
        // it, and then the cloud lost it). Resending at once would spin; say so and wait.
        await lane.recordError(
          `the cloud holds the ${lane.stream} stream through seq ${d.rewindTo}, but this historian no longer has seq ${d.rewindTo + 1} and on (removed after the cloud acknowledged them: was the cloud database restored from a backup?); ${d.reason}`,
        );
        state = 'blocked';
        lane.blocked = true;
        return opts.backoff.capMs;
      }
      telemetry.syncRewound(lane.ackedSeq(), d.rewindTo);
      await lane.settle(d.rewindTo);
      await lane.recordError(d.reason);
      return 0;
    }
    if (d.outcome === 'rejected') {
      breaker.success();
      // Not skipped: skipping would leave a gap the cloud refuses. Kept with its reason and
      // retried a few times (a cloud being upgraded may refuse for a moment), then not again
      // until the agent restarts: an operator must act, and the status says so.
      // By where the batch starts: on a caught-up gateway each resend carries the records that
      // arrived meanwhile, so its end (and the cloud's wording) may differ from try to try.
      const key = `${firstSeq}-${d.status}`;
      if (key !== lane.rejected.key) {
        await lane.reject({ firstSeq, lastSeq, status: d.status, reason: d.reason });
        telemetry.syncRejected(firstSeq, lastSeq, d.status, d.reason);
        lane.rejected = { key, tries: 0 };
      }
      lane.rejected.tries++;
      lane.parked = lane.rejected.tries > REJECTED_RETRIES;
      await lane.recordError(
        `rejected ${lane.stream} batch ${firstSeq}..${lastSeq}: ${d.reason}${lane.parked ? `; not sent again until the agent restarts (refused ${lane.rejected.tries} times)` : ''}`,
      );
      state = 'blocked';
      lane.blocked = true;
      // A parked stream steps aside; the loop goes on with the others (or waits for stop()).
      return lane.parked ? 0 : opts.backoff.capMs;
    }
    if (lane !== readings) await lane.recordError(d.reason);
    return failed(d.reason);
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
            await Promise.resolve(readings.recordError(`sync: ${(err as Error).message}`)).catch(() => undefined);
            delay = backoffDelay(attempt++, opts.backoff);
            telemetry.syncRetry((err as Error).message, attempt, delay);
          }
          if (running && delay === Number.POSITIVE_INFINITY) await parked();
          else if (running && delay > 0) await sleep(delay);
        }
        state = 'stopped';
        transport.close();
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
      const f = findings?.state();
      return {
        state,
        ackedSeq: s.ackedSeq,
        pendingRecords: s.pending,
        lagSeconds: lagOf(s.oldestPendingAt),
        lastSuccessAt: s.lastSuccessAt,
        lastError: s.lastError,
        clockOffsetMs,
        wire: { ...wire },
        breaker: breaker.status(),
        findings: f
          ? { ackedSeq: f.ackedSeq, pendingRecords: f.pending, lagSeconds: lagOf(f.oldestPendingAt), lastError: f.lastError, parked: lanes[0]!.parked }
          : null,
        pushback: pushback?.status() ?? null,
      };
    },
    reconfigure(settings) {
      if (settings.batchSize !== undefined) opts.batchSize = settings.batchSize;
      if (settings.intervalMs !== undefined) opts.intervalMs = settings.intervalMs;
      if (settings.maxBytesPerSecond !== undefined) {
        opts.maxBytesPerSecond = settings.maxBytesPerSecond;
        pacer = createPacer(settings.maxBytesPerSecond);
      }
    },
    async drained(timeoutMs) {
      await outbox.fileLanded?.();
      const target = outbox.state().lastSeq;
      const findingsTarget = findings?.state().lastSeq ?? 0;
      const done = () => outbox.state().ackedSeq >= target && (findings?.state().ackedSeq ?? 0) >= findingsTarget;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (done()) return true;
        wake?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      return done();
    },
  };
}

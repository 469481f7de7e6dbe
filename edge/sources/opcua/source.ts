import {
  AttributeIds,
  ClientMonitoredItemGroup,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  ClientSubscription,
  TimestampsToReturn,
  type ClientSession,
  type DataValue,
  type OPCUAClient,
} from 'node-opcua';
import { backoffDelay } from '../../../shared/backoff.js';
import { silentLogger, type Logger } from '../../../shared/log.js';
import { SensorId, type Reading } from '../../../shared/reading.js';
import type { Telemetry } from '../../telemetry/events.js';
import type { Sink, Source, SourceStatus } from '../types.js';
import { createBackfiller } from './backfill.js';
import { discoverVariables, operationLimit } from './browse.js';
import { createClient, identityOf } from './client.js';
import type { OpcuaSourceConfig } from './config.js';
import { numericValue, qualityOfStatus } from './decode.js';
import { explainConnectError } from './errors.js';
import { pinFirstUse } from './trust.js';

export interface OpcuaSourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
  /** Backfill summaries and certificate pins; absent: not logged. */
  log?: Logger;
}

/** Values held while the store refuses them; past this the oldest are shed (and counted). */
const MAX_BUFFER = 100_000;

/** How long each step of stop() may take before it is abandoned. */
const STOP_STEP_MS = 2000;

function withTimeout(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The staleness limit in effect: the configured one, or three publishing intervals but at least 10 s. 0: no watchdog. */
export function staleAfterMsOf(cfg: Pick<OpcuaSourceConfig, 'staleAfterMs' | 'publishingIntervalMs'>): number {
  return cfg.staleAfterMs ?? Math.max(3 * cfg.publishingIntervalMs, 10_000);
}

interface Item {
  nodeId: string;
  sensor: string;
  /** Set after the first value that is not a number: dead-lettered once, then ignored. */
  unusable: boolean;
}

/**
 * OPC-UA source: a session with one subscription over the configured or discovered variables.
 * Values are buffered for at most `flushMs` and committed in one transaction per flush.
 * Not guaranteed: OPC-UA has no acknowledgement, so values received in the last `flushMs`
 * before a crash are lost; so is what the server historized while the agent was down, since a
 * restarted source has no gap of its own to backfill.
 * start() returns at once and connects in the background; node-opcua reconnects with its own
 * backoff (`reconnect`) and transfers or re-creates the subscription. After a gap, what the
 * server kept of it is read back with HistoryRead (backfill.ts).
 *
 * Gaps (DESIGN guarantee 4): one is opened when the connection is lost, or when the staleness
 * watchdog sees no new value for `staleAfterMs` while connected (the source then goes offline
 * and re-creates its subscription, or reconnects from scratch if that fails). It starts at the
 * receive time of the last new value (or the loss, when none came) and is closed at the receive
 * time of the first new value after it. "New" means a source timestamp later than the last one
 * seen for that node: the current value a server sends for a freshly created monitored item is
 * not proof that values flow again. Not guaranteed: a server whose values really do not change
 * for longer than `staleAfterMs` is reported stale (the limit must exceed the slowest update).
 */
export function createOpcuaSource(cfg: OpcuaSourceConfig, deps: OpcuaSourceDeps): Source {
  const { telemetry } = deps;
  const st: SourceStatus = { name: cfg.name, type: 'opcua', state: 'starting', endpoint: cfg.endpointUrl, messages: 0, lastMessageAt: null, lastError: null };
  let client: OPCUAClient | undefined;
  let session: ClientSession | undefined;
  let subscription: ClientSubscription | undefined;
  let sink: Sink | undefined;
  let buffer: Reading[] = [];
  let timer: NodeJS.Timeout | undefined;
  let items: Item[] = [];
  let stopping = false;
  let connecting: Promise<void> | undefined;
  const staleAfterMs = staleAfterMsOf(cfg);
  let watchdog: NodeJS.Timeout | undefined;
  /** Receive time of the last new value, and of the last (re)connection: the watchdog counts from the later. */
  let lastFreshAt: number | null = null;
  let connectedAt = 0;
  /**
   * Source time of the last value per node, across reconnections (items are re-resolved), to
   * tell a new value from a resent one. The last, not the newest ever: a value stamped by the
   * server's clock (an initial value, a restart) can be ahead of the device's clock, and the
   * device's values after it would then all look old, leaving the gap open while values flow.
   */
  const lastTs = new Map<string, number>();
  /** The newest source time per node: where a backfill window starts (backfill.ts). */
  const newestTs = new Map<string, number>();
  let gapOpen: { start: number; reason: string } | null = null;
  let recovering = false;
  const log = deps.log ?? silentLogger;
  const backfill = createBackfiller(cfg, { telemetry, log, sink: () => sink, stopping: () => stopping, newest: () => newestTs });

  /** A gap marker or dead letter the store refuses is logged, never thrown into the value path. */
  function toStore(write: () => unknown): void {
    const failed = (err: unknown) => telemetry.storeWriteFailed(cfg.name, err, 0);
    try {
      void Promise.resolve(write()).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  function openGap(reason: string, now: number): void {
    if (gapOpen || !sink) return;
    const s = sink;
    const start = lastFreshAt ?? now;
    gapOpen = { start, reason };
    toStore(() => s.gap?.(cfg.name, { start, reason }));
    telemetry.gapRecorded(cfg.name, start, null, reason);
    backfill.gapOpened(start);
  }

  function closeGap(end: number): void {
    if (!gapOpen || !sink) return;
    const s = sink;
    const { start, reason } = gapOpen;
    gapOpen = null;
    toStore(() => s.closeGap?.(cfg.name, end));
    telemetry.gapRecorded(cfg.name, start, Math.max(end, start), reason);
    backfill.gapClosed(session, items, end);
  }

  /** Connected but silent: offline, a gap, and a fresh subscription (or a fresh connection). */
  function checkStale(): void {
    if (stopping || recovering || st.state !== 'connected') return;
    const now = Date.now();
    const since = Math.max(lastFreshAt ?? 0, connectedAt);
    if (now - since < staleAfterMs) return;
    st.state = 'offline';
    st.lastError = `no data for ${now - since} ms`;
    telemetry.sourceOffline(cfg.name, { url: cfg.endpointUrl, error: st.lastError, reason: 'stale' });
    openGap('stale', now);
    recovering = true;
    void resubscribe().finally(() => {
      recovering = false;
    });
  }

  async function resubscribe(): Promise<void> {
    const s = session;
    const old = subscription;
    subscription = undefined;
    await withTimeout(old?.terminate(), STOP_STEP_MS);
    try {
      if (!s || stopping) throw new Error('no session');
      const sub = await createSubscription(s);
      subscription = sub;
      if (items.length > 0) await monitor(sub);
      // Still 'offline' until a new value arrives: a re-created subscription is not data.
      // One may have arrived while the items were being created.
      if (!gapOpen && st.state === 'offline') {
        st.state = 'connected';
        st.lastError = null;
      }
    } catch (err) {
      if (stopping) return;
      st.lastError = `re-creating the subscription failed (${(err as Error).message}); reconnecting`;
      const c = client;
      client = undefined;
      session = undefined;
      subscription = undefined;
      await withTimeout(s?.close(), STOP_STEP_MS);
      await withTimeout(c?.disconnect(), STOP_STEP_MS);
      if (!stopping) connecting = connectLoop();
    }
  }

  const createSubscription = (s: ClientSession): Promise<ClientSubscription> =>
    s.createSubscription2({
      requestedPublishingInterval: cfg.publishingIntervalMs,
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });

  /** One attempt: client, session, subscription, monitored items. Cleans up what it made on failure. */
  async function connectOnce(): Promise<void> {
    const { client: c, certificates } = createClient(cfg, deps.gatewayId);
    client = c;
    c.on('connection_lost', () => {
      if (client !== c) return; // a client this source has since abandoned
      st.state = 'reconnecting';
      openGap('connection lost', Date.now());
      telemetry.sourceReconnecting(cfg.name, { url: cfg.endpointUrl });
    });
    c.on('connection_reestablished', () => {
      if (client !== c) return;
      st.state = 'connected';
      st.lastError = null;
      connectedAt = Date.now();
      telemetry.sourceConnected(cfg.name, { url: cfg.endpointUrl, reestablished: true });
    });
    c.on('backoff', (count, delay) => {
      st.lastError = `cannot connect (attempt ${count}); next try in ${delay} ms`;
    });
    // node-opcua retries a lost connection by itself; say why it keeps failing (a replaced server certificate, say).
    c.on('reconnection_attempt_has_failed', (err) => {
      if (client === c) st.lastError = explainConnectError(err, cfg);
    });
    try {
      await c.connect(cfg.endpointUrl);
      if (stopping) return;
      session = await c.createSession(identityOf(cfg));
      const pin = pinFirstUse(cfg, session.serverCertificate);
      if (pin) {
        // From now on only the trust list counts, also when this client reconnects by itself.
        certificates.automaticallyAcceptUnknownCertificate = false;
        log.info('opcua_server_certificate_pinned', { source: cfg.name, url: cfg.endpointUrl, sha1: pin.sha1 });
      }
      items = await resolveItems(session);
      subscription = await createSubscription(session);
      if (items.length > 0) await monitor(subscription);
      st.state = 'connected';
      st.lastError = null;
      connectedAt = Date.now();
      telemetry.sourceConnected(cfg.name, { url: cfg.endpointUrl, variables: items.length });
    } catch (err) {
      await withTimeout(session?.close(), STOP_STEP_MS);
      await withTimeout(c.disconnect(), STOP_STEP_MS);
      session = undefined;
      subscription = undefined;
      throw err;
    }
  }

  async function connectLoop(): Promise<void> {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        await connectOnce();
        return;
      } catch (err) {
        st.state = 'offline';
        st.lastError = explainConnectError(err, cfg);
        const delay = backoffDelay(attempt, cfg.reconnect);
        telemetry.sourceOffline(cfg.name, { url: cfg.endpointUrl, error: st.lastError, retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Creates the monitored items in calls of at most the server's MaxMonitoredItemsPerCall
   * (OperationLimits; 0 or unreadable: 1000), since a server refuses a larger call whole
   * (BadTooManyOperations) and PLCs often allow far fewer than a plant has tags.
   */
  async function monitor(sub: ClientSubscription): Promise<void> {
    const perCall = await operationLimit(sub.session, 'i=11714', 1000); // MaxMonitoredItemsPerCall
    for (let first = 0; first < items.length; first += perCall) await monitorSlice(sub, first, Math.min(items.length, first + perCall));
  }

  async function monitorSlice(sub: ClientSubscription, first: number, end: number): Promise<void> {
    const group = ClientMonitoredItemGroup.create(
      sub,
      items.slice(first, end).map((i) => ({ nodeId: i.nodeId, attributeId: AttributeIds.Value })),
      {
        samplingInterval: cfg.samplingIntervalMs,
        queueSize: cfg.queueSize,
        discardOldest: true,
        // StatusValueTimestamp: a reading that repeats the last value is still a reading.
        filter: new DataChangeFilter({
          trigger: DataChangeTrigger.StatusValueTimestamp,
          deadbandType: cfg.deadband ? DeadbandType[cfg.deadband.type] : DeadbandType.None,
          deadbandValue: cfg.deadband?.value ?? 0,
        }),
      },
      TimestampsToReturn.Both,
    );
    group.on('changed', (_item, dv, index) => {
      const item = items[first + index];
      if (item) onChange(item, dv);
    });
    // Monitored items are created on the server asynchronously; "connected" means values flow.
    await new Promise<void>((resolve, reject) => {
      group.once('initialized', () => resolve());
      group.once('err', (message: string) => reject(new Error(`monitored items: ${message}`)));
    });
  }

  /** One flush at a time: a commit still under way when the timer fires again is awaited, not doubled. */
  let flushing: Promise<void> | undefined;
  function flush(): Promise<void> {
    flushing ??= (async () => {
      if (!sink || buffer.length === 0) return;
      const batch = buffer;
      buffer = [];
      try {
        await sink.commit(cfg.name, batch);
      } catch (err) {
        // Keep the values for the next flush rather than dropping them; the buffer is bounded below.
        buffer = batch.concat(buffer);
        st.lastError = `store: ${(err as Error).message}`;
        telemetry.storeWriteFailed(cfg.name, err, cfg.flushMs);
      }
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  function onChange(item: Item, dv: DataValue): void {
    if (!sink || item.unusable) return;
    const receivedAt = Date.now();
    st.messages++;
    st.lastMessageAt = receivedAt;
    const ts = (dv.sourceTimestamp ?? dv.serverTimestamp)?.getTime() ?? receivedAt;
    const previous = lastTs.get(item.nodeId);
    lastTs.set(item.nodeId, ts);
    const newest = newestTs.get(item.nodeId);
    if (newest === undefined || ts > newest) newestTs.set(item.nodeId, ts);
    // A new value (not the current value resent for a new monitored item): reading works again.
    if (previous === undefined || ts > previous) {
      lastFreshAt = receivedAt;
      closeGap(receivedAt);
      if (st.state === 'offline' && !recovering) {
        st.state = 'connected';
        st.lastError = null;
        telemetry.sourceConnected(cfg.name, { url: cfg.endpointUrl, resumed: true });
      }
    }
    const value = numericValue(dv.value?.value);
    const quality = qualityOfStatus(dv.statusCode.value);
    if (value === undefined) {
      // A bad status usually comes without a value (a dropout): nothing to store, not malformed.
      if (quality === 'bad') return;
      item.unusable = true;
      const reason = `node ${item.nodeId} gives ${dv.value?.dataType ?? 'no'} values, not numbers; ignored from now on`;
      const s = sink;
      toStore(() => s.deadLetter(cfg.name, { topic: item.nodeId, reason, raw: Buffer.from(String(dv.value?.value).slice(0, 200)) }));
      telemetry.deadLettered(cfg.name, reason, item.nodeId);
      return;
    }
    buffer.push({ sensor: item.sensor, ts, value, quality, receivedAt });
    // Bounded: a store that refuses for long sheds the oldest values, counted as lost.
    if (buffer.length > MAX_BUFFER) {
      const shed = buffer.length - MAX_BUFFER;
      buffer.splice(0, shed);
      telemetry.readingsDropped(cfg.name, shed, 'store refused for too long: oldest buffered values shed');
    }
  }

  async function resolveItems(s: ClientSession): Promise<Item[]> {
    const out: Item[] = cfg.nodes.map((n) => ({ nodeId: n.nodeId, sensor: n.sensor, unusable: false }));
    if (cfg.browse) {
      const listed = new Set(out.map((i) => i.nodeId));
      for (const v of await discoverVariables(s, cfg.browse.root, cfg.browse.maxDepth)) {
        if (listed.has(v.nodeId)) continue;
        const sensor = SensorId.safeParse(cfg.browse.sensorPrefix + v.path.join('/'));
        if (sensor.success) out.push({ nodeId: v.nodeId, sensor: sensor.data, unusable: false });
        else st.lastError = `cannot make a sensor id of ${v.path.join('/')}`;
      }
    }
    return out;
  }

  return {
    name: cfg.name,
    async start(s) {
      sink = s;
      timer = setInterval(() => void flush(), cfg.flushMs);
      if (staleAfterMs > 0) watchdog = setInterval(checkStale, Math.max(50, Math.min(1000, Math.floor(staleAfterMs / 4))));
      // Connecting happens in the background: a PLC that is down must not hold up the agent or
      // the sources after this one. node-opcua retries the connection with its own backoff.
      connecting = connectLoop();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      if (watchdog) clearInterval(watchdog);
      // With the server gone these calls wait on a reconnection that may never come: bound them.
      if (!subscription) await withTimeout(client?.disconnect(), STOP_STEP_MS); // abandons a connect under way
      await withTimeout(connecting, STOP_STEP_MS);
      await withTimeout(backfill.idle(), STOP_STEP_MS); // it stops at the next page once `stopping` is set
      await withTimeout(subscription?.terminate(), STOP_STEP_MS);
      await withTimeout(flushing, STOP_STEP_MS);
      await withTimeout(flush(), STOP_STEP_MS);
      await withTimeout(session?.close(), STOP_STEP_MS);
      await withTimeout(client?.disconnect(), STOP_STEP_MS);
      st.state = 'stopped';
    },
    status: () => ({ ...st }),
  };
}

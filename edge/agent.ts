import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { listen, sendJson } from '../shared/http.js';
import type { Logger } from '../shared/log.js';
import { createMcpHttpHandler } from '../shared/mcp/http.js';
import { createAnalysisPool, type AnalysisPool } from './analysis/pool.js';
import { startAnomalyScheduler, type AnomalyScheduler, type AnomalySchedulerStatus } from './analysis/scheduler.js';
import type { EdgeConfig } from './config.js';
import { buildEdgeMcpServer } from './mcp/server.js';
import { openReadOnlyDb, type SqliteDb } from './store/db.js';
import { createOutbox } from './store/outbox.js';
import { createSealedStore } from './store/sealed.js';
import { createHistorianQueries } from './store/queries.js';
import { walPagesForBudget } from './store/budget.js';
import { startStoreWriter, type StoreWriter } from './store/writer.js';
import { createSource } from './sources/registry.js';
import type { Sink, Source, SourceStatus } from './sources/types.js';
import { createEventStore } from './store/events.js';
import { createSyncClient, type FindingsOutbox, type SyncClient, type SyncOutbox, type SyncStatus } from './sync/client.js';
import { createTransport, readTlsMaterial } from './sync/transport.js';
import { createPushbackApplier, liveSyncSettings } from './sync/pushback.js';
import { createPushbackStore } from './store/pushback-store.js';
import { RemoteSettings } from '../shared/pushback.js';
import { startHousekeeping, type DiskStatus } from './housekeeping.js';
import { monitorEventLoop, type EventLoopDelay } from './telemetry/event-loop.js';
import { createTelemetry, type Counters, type Telemetry } from './telemetry/events.js';

export interface AgentStatus {
  gateway: string;
  counters: Counters;
  storedReadings: number;
  deadLetters: number;
  sync: SyncStatus | null;
  sources: SourceStatus[];
  /** The disk budget: size, time until full, evictions (DESIGN guarantee 3). */
  disk: DiskStatus;
  /** This process's event-loop delay over the last complete 10 s window (null in the first). */
  eventLoop: EventLoopDelay | null;
  /** The anomaly scheduler: how far it has scored, open incidents, its last error. */
  analysis: AnomalySchedulerStatus;
}

export interface Agent {
  readonly mcpUrl: string;
  /** The historian file. */
  readonly historian: string;
  readonly writer: StoreWriter;
  readonly sources: readonly Source[];
  readonly telemetry: Telemetry;
  readonly sync: SyncClient | null;
  readonly analysis: AnalysisPool;
  /** Scores new readings and raises findings and alarms (edge/analysis/scheduler.ts). */
  readonly anomalies: AnomalyScheduler;
  status(): AgentStatus;
  /** For the MCP stdio transport: a server on the same read-only connection. */
  buildMcpServer(): ReturnType<typeof buildEdgeMcpServer>;
  stop(): Promise<void>;
}

export interface AgentDeps {
  log: Logger;
  version: string;
}

/** A model download may take this long (a few MB over a slow uplink). */
const MODEL_DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export const historianFile = (cfg: EdgeConfig): string => join(cfg.dataDir, 'historian.sqlite');

/**
 * Wires the stages by hand. Consumers start before producers (store → analysis → MCP → sync →
 * sources) so that nothing is read before there is somewhere to put it; stop runs in reverse
 * and drains. The analysis pool is only started and checked here; its scheduler comes later.
 */
export async function startAgent(cfg: EdgeConfig, deps: AgentDeps): Promise<Agent> {
  const log = deps.log.child({ gateway: cfg.gateway.id });
  const telemetry = createTelemetry(log);

  // Each stage, once started, pushes how to stop it; a failed start unwinds what had started.
  const started: { name: string; stop: () => Promise<void> | void }[] = [];
  const unwind = async () => {
    for (const s of started.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log.error('stop_failed', { stage: s.name, err });
      }
    }
    started.length = 0;
  };

  try {
    // The one writing connection lives on its own thread (edge/store/writer-worker.ts); this
    // thread reads through a read-only connection (status, MCP, the outbox's pending records).
    const loop = monitorEventLoop();
    started.push({ name: 'event-loop', stop: () => loop.stop() });
    const walPages = walPagesForBudget(cfg.store.budget);
    const writer = await startStoreWriter({
      file: historianFile(cfg),
      synchronous: cfg.store.synchronous,
      walPages,
      ...(cfg.sync.url ? { sealRecords: cfg.sync.batchSize } : {}),
    });
    started.push({ name: 'store', stop: () => writer.close() });
    const readDb: SqliteDb = openReadOnlyDb(writer.file);
    // Per connection: the status measures the log against the writer's setting.
    readDb.pragma(`wal_autocheckpoint = ${walPages}`);
    started.push({ name: 'read-db', stop: () => void readDb.close() });
    const readOutbox = createOutbox(readDb, { synchronous: cfg.store.synchronous });
    const readSealed = createSealedStore(readDb, readOutbox);
    const deadLetterCount = readDb.prepare<[], number>('SELECT count(*) FROM dead_letters').pluck();

    const housekeeping = startHousekeeping(cfg, writer, readDb, telemetry);
    started.push({ name: 'housekeeping', stop: () => housekeeping.stop() });
    const analysis = createAnalysisPool();
    started.push({ name: 'analysis', stop: () => analysis.close() });
    await analysis.selfCheck();
    const anomalies = startAnomalyScheduler({ readDb, write: writer.events, log });
    started.push({ name: 'anomalies', stop: () => anomalies.stop() });
    const queries = createHistorianQueries(readDb);
    const buildMcpServer = () => buildEdgeMcpServer({ queries, gatewayId: cfg.gateway.id, version: deps.version });

    let statusNow: (() => AgentStatus) | undefined;
    const http: Server = createServer();
    const mcp = createMcpHttpHandler({ buildServer: buildMcpServer, extraHosts: [cfg.mcp.http.host], log });
    http.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/mcp') void mcp(req, res);
      else if (path === '/healthz' && req.method === 'GET') {
        if (statusNow) sendJson(res, 200, { ok: true, ...statusNow() });
        else sendJson(res, 503, { ok: false, starting: true });
      } else sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'try POST /mcp or GET /healthz' } });
    });
    const port = await listen(http, cfg.mcp.http.host, cfg.mcp.http.port);
    started.push({
      name: 'http',
      stop: () => {
        http.closeAllConnections();
        return new Promise<void>((resolve) => http.close(() => resolve()));
      },
    });
    const host = cfg.mcp.http.host.includes(':') ? `[${cfg.mcp.http.host}]` : cfg.mcp.http.host;
    const mcpUrl = `http://${host}:${port}/mcp`;

    const syncOutbox: SyncOutbox = {
      next: (limit) => readOutbox.next(limit),
      span: (records) => readOutbox.span(records),
      state: () => readOutbox.state(),
      ...writer.outbox,
      fileLanded: () => writer.fileLanded(),
      sealed: (acked) => readSealed.take(acked),
    };
    const readEvents = createEventStore(readDb);
    const findingsOutbox: FindingsOutbox = {
      next: (limit) => readEvents.next(limit),
      state: () => readEvents.state(),
      settle: (seq) => writer.events.settle(seq),
      recordError: (m) => writer.events.recordError(m),
      reject: (b) => writer.events.reject(b),
    };
    // The remote settings in force (pushed by the cloud earlier) override the file's.
    const pushbackStore = createPushbackStore(readDb);
    const remote = RemoteSettings.safeParse(pushbackStore.remoteConfig().settings);
    let sync: SyncClient | null = null;
    if (cfg.sync.url && cfg.sync.token) {
      const tls = readTlsMaterial(cfg.sync.tls);
      const syncOptions = { ...cfg.sync, url: cfg.sync.url, token: cfg.sync.token, gatewayId: cfg.gateway.id, tls };
      const fileSync = { batchSize: cfg.sync.batchSize, intervalMs: cfg.sync.intervalMs, maxBytesPerSecond: cfg.sync.maxBytesPerSecond };
      const models = createTransport(syncOptions);
      const pushback = createPushbackApplier({
        store: pushbackStore,
        alarm: (id) => readEvents.alarm(id),
        write: { ...writer.pushback, recordAlarms: (a) => writer.events.recordAlarms(a) },
        dataDir: cfg.dataDir,
        // Its own timeout: a model is larger than a batch (sync.timeoutMs is per batch).
        download: (path) => models.request('GET', path, undefined, MODEL_DOWNLOAD_TIMEOUT_MS),
        // Each version is the whole set: what it leaves out goes back to the file's value.
        onSettings: (s) => sync?.reconfigure({ ...fileSync, ...liveSyncSettings(s) }),
        log,
      });
      started.push({
        name: 'pushback',
        stop: async () => {
          // Cuts a download under way (its file is renamed whole or not at all), then waits for it.
          models.close();
          await pushback.idle();
        },
      });
      sync = createSyncClient(syncOutbox, syncOptions, telemetry, findingsOutbox, pushback);
      if (remote.success) sync.reconfigure(liveSyncSettings(remote.data));
    }
    if (sync) {
      sync.start();
      started.push({ name: 'sync', stop: () => sync.stop() });
    }

    const sink: Sink = {
      async commit(source, readings) {
        const { written, duplicates } = await writer.commit(readings, source);
        telemetry.readingsCommitted(source, written);
        if (duplicates > 0) telemetry.duplicatesSkipped(source, duplicates);
      },
      deadLetter: (source, entry) => writer.deadLetter({ source, ...entry }),
      async gap(source, g) {
        await writer.recordGap(source, g);
      },
      async closeGap(source, end) {
        await writer.closeGap(source, end);
      },
      async gapBackfilled(source, g) {
        await writer.gapBackfilled(source, g.start, { outcome: g.outcome, values: g.values });
      },
    };
    const sources: Source[] = [];
    for (const c of cfg.sources) sources.push(await createSource(c, { gatewayId: cfg.gateway.id, telemetry, log }));
    for (const s of sources) {
      await s.start(sink);
      started.push({ name: `source ${s.name}`, stop: () => s.stop() });
    }

    const status = (): AgentStatus => {
      const o = readOutbox.state();
      return {
        gateway: cfg.gateway.id,
        counters: { ...telemetry.counters },
        // Every reading ever committed: those filed with a seq, and those landed since.
        storedReadings: o.lastSeq + o.landed,
        deadLetters: deadLetterCount.get() ?? 0,
        sync: sync?.status() ?? null,
        sources: sources.map((s) => s.status()),
        disk: housekeeping.disk(),
        eventLoop: loop.last(),
        analysis: anomalies.status(),
      };
    };
    statusNow = status;
    log.info('edge_started', { mcpUrl, historian: writer.file, sources: sources.map((s) => s.status().endpoint), sync: cfg.sync.url ?? null });

    return {
      mcpUrl,
      historian: writer.file,
      writer,
      sources,
      telemetry,
      sync,
      analysis,
      anomalies,
      status,
      buildMcpServer,
      async stop() {
        await unwind();
        log.info('edge_stopped', {});
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

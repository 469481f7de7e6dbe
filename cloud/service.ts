import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { CloudConfig } from '../shared/config.js';
import { listen, sendJson } from '../shared/http.js';
import type { Logger } from '../shared/log.js';
import { createMcpHttpHandler } from '../shared/mcp/http.js';
import { openDatabase, type Database } from './db/connect.js';
import { startJobRunner, type JobRunner } from './db/jobs.js';
import { migrate, type MigrationReport } from './db/migrate.js';
import { createIngestHandler } from './ingest/handler.js';
import { createPushbackHandler } from './ingest/pushback-handler.js';
import { buildCloudMcpServer } from './mcp/server.js';

export interface CloudService {
  port: number;
  /** http://host:port */
  url: string;
  mcpUrl: string;
  ingestUrl: string;
  db: Database;
  migrations: MigrationReport;
  /** The embedded database's TimescaleDB job runner (db/jobs.ts); absent on a server. */
  jobs?: JobRunner;
  stop(): Promise<void>;
}

export interface CloudDeps {
  log: Logger;
  now?: () => number;
}

/** In-flight requests get this long to finish when the service stops; then sockets are cut. */
const STOP_GRACE_MS = 5_000;

/**
 * The cloud service: database (opened and migrated), then one HTTP server with
 * `POST /v1/ingest`, `/mcp` (Streamable HTTP, stateless) and `GET /healthz`.
 * Stop order is the reverse: HTTP first (drain requests), then the database.
 */
export async function startCloud(config: CloudConfig, deps: CloudDeps): Promise<CloudService> {
  const log = deps.log;
  // Before the database: a missing certificate is a config error, found without side effects.
  const tls = config.tls ? readTls(config.tls) : undefined;
  const db = await openDatabase(config.database, log.child({ component: 'db' }));
  let migrations: MigrationReport;
  try {
    migrations = await migrate(db.pool, { timescale: db.timescale, log: log.child({ component: 'migrate' }) });
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }

  const ingest = createIngestHandler({ pool: db.pool, maxBodyBytes: config.ingest.maxBodyBytes, log, now: deps.now, copy: !db.embedded });
  const pushback = createPushbackHandler({ pool: db.pool, log, now: deps.now });
  // PGlite has no background workers: the policies of 003_rollups.sql run from here instead.
  const jobs = db.embedded && db.timescale ? startJobRunner(db.pool, log.child({ component: 'jobs' })) : undefined;
  const mcp = createMcpHttpHandler({
    buildServer: () => buildCloudMcpServer(db.pool, { timescale: db.timescale, now: deps.now, log }),
    log: log.child({ component: 'mcp' }),
  });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/v1/ingest') return ingest(req, res);
    if (path === '/v1/poll' || path?.startsWith('/v1/models/')) return pushback(req, res);
    if (path === '/mcp') return mcp(req, res);
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return health(db, res);
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${req.method ?? ''} ${path}; try POST /v1/ingest, POST /v1/poll, GET /v1/models/<name>/<version>, /mcp, GET /healthz` } });
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err: unknown) => {
      log.error('http_request_failed', { err, url: req.url });
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else res.destroy();
    });
  };

  let port: number;
  let server: Server;
  try {
    server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    port = await listen(server, config.http.host, config.http.port);
  } catch (err) {
    await jobs?.stop();
    await db.close().catch(() => {});
    throw err;
  }
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  log.info('cloud_started', { url, timescale: db.timescale, embedded: db.embedded, migrations, mtls: config.tls?.clientCa !== undefined });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await closeHttp(server);
      await jobs?.stop();
      await db.close();
      log.info('cloud_stopped', {});
    })());

  return { port, url, mcpUrl: `${url}/mcp`, ingestUrl: `${url}/v1/ingest`, db, migrations, ...(jobs ? { jobs } : {}), stop };
}

/**
 * The server's TLS options from the config's PEM files; a file that cannot be read fails the
 * start with its name. With clientCa, a client without a certificate signed by it is refused in
 * the TLS handshake, before any request is read.
 */
function readTls(tls: NonNullable<CloudConfig['tls']>): import('node:https').ServerOptions {
  const read = (key: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`tls.${key}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    ...(tls.clientCa ? { ca: read('clientCa', tls.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
  };
}

async function health(db: Database, res: ServerResponse): Promise<void> {
  try {
    await db.pool.query('SELECT 1');
    sendJson(res, 200, { ok: true, timescale: db.timescale });
  } catch (err) {
    sendJson(res, 503, { ok: false, timescale: db.timescale, error: (err as Error).message });
  }
}

/** Stops accepting, lets in-flight requests finish, cuts what is left after the grace period. */
function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

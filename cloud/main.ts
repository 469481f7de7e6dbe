/**
 * The cloud's command-line entry points; bin/millwright.ts wires them to commander. This is the
 * only cloud module that touches the process (streams, signals, exit codes). Each function
 * resolves with the exit code and also sets process.exitCode, so callers need not do anything.
 */
import { CloudConfig } from '../shared/config.js';
import { ConfigError, loadConfigFile, parseConfig } from '../shared/config-load.js';
import { createLogger, type Logger } from '../shared/log.js';
import { openDatabase, type Database } from './db/connect.js';
import { addGateway, GatewayError, listGateways, revokeGateway } from './db/gateways.js';
import { PushbackError } from './db/pushback.js';
import { DataDirInUseError } from './db/lockfile.js';
import { migrate } from './db/migrate.js';
import { serveCloudMcpStdio, type StdioMcp } from './mcp/stdio.js';
import { startCloud, type CloudService } from './service.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export interface RunCloudOptions {
  /** YAML file (CloudConfig); absent: every default (embedded database, 127.0.0.1:8810). */
  configPath?: string;
  /** Also serve the MCP tools on stdin/stdout (for a desktop MCP client that launches the cloud). */
  stdio?: boolean;
}

export async function runCloud(opts: RunCloudOptions): Promise<number> {
  const config = loadConfig(opts.configPath);
  if (typeof config === 'number') return config;
  const log = createLogger({ service: 'cloud' }, { level: config.log.level });
  let cloud: CloudService;
  try {
    cloud = await startCloud(config, { log });
  } catch (err) {
    return fail(err, log);
  }
  const mode = cloud.db.timescaleVersion ? `TimescaleDB ${cloud.db.timescaleVersion}` : 'plain PostgreSQL (no hypertables)';
  process.stderr.write(
    `millwright cloud listening on ${cloud.url}\n` +
      `  ingest:   POST ${cloud.ingestUrl}\n` +
      `  mcp:      ${cloud.mcpUrl}${opts.stdio ? ' (and stdio)' : ''}\n` +
      `  health:   ${cloud.url}/healthz\n` +
      `  database: ${cloud.db.embedded ? 'embedded PGlite' : 'server'}, ${mode}\n` +
      (cloud.migrations.skipped.length ? `  skipped migrations (need TimescaleDB): ${cloud.migrations.skipped.join(', ')}\n` : ''),
  );

  let stdio: StdioMcp | undefined;
  try {
    if (opts.stdio) stdio = await serveCloudMcpStdio(cloud.db.pool, { stdin: process.stdin, stdout: process.stdout }, { timescale: cloud.db.timescale, log });
  } catch (err) {
    await cloud.stop().catch(() => {});
    return fail(err, log);
  }

  let removeListeners = () => {};
  const reason = await new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(signal);
    const onStdinEnd = () => resolve('stdin closed');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // A desktop MCP client ends the session by closing our stdin.
    if (stdio) process.stdin.once('end', onStdinEnd);
    removeListeners = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdin.off('end', onStdinEnd);
    };
  });
  log.info('cloud_stopping', { reason });
  // A second Ctrl-C while draining means "now".
  const hurry = () => process.exit(130);
  process.once('SIGINT', hurry);
  try {
    await stdio?.close();
    await cloud.stop();
  } catch (err) {
    return fail(err, log);
  } finally {
    process.off('SIGINT', hurry);
    removeListeners();
  }
  return exit(EXIT_OK);
}

export interface GatewayAddOptions {
  configPath?: string;
  id: string;
  site: string;
}

/** Adds a gateway and prints its token on stdout, once: only its hash is stored. */
export async function gatewayAdd(opts: GatewayAddOptions): Promise<number> {
  return withDatabase(opts.configPath, async (db) => {
    const g = await addGateway(db.pool, { id: opts.id, site: opts.site });
    process.stdout.write(
      `Gateway "${g.id}" (site ${g.site}) added. Its token follows; it is stored hashed and cannot be shown again:\n${g.token}\n`,
    );
    return EXIT_OK;
  });
}

export async function gatewayList(opts: { configPath?: string; json?: boolean }): Promise<number> {
  return withDatabase(opts.configPath, async (db) => {
    const rows = await listGateways(db.pool);
    if (opts.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return EXIT_OK;
    }
    if (rows.length === 0) {
      process.stdout.write('No gateways. Add one with "millwright cloud gateway add --id <id> --site <site>".\n');
      return EXIT_OK;
    }
    const table = [
      ['ID', 'SITE', 'STATUS', 'LAST SEEN', 'CLOCK OFFSET MS', 'BACKLOG', 'VERSION'],
      ...rows.map((g) => [
        g.id,
        g.site,
        g.revokedAt ? `revoked ${g.revokedAt.toISOString()}` : 'active',
        g.lastSeenAt?.toISOString() ?? 'never',
        g.lastClockOffsetMs === null ? '-' : String(g.lastClockOffsetMs),
        g.lag === null ? '-' : `${g.lag.records} readings, ${formatSeconds(g.lag.seconds)}`,
        g.version ?? '-',
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    process.stdout.write(table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    return EXIT_OK;
  });
}

function formatSeconds(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export async function gatewayRevoke(opts: { configPath?: string; id: string }): Promise<number> {
  return withDatabase(opts.configPath, async (db) => {
    if (await revokeGateway(db.pool, opts.id)) {
      process.stdout.write(`Gateway "${opts.id}" revoked: its token no longer works. Its data stays in the cloud.\n`);
      return EXIT_OK;
    }
    process.stderr.write(`No active gateway "${opts.id}" (unknown, or already revoked). See "millwright cloud gateway list".\n`);
    return EXIT_FAILURE;
  });
}

function loadConfig(configPath: string | undefined): CloudConfig | number {
  try {
    return configPath === undefined ? parseConfig(CloudConfig, {}, '(defaults)') : loadConfigFile(CloudConfig, configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      return exit(EXIT_CONFIG);
    }
    throw err;
  }
}

export async function withDatabase(configPath: string | undefined, body: (db: Database) => Promise<number>): Promise<number> {
  const config = loadConfig(configPath);
  if (typeof config === 'number') return config;
  // Only warnings: stdout and stderr are for the person at the terminal here.
  const log = createLogger({ service: 'cloud' }, { level: 'warn' });
  let db: Database | undefined;
  try {
    db = await openDatabase(config.database, log);
    await migrate(db.pool, { timescale: db.timescale, log });
    return exit(await body(db));
  } catch (err) {
    return fail(err, log);
  } finally {
    await db?.close().catch(() => {});
  }
}

/** Known failures print their message; anything else is logged in full. */
function fail(err: unknown, log: Logger): number {
  if (err instanceof GatewayError || err instanceof DataDirInUseError || err instanceof PushbackError) process.stderr.write(`${err.message}\n`);
  else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') process.stderr.write(`${(err as Error).message}: the port is taken; set http.port (0 picks a free one)\n`);
  else log.error('cloud_failed', { err, stack: (err as Error).stack });
  return exit(EXIT_FAILURE);
}

function exit(code: number): number {
  process.exitCode = code;
  return code;
}

import { z } from 'zod';
import { GatewayId } from './sync.js';

/**
 * Config sections shared by edge and cloud, and the cloud config. Every object is strict
 * (unknown keys are an error, so a misspelt setting never silently falls back to its default)
 * and every field is described and defaulted. Nested sections use `prefault({})` so that an
 * absent section still gets its fields' defaults.
 */

export const LogLevel = z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('least severe log level printed');

export const Port = z.number().int().min(0).max(65535).describe('TCP port; 0 picks a free one');

export const HttpListen = (defaultPort: number) =>
  z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('address to bind; 127.0.0.1 keeps it on this machine'),
      port: Port.default(defaultPort),
    })
    .prefault({});

export const BackoffConfig = z
  .strictObject({
    baseMs: z.number().int().min(10).default(500).describe('first retry delay'),
    capMs: z.number().int().min(100).default(30_000).describe('longest retry delay'),
  })
  .prefault({});

export const GatewayIdentity = z.strictObject({
  id: GatewayId.describe('unique id of this gateway in the fleet, e.g. plant1-gw1'),
  site: z.string().min(1).max(64).describe('site (plant) the gateway belongs to'),
});

export const TlsServerConfig = z
  .strictObject({
    cert: z.string().min(1).describe('PEM file: the server certificate (with its chain)'),
    key: z.string().min(1).describe('PEM file: the server certificate\'s private key'),
    clientCa: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of the CA that signs client certificates: set it to require one from every client (mTLS); absent: no client certificates'),
  })
  .optional()
  .describe('serve HTTPS; absent: plain HTTP (keep it behind a TLS proxy or on a private network)');

export const CloudConfig = z.strictObject({
  http: HttpListen(8810).describe('ingest endpoint (/v1/ingest), MCP (/mcp) and /healthz'),
  tls: TlsServerConfig,
  database: z
    .strictObject({
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
        .optional()
        .describe('TimescaleDB or PostgreSQL server; absent: embedded PGlite with TimescaleDB under dataDir'),
      dataDir: z.string().default('./data/cloud/pglite').describe('embedded database directory'),
      poolSize: z.number().int().min(1).max(100).default(10).describe('connections to a server database (embedded: 1)'),
    })
    .prefault({}),
  ingest: z
    .strictObject({
      maxBodyBytes: z.number().int().min(1024).default(16 * 1024 * 1024).describe('largest accepted batch body, as sent and once inflated (gzip, deflate, br)'),
    })
    .prefault({}),
  log: z.strictObject({ level: LogLevel }).prefault({}),
});
export type CloudConfig = z.output<typeof CloudConfig>;

export const EXAMPLE_CLOUD_CONFIG = `# millwright cloud
http:
  host: 127.0.0.1
  port: 8810
database:
  # url: postgres://millwright@db.example:5432/millwright   # absent: embedded TimescaleDB
  dataDir: ./data/cloud/pglite
log:
  level: info
`;

import { z } from 'zod';
import { BackoffConfig, GatewayIdentity, HttpListen, LogLevel } from '../shared/config.js';
import { SourceConfig } from './sources/registry.js';
import { DiskBudgetConfig } from './store/budget.js';

export const SyncConfig = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\//, 'an http:// or https:// URL')
      .optional()
      .describe('cloud base URL (batches go to <url>/v1/ingest); absent: keep everything local'),
    token: z.string().min(1).optional().describe('this gateway\'s token, from `millwright cloud gateway add`'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(20_000)
      .describe('readings per batch at most; a backlog drains at ~2x the rate of 5,000 and at ~2 bytes a reading on the wire instead of ~4 (bench/sync-drain.ts)'),
    intervalMs: z.number().int().min(10).default(1000).describe('pause when nothing is pending'),
    timeoutMs: z.number().int().min(100).default(15_000).describe('per request'),
    compression: z
      .enum(['gzip', 'none'])
      .default('gzip')
      .describe('Content-Encoding of batches: gzip takes simulator data from ~29 to ~2.2 bytes per reading on the wire'),
    backoff: BackoffConfig,
    pollMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe('a caught-up gateway asks the cloud this often for what it pushes back (settings, models, acknowledgements)'),
    maxBytesPerSecond: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('bandwidth cap: average bytes per second of batches on the wire (as compressed); 0: no cap'),
    breaker: z
      .strictObject({
        failures: z.number().int().min(1).default(10).describe('failed deliveries in a row (network errors, 5xx) that open the circuit'),
        openMs: z.number().int().min(100).default(60_000).describe('how long an open circuit waits before one probe'),
      })
      .prefault({})
      .describe('circuit breaker: stop retrying a cloud that keeps failing, probe it now and then'),
    tls: z
      .strictObject({
        ca: z.string().min(1).optional().describe('PEM file of the CA that signed the cloud certificate (a private CA); absent: the system CAs'),
        cert: z.string().min(1).optional().describe('PEM file of this gateway\'s client certificate, for a cloud that requires one (mTLS)'),
        key: z.string().min(1).optional().describe('PEM file of the client certificate\'s private key'),
      })
      .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'tls.cert and tls.key go together' })
      .prefault({})
      .describe('for an https:// url; paths relative to the working directory'),
  })
  .refine((s) => s.url === undefined || s.token !== undefined, { message: 'sync.token is required when sync.url is set', path: ['token'] })
  .prefault({});

/** Retention by age per tier (edge/store/retention.ts); the disk budget is separate. */
export const RetentionConfig = z
  .strictObject({
    rawDays: z
      .number()
      .int()
      .min(1)
      .default(30)
      .describe('raw readings older than this (source time) are deleted, except those the cloud has not acknowledged yet'),
    rollup1mDays: z.number().int().min(1).default(180).describe('1-minute rollup buckets older than this are deleted'),
    rollup1hDays: z.number().int().min(1).default(3650).describe('1-hour rollup buckets older than this are deleted'),
    intervalMinutes: z.number().int().min(1).default(10).describe('how often retention runs (also once at start)'),
  })
  .prefault({})
  .describe('retention by age per tier');

export const EdgeConfig = z.strictObject({
  gateway: GatewayIdentity,
  dataDir: z.string().default('./data/edge').describe('historian directory (historian.sqlite lives here)'),
  store: z
    .strictObject({
      synchronous: z
        .enum(['normal', 'full'])
        .default('normal')
        .describe('normal: safe against a crash, a power cut may lose the last second; full: fsync per commit'),
      retention: RetentionConfig,
      budget: DiskBudgetConfig,
    })
    .prefault({}),
  sources: z.array(SourceConfig).min(1).describe('where readings come from'),
  sync: SyncConfig,
  mcp: z.strictObject({ http: HttpListen(8811) }).prefault({}),
  log: z.strictObject({ level: LogLevel }).prefault({}),
});
export type EdgeConfig = z.output<typeof EdgeConfig>;

export const EXAMPLE_EDGE_CONFIG = `# millwright edge agent
gateway:
  id: plant1-gw1
  site: plant1
dataDir: ./data/edge
store:
  synchronous: normal
  retention: { rawDays: 30, rollup1mDays: 180, rollup1hDays: 3650, intervalMinutes: 10 }
  budget: { maxMiB: 2048, lowWater: 0.9, thinUnsynced: false, checkIntervalSeconds: 60 }
sources:
  - type: mqtt
    name: line-broker
    # url: mqtt://127.0.0.1:1883    # absent: an embedded broker on 127.0.0.1:1884
    subscribe: ["factory/#"]
    topicPrefix: factory/
sync:
  url: http://127.0.0.1:8810
  token: mwg_replace-with-the-token-from-cloud-gateway-add
  batchSize: 20000
mcp:
  http: { host: 127.0.0.1, port: 8811 }
`;

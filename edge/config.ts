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
    batchSize: z.number().int().min(1).max(100_000).default(5000).describe('readings per batch'),
    intervalMs: z.number().int().min(10).default(1000).describe('pause when nothing is pending'),
    timeoutMs: z.number().int().min(100).default(15_000).describe('per request'),
    compression: z
      .enum(['gzip', 'none'])
      .default('gzip')
      .describe('Content-Encoding of batches: gzip takes simulator data from ~29 to ~2.2 bytes per reading on the wire'),
    backoff: BackoffConfig,
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
  batchSize: 5000
mcp:
  http: { host: 127.0.0.1, port: 8811 }
`;

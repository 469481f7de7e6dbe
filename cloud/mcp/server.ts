import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../../shared/log.js';
import { GatewayId } from '../../shared/sync.js';
import { Quality, SensorId } from '../../shared/reading.js';
import { listSensors } from '../db/sensors.js';
import { fleetOverview, ONLINE_WITHIN_MS } from './fleet.js';
import { getSensorHistory } from './history.js';
import { Instant, ToolInputError } from '../../shared/mcp/time-range.js';

export interface CloudMcpOptions {
  /** TimescaleDB present: downsample with time_bucket (otherwise date_bin, same buckets). */
  timescale?: boolean;
  now?: () => number;
  log?: Logger;
}

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const GatewayStatusShape = z.object({
  id: z.string(),
  site: z.string(),
  revoked: z.boolean(),
  lastSeen: z.string().nullable().describe('ISO time of the last batch, null if never'),
  online: z.boolean().describe(`a batch arrived within the last ${ONLINE_WITHIN_MS / 1000} s`),
  readings: z.number().int().describe('readings stored in the cloud'),
  watermarks: z.object({ readings: z.number().int(), findings: z.number().int() }).describe('highest sequence stored, per stream'),
  clockOffsetMs: z.number().nullable().describe('cloud time minus gateway time at the last batch (includes transit)'),
});

const PointShape = z.object({ ts: z.number().describe('epoch ms'), value: z.number(), quality: Quality });
const BucketShape = z.object({
  start: z.number().describe('bucket start, epoch ms'),
  count: z.number().int(),
  bad: z.number().int().describe('readings of quality "bad", left out of min/max/avg'),
  min: z.number().nullable(),
  max: z.number().nullable(),
  avg: z.number().nullable(),
});

/** The fleet-wide MCP tools, read-only, over the cloud database. */
export function buildCloudMcpServer(pool: pg.Pool, opts: CloudMcpOptions = {}): McpServer {
  const now = opts.now ?? Date.now;
  const server = new McpServer({ name: 'millwright-cloud', version: '0.1.0' });

  server.registerTool(
    'fleet_overview',
    {
      title: 'Fleet overview',
      description:
        'Every gateway in the fleet: site, when it last synced, whether it is online, readings stored, ' +
        'the highest sequence stored per stream, and how far its clock is from the cloud clock.',
      inputSchema: {},
      outputSchema: {
        now: z.string(),
        gateways: z.array(GatewayStatusShape),
        totals: z.object({ gateways: z.number().int(), online: z.number().int(), readings: z.number().int() }),
      },
      annotations: READ_ONLY,
    },
    async () =>
      answer(opts.log, async () => {
        const fleet = await fleetOverview(pool, now());
        const lines = fleet.gateways.map(
          (g) =>
            `- ${g.id} (site ${g.site})${g.revoked ? ' REVOKED' : ''}: ${g.online ? 'online' : 'offline'}, ` +
            `last seen ${g.lastSeen ?? 'never'}, ${g.readings} readings, ` +
            `watermarks readings=${g.watermarks.readings} findings=${g.watermarks.findings}` +
            (g.clockOffsetMs === null ? '' : `, clock offset ${g.clockOffsetMs} ms`),
        );
        const head = `${fleet.totals.gateways} gateways, ${fleet.totals.online} online, ${fleet.totals.readings} readings in the cloud.`;
        return { text: [head, ...lines].join('\n'), structured: { ...fleet } };
      }),
  );

  server.registerTool(
    'list_sensors',
    {
      title: 'List sensors',
      description:
        'Sensor ids the cloud holds readings for (Unified-Namespace paths such as acme/plant1/press-line/press-3/vibration_rms), ' +
        'with their gateway, first and last reading time and reading count. Filter by gateway, id prefix or a word in the id.',
      inputSchema: {
        gateway: GatewayId.optional().describe('only this gateway'),
        prefix: z.string().max(256).optional().describe('ids starting with this, e.g. "acme/plant1/"'),
        contains: z.string().max(256).optional().describe('ids containing this, e.g. "vibration"'),
        limit: z.number().int().min(1).max(5000).default(500).describe('most sensors returned (default 500)'),
      },
      outputSchema: {
        sensors: z.array(
          z.object({ sensor: z.string(), gateway: z.string(), first: z.string(), last: z.string(), readings: z.number().int() }),
        ),
        truncated: z.boolean().describe('more sensors match than were returned'),
      },
      annotations: READ_ONLY,
    },
    async (args) =>
      answer(opts.log, async () => {
        const rows = await listSensors(pool, { ...args, limit: args.limit + 1 });
        const truncated = rows.length > args.limit;
        const sensors = rows.slice(0, args.limit).map((r) => ({
          sensor: r.sensor,
          gateway: r.gateway,
          first: new Date(r.firstMs).toISOString(),
          last: new Date(r.lastMs).toISOString(),
          readings: r.readings,
        }));
        const head = `${sensors.length}${truncated ? '+' : ''} sensors.`;
        const lines = sensors.map((s) => `- ${s.sensor} (gateway ${s.gateway}): ${s.readings} readings, ${s.first} .. ${s.last}`);
        return { text: [head, ...lines].join('\n'), structured: { sensors, truncated } };
      }),
  );

  server.registerTool(
    'get_sensor_history',
    {
      title: 'Sensor history',
      description:
        'Readings of one sensor over a time range. With neither from nor to: all of its history; with only from: until now; ' +
        'with only to: the 24 hours before it. When the range holds at most maxPoints readings they are returned raw ' +
        '(points: ts, value, quality); otherwise they are downsampled into at most maxPoints equal time buckets ' +
        '(buckets: start, count, min, max, avg; "bad" readings are counted but left out of min/max/avg).',
      inputSchema: {
        sensor: SensorId.describe('sensor id, e.g. acme/plant1/press-line/press-3/vibration_rms (see list_sensors)'),
        gateway: GatewayId.optional().describe('only readings from this gateway; default: every gateway that sent this sensor'),
        from: Instant.optional().describe('start, inclusive: ISO 8601 time or epoch milliseconds'),
        to: Instant.optional().describe('end, inclusive: ISO 8601 time or epoch milliseconds'),
        maxPoints: z.number().int().min(1).max(10_000).default(1000).describe('most points or buckets returned (default 1000, max 10000)'),
      },
      outputSchema: {
        sensor: z.string(),
        gateways: z.array(z.string()),
        from: z.string().nullable(),
        to: z.string().nullable(),
        downsampled: z.boolean(),
        count: z.number().int().describe('readings in the range'),
        points: z.array(PointShape).optional(),
        bucketMs: z.number().int().optional().describe('bucket width when downsampled'),
        buckets: z.array(BucketShape).optional(),
      },
      annotations: READ_ONLY,
    },
    async (args) =>
      answer(opts.log, async () => {
        const history = await getSensorHistory(pool, args, { timescale: opts.timescale ?? false, nowMs: now() });
        const span = `${history.from ?? 'the beginning'} .. ${history.to ?? 'the latest reading'}`;
        const head = history.downsampled
          ? `${history.count} readings of ${history.sensor} in ${span}, downsampled into ${history.buckets?.length ?? 0} buckets of ${history.bucketMs} ms.`
          : `${history.count} readings of ${history.sensor} in ${span}.`;
        return { text: `${head}\n${JSON.stringify(history)}`, structured: { ...history } };
      }),
  );

  return server;
}

/**
 * Runs a tool body. A ToolInputError is the caller's mistake and goes back as a tool error with
 * its message; anything else is ours: logged, and reported as a failure of the cloud.
 */
async function answer(
  log: Logger | undefined,
  body: () => Promise<{ text: string; structured: Record<string, unknown> }>,
): Promise<CallToolResult> {
  try {
    const { text, structured } = await body();
    return { content: [{ type: 'text', text }], structuredContent: structured };
  } catch (err) {
    if (err instanceof ToolInputError) return { isError: true, content: [{ type: 'text', text: err.message }] };
    log?.error('mcp_tool_failed', { err });
    return { isError: true, content: [{ type: 'text', text: `the cloud could not answer: ${(err as Error).message}` }] };
  }
}

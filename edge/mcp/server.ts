import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { chooseBucketWidth, Instant, resolveRange, ToolInputError } from '../../shared/mcp/time-range.js';
import { Quality } from '../../shared/reading.js';
import type { HistorianQueries } from '../store/queries.js';

export interface EdgeMcpDeps {
  queries: HistorianQueries;
  gatewayId: string;
  version: string;
}

const SensorRow = z.object({
  sensor: z.string(),
  firstSeen: z.number().describe('ms since epoch'),
  latest: z.object({ ts: z.number(), value: z.number(), quality: Quality }).nullable(),
});

const Point = z.object({ ts: z.number(), value: z.number(), quality: Quality });
const Bucket = z.object({
  start: z.number(),
  count: z.number(),
  bad: z.number().describe('readings of quality bad: counted, left out of min/max/avg'),
  min: z.number().nullable(),
  max: z.number().nullable(),
  avg: z.number().nullable(),
});

/** Answers a tool call, turning a bad argument into a tool error the assistant can act on. */
function answer<T extends Record<string, unknown>>(run: () => { data: T; text: string }): CallToolResult {
  try {
    const { data, text } = run();
    return { structuredContent: data, content: [{ type: 'text', text }] };
  } catch (err) {
    if (err instanceof ToolInputError) return { isError: true, content: [{ type: 'text', text: err.message }] };
    throw err;
  }
}

const fmt = (ms: number) => new Date(ms).toISOString();

/** The floor's MCP server: answers from the local historian, so it works with no internet. */
export function buildEdgeMcpServer(deps: EdgeMcpDeps): McpServer {
  const server = new McpServer({ name: 'millwright-edge', version: deps.version });
  const { queries } = deps;

  server.registerTool(
    'list_sensors',
    {
      title: 'List sensors',
      description: `Sensors known to gateway ${deps.gatewayId}, with their latest value. Filter by a path prefix such as "acme/plant1/line-1/"; page with the returned cursor.`,
      inputSchema: {
        prefix: z.string().max(256).optional().describe('only sensors whose id starts with this'),
        limit: z.number().int().min(1).max(1000).default(200),
        cursor: z.string().max(256).optional().describe('nextCursor from a previous call'),
      },
      outputSchema: { sensors: z.array(SensorRow), nextCursor: z.string().nullable() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ prefix, limit, cursor }) =>
      answer(() => {
        const after = cursor === undefined ? '' : Buffer.from(cursor, 'base64url').toString('utf8');
        const page = queries.listSensors({ prefix, limit: limit + 1, after });
        const sensors = page.slice(0, limit);
        const nextCursor = page.length > limit ? Buffer.from(sensors[sensors.length - 1]!.sensor).toString('base64url') : null;
        const lines = sensors.map((s) =>
          s.latest ? `${s.sensor} = ${s.latest.value} (${s.latest.quality}, ${fmt(s.latest.ts)})` : `${s.sensor} (no readings)`,
        );
        const text = `${sensors.length} sensor(s)${nextCursor ? ' (more: pass nextCursor)' : ''}\n${lines.join('\n')}`;
        return { data: { sensors, nextCursor }, text };
      }),
  );

  server.registerTool(
    'get_sensor_history',
    {
      title: 'Sensor history',
      description:
        'Readings of one sensor over a time range. With neither from nor to: all of its history; with only from: until now; with only to: the 24 hours before it. Up to maxPoints raw readings are returned as they are; longer ranges come back as time buckets with min, max, avg and count, so spikes stay visible.',
      inputSchema: {
        sensor: z.string().min(1).max(256).describe('sensor id, as list_sensors shows it'),
        from: Instant.optional().describe('start, inclusive: ISO 8601 time or epoch milliseconds'),
        to: Instant.optional().describe('end, inclusive: ISO 8601 time or epoch milliseconds'),
        maxPoints: z.number().int().min(1).max(10_000).default(1000),
      },
      outputSchema: {
        sensor: z.string(),
        from: z.number(),
        to: z.number(),
        count: z.number().describe('readings in the range'),
        downsampled: z.boolean(),
        bucketMs: z.number().optional(),
        points: z.array(Point).optional(),
        buckets: z.array(Bucket).optional(),
        gaps: z
          .array(
            z.object({
              source: z.string(),
              start: z.number(),
              end: z.number().nullable(),
              reason: z.string(),
              backfill: z
                .object({ outcome: z.string(), values: z.number() })
                .nullable()
                .describe("read back afterwards from the source's history: complete, partial, unsupported or failed"),
            }),
          )
          .describe("spans in the range when this sensor's source could read nothing (connection lost, or silent); end null: still going"),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      answer(() => {
        const { fromMs, toMs } = resolveRange(args.from, args.to, Date.now());
        if (!queries.sensorExists(args.sensor)) {
          throw new ToolInputError(`unknown sensor "${args.sensor}": call list_sensors (optionally with a prefix) to see the sensor ids`);
        }
        const h = queries.history({
          sensor: args.sensor,
          from: fromMs ?? undefined,
          to: toMs ?? undefined,
          maxPoints: args.maxPoints,
          bucketWidth: chooseBucketWidth,
        });
        const gaps = queries.gaps(args.sensor, h.from, h.to);
        const gapText = gaps.map((g) => `\nno data from source ${g.source} ${fmt(g.start)} → ${g.end === null ? 'now' : fmt(g.end)} (${g.reason}${g.backfill ? `; backfill ${g.backfill.outcome}, ${g.backfill.values} values` : ''})`).join('');
        const text = h.downsampled
          ? `${h.sensor}: ${h.count} readings in ${h.buckets.length} buckets of ${h.bucketMs} ms\n` +
            h.buckets.map((b) => `${fmt(b.start)} min ${b.min} max ${b.max} avg ${b.avg?.toFixed(4) ?? '-'} n ${b.count}${b.bad ? ` (bad ${b.bad})` : ''}`).join('\n')
          : `${h.sensor}: ${h.count} readings\n` + h.points.map((p) => `${fmt(p.ts)} ${p.value} ${p.quality}`).join('\n');
        return { data: { ...h, gaps }, text: text + gapText };
      }),
  );

  return server;
}

import { z } from 'zod';
import { Port } from '../../../shared/config.js';
import { DEFAULT_TOPIC_PREFIX } from '../../../shared/mqtt-json.js';
import { SPARKPLUG_NAMESPACE } from '../../../shared/sparkplug/topic.js';
import { checkSensorIdPattern, parseTopicTemplate, templateFilter } from './decode.js';

const JsonPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'a dotted path such as data.temp or readings.0.v');

/** format json: where the reading is in a payload (absent: the strict {"ts","value","quality"?} payload). */
export const JsonPayloadMapping = z.strictObject({
  value: JsonPath.describe('path to the value; must be a finite JSON number (a numeric string is dead-lettered)'),
  ts: JsonPath.describe('path to the source timestamp, in tsUnit'),
  tsUnit: z.enum(['ms', 's', 'iso']).default('ms').describe('ms or s since epoch (numbers), or iso: an ISO 8601 string with Z or ±hh:mm'),
  quality: JsonPath.optional().describe('path to "good" | "uncertain" | "bad"; missing in a payload: good'),
  array: JsonPath.optional().describe('path to an array of readings, each mapped with the paths above; absent: a root array is a batch'),
});

const TopicTemplateString = z.string().superRefine((s, ctx) => {
  const t = parseTopicTemplate(s);
  if (!t.ok) ctx.addIssue({ code: 'custom', message: `not a topic template (+name: one level, #name: the rest, literal levels must match): ${t.reason}` });
});

export const MqttSourceConfig = z.strictObject({
  type: z.literal('mqtt'),
  name: z.string().min(1).max(64).default('mqtt').describe('name of this source in logs and status'),
  url: z
    .string()
    .regex(/^(mqtts?|tcp|ssl):\/\/[^/]/, 'an mqtt:// or mqtts:// URL (MQTT over TCP or TLS; WebSocket is not supported)')
    .optional()
    .describe('broker to subscribe to; absent: the agent runs an embedded broker (embeddedBroker)'),
  embeddedBroker: z
    .strictObject({
      host: z.string().default('127.0.0.1').describe('address the embedded broker binds'),
      port: Port.default(1884).describe('port of the embedded broker (1883 is usually a real broker)'),
    })
    .prefault({})
    .describe('used only when url is absent'),
  clientId: z.string().min(1).max(128).optional().describe('MQTT client id; default millwright-<gateway id>-<name>'),
  username: z.string().optional(),
  password: z.string().optional(),
  format: z
    .enum(['json', 'sparkplug'])
    .default('json')
    .describe('json: <topicPrefix><sensor id> with {"ts","value"} payloads; sparkplug: Sparkplug B 3.0 (protobuf, births, aliases, deaths)'),
  subscribe: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe(`topic filters; default ["${DEFAULT_TOPIC_PREFIX}#"] for json, ["${SPARKPLUG_NAMESPACE}/#"] for sparkplug (see subscriptions())`),
  topicPrefix: z.string().default(DEFAULT_TOPIC_PREFIX).describe('json: removed from the topic to give the sensor id (unless topicTemplate is set)'),
  topicTemplate: TopicTemplateString.optional().describe(
    'json: e.g. plant/+line/+machine/+sensor; +name captures one level, #name (last) one or more, literal levels must match; replaces topicPrefix, and gives the default subscription',
  ),
  sensorId: z.string().min(1).optional().describe('json, with topicTemplate: the sensor id from the captures, e.g. acme/plant1/{line}/{machine}/{sensor}'),
  json: JsonPayloadMapping.optional().describe('json: payload mapping; absent: {"ts","value","quality"?} or an array of them'),
  sparkplug: z
    .strictObject({
      sensorPrefix: z
        .string()
        .default('')
        .describe("sparkplug: put before <group>/<node>/<device>/<metric> when a metric's BIRTH has no valid sensorId property"),
    })
    .prefault({})
    .describe('used only when format is sparkplug'),
  keepaliveSec: z.number().int().min(5).max(600).default(30),
  maxInFlight: z
    .number()
    .int()
    .min(1)
    .max(65_535)
    .default(1000)
    .describe('with url: most messages received and not yet committed and acknowledged; beyond it the agent stops reading and the broker holds the rest'),
  maxPayloadBytes: z.number().int().min(64).default(256 * 1024).describe('larger messages are dead-lettered'),
  reconnect: z
    .strictObject({
      baseMs: z.number().int().min(10).default(200).describe('first retry delay'),
      capMs: z
        .number()
        .int()
        .min(100)
        .default(2000)
        .describe('longest retry delay; keep it ≤ 2000 for ingestion to resume within 5 s of a broker restart (DESIGN guarantee 4)'),
    })
    .prefault({})
    .describe('retry delays (jittered) while the broker is unreachable; a line broker is local to its gateway, so retrying often is cheap'),
}).superRefine((cfg, ctx) => {
  if (cfg.format !== 'json') {
    for (const key of ['topicTemplate', 'sensorId', 'json'] as const) {
      if (cfg[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only for format: json' });
    }
    return;
  }
  if ((cfg.topicTemplate === undefined) !== (cfg.sensorId === undefined)) {
    const missing = cfg.topicTemplate === undefined ? 'topicTemplate' : 'sensorId';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'topicTemplate and sensorId go together (e.g. plant/+line/+sensor and acme/{line}/{sensor})' });
    return;
  }
  if (cfg.topicTemplate === undefined || cfg.sensorId === undefined) return;
  const t = parseTopicTemplate(cfg.topicTemplate);
  if (!t.ok) return; // reported on the field
  const problem = checkSensorIdPattern(cfg.sensorId, t.template);
  if (problem) ctx.addIssue({ code: 'custom', path: ['sensorId'], message: `not a sensor id pattern: ${problem}` });
});
export type MqttSourceConfig = z.output<typeof MqttSourceConfig>;

/**
 * The topic filters the source subscribes to: `subscribe` when given, else the format's default.
 * (A default that depends on `format` is resolved here rather than in the schema, so the schema
 * stays a plain object in the registry's discriminated union.)
 */
export function subscriptions(cfg: Pick<MqttSourceConfig, 'format' | 'subscribe'> & { topicTemplate?: string | undefined }): string[] {
  if (cfg.subscribe) return cfg.subscribe;
  if (cfg.format === 'sparkplug') return [`${SPARKPLUG_NAMESPACE}/#`];
  const t = cfg.topicTemplate === undefined ? undefined : parseTopicTemplate(cfg.topicTemplate);
  return t?.ok ? [templateFilter(t.template)] : [`${DEFAULT_TOPIC_PREFIX}#`];
}

/** Parsed by a test, so it cannot drift from the schema. */
export const EXAMPLE_MQTT_SOURCE = `
- type: mqtt
  name: line-broker
  url: mqtt://127.0.0.1:1883      # absent: an embedded broker on embeddedBroker.port
  subscribe: ["factory/#"]
  topicPrefix: factory/           # factory/acme/plant1/line-1/pump-1/flow -> acme/plant1/line-1/pump-1/flow
  maxPayloadBytes: 262144
  reconnect: { baseMs: 200, capMs: 2000 }
`;

/** Devices that publish their own JSON on their own topics. Parsed by a test. */
export const EXAMPLE_MQTT_MAPPED_SOURCE = `
- type: mqtt
  name: line-devices
  url: mqtt://127.0.0.1:1883
  topicTemplate: plant/+line/+machine/+sensor     # subscribe defaults to ["plant/+/+/+"]
  sensorId: acme/plant1/{line}/{machine}/{sensor} # plant/line-1/pump-1/flow -> acme/plant1/line-1/pump-1/flow
  json:                                           # {"data":{"v":3.5,"t":1763798400}}
    value: data.v
    ts: data.t
    tsUnit: s                                     # ms | s | iso
    # array: readings                             # {"readings":[{...},{...}]}: one reading per item
`;

/** A Sparkplug B host on the line's broker. Parsed by a test. */
export const EXAMPLE_SPARKPLUG_SOURCE = `
- type: mqtt
  name: sparkplug
  url: mqtt://127.0.0.1:1883
  format: sparkplug               # subscribe defaults to ["spBv1.0/#"]
  subscribe: ["spBv1.0/plant1/#"] # one group only
  sparkplug:
    sensorPrefix: acme/           # metrics without a sensorId property: acme/<group>/<node>/<device>/<metric>
`;

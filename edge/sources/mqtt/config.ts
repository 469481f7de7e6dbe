import { z } from 'zod';
import { BackoffConfig, Port } from '../../../shared/config.js';
import { DEFAULT_TOPIC_PREFIX } from '../../../shared/mqtt-json.js';
import { SPARKPLUG_NAMESPACE } from '../../../shared/sparkplug/topic.js';

export const MqttSourceConfig = z.strictObject({
  type: z.literal('mqtt'),
  name: z.string().min(1).max(64).default('mqtt').describe('name of this source in logs and status'),
  url: z
    .string()
    .regex(/^(mqtts?|wss?|tcp):\/\//, 'an mqtt://, mqtts://, ws:// or wss:// URL')
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
  topicPrefix: z.string().default(DEFAULT_TOPIC_PREFIX).describe('json: removed from the topic to give the sensor id'),
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
  maxPayloadBytes: z.number().int().min(64).default(256 * 1024).describe('larger messages are dead-lettered'),
  reconnect: BackoffConfig,
});
export type MqttSourceConfig = z.output<typeof MqttSourceConfig>;

/**
 * The topic filters the source subscribes to: `subscribe` when given, else the format's default.
 * (A default that depends on `format` is resolved here rather than in the schema, so the schema
 * stays a plain object in the registry's discriminated union.)
 */
export function subscriptions(cfg: Pick<MqttSourceConfig, 'format' | 'subscribe'>): string[] {
  return cfg.subscribe ?? (cfg.format === 'sparkplug' ? [`${SPARKPLUG_NAMESPACE}/#`] : [`${DEFAULT_TOPIC_PREFIX}#`]);
}

/** Parsed by a test, so it cannot drift from the schema. */
export const EXAMPLE_MQTT_SOURCE = `
- type: mqtt
  name: line-broker
  url: mqtt://127.0.0.1:1883      # absent: an embedded broker on embeddedBroker.port
  subscribe: ["factory/#"]
  topicPrefix: factory/           # factory/acme/plant1/line-1/pump-1/flow -> acme/plant1/line-1/pump-1/flow
  maxPayloadBytes: 262144
  reconnect: { baseMs: 500, capMs: 30000 }
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

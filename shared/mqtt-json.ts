import { z } from 'zod';
import { EpochMs, Quality } from './reading.js';

/**
 * The plain JSON MQTT payload that the simulator publishes and the edge's MQTT source decodes by
 * default. The sensor id comes from the topic: `<topicPrefix><sensor id>`, e.g.
 * `factory/acme/plant1/press-line/press-3/vibration_rms`. A payload is one reading or an array of
 * readings of that sensor (batching many readings into one message lifts the broker's
 * messages-per-second ceiling).
 */
export const MqttJsonReading = z.strictObject({
  ts: EpochMs.describe('source timestamp, ms since epoch'),
  value: z.number().finite(),
  quality: Quality.optional(),
});
export type MqttJsonReading = z.infer<typeof MqttJsonReading>;

export const MqttJsonPayload = z.union([MqttJsonReading, z.array(MqttJsonReading).min(1).max(10_000)]);
export type MqttJsonPayload = z.infer<typeof MqttJsonPayload>;

export const DEFAULT_TOPIC_PREFIX = 'factory/';

import { MqttJsonPayload } from '../../../shared/mqtt-json.js';
import { SensorId, type Reading } from '../../../shared/reading.js';
import { describeIssues } from '../../../shared/config-load.js';

export type Decoded = { ok: true; readings: Reading[] } | { ok: false; reason: string };

/**
 * Turns one MQTT message into readings, or a reason it cannot. Pure: the caller decides what
 * to do with a failure (dead-letter it and go on).
 */
export function decodeMessage(topic: string, payload: Uint8Array, opts: { topicPrefix: string; maxPayloadBytes: number; receivedAt: number }): Decoded {
  if (!topic.startsWith(opts.topicPrefix)) return { ok: false, reason: `topic does not start with "${opts.topicPrefix}"` };
  const sensor = SensorId.safeParse(topic.slice(opts.topicPrefix.length));
  if (!sensor.success) return { ok: false, reason: `topic does not name a sensor: ${sensor.error.issues[0]?.message ?? 'invalid'}` };
  if (payload.length > opts.maxPayloadBytes) return { ok: false, reason: `payload of ${payload.length} bytes is over the ${opts.maxPayloadBytes}-byte limit` };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const parsed = MqttJsonPayload.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `payload is not a reading: ${describeIssues(parsed.error.issues).slice(0, 3).join('; ')}` };
  const items = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  return {
    ok: true,
    readings: items.map((r) => ({ sensor: sensor.data, ts: r.ts, value: r.value, quality: r.quality ?? 'good', receivedAt: opts.receivedAt })),
  };
}

/** MQTT topic filter matching (MQTT 3.1.1 §4.7): `+` one level, `#` the rest; `$` topics only by name. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && !filter.startsWith('$')) return false; // [MQTT-4.7.2-1]
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

import { MqttJsonPayload } from '../../../shared/mqtt-json.js';
import { EPOCH_MS_MAX, EPOCH_MS_MIN, EpochMs, Quality, SensorId, type Reading } from '../../../shared/reading.js';
import { describeIssues } from '../../../shared/config-load.js';

export type Decoded = { ok: true; readings: Reading[] } | { ok: false; reason: string };

/** How a `format: json` message becomes readings; built once per source from its config. */
export interface JsonDecodeOptions {
  topicPrefix: string;
  maxPayloadBytes: number;
  receivedAt: number;
  /** Replaces topicPrefix stripping when set. */
  topic?: { template: TopicTemplate; sensorId: string };
  /** Absent: the strict `{ts, value, quality?}` payload of shared/mqtt-json.ts. */
  json?: JsonMapping;
}

/**
 * Turns one MQTT message into readings, or a reason it cannot. Pure: the caller decides what
 * to do with a failure (dead-letter it and go on).
 */
export function decodeMessage(topic: string, payload: Uint8Array, opts: JsonDecodeOptions): Decoded {
  const sensor = opts.topic ? sensorFromTemplate(opts.topic.template, opts.topic.sensorId, topic) : sensorFromPrefix(opts.topicPrefix, topic);
  if (!sensor.ok) return sensor;
  if (payload.length > opts.maxPayloadBytes) return { ok: false, reason: `payload of ${payload.length} bytes is over the ${opts.maxPayloadBytes}-byte limit` };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  if (opts.json) return mapJsonPayload(json, opts.json, sensor.sensor, opts.receivedAt);
  const fast = fastReadings(json, sensor.sensor, opts.receivedAt);
  if (fast) return { ok: true, readings: fast };
  const parsed = MqttJsonPayload.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `payload is not a reading: ${describeIssues(parsed.error.issues).slice(0, 3).join('; ')}` };
  const items = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  return {
    ok: true,
    readings: items.map((r) => ({ sensor: sensor.sensor, ts: r.ts, value: r.value, quality: r.quality ?? 'good', receivedAt: opts.receivedAt })),
  };
}

/**
 * The strict payload ({"ts","value","quality"?} or an array of them) checked by hand: the
 * per-message cost at tens of thousands of messages a second. It accepts exactly what
 * MqttJsonPayload accepts; anything else returns null and goes through the schema, which also
 * gives the reason (decode.test.ts compares both on the same inputs).
 */
export function fastReadings(json: unknown, sensor: string, receivedAt: number): Reading[] | null {
  if (!Array.isArray(json)) {
    const r = fastReading(json, sensor, receivedAt);
    return r ? [r] : null;
  }
  if (json.length < 1 || json.length > 10_000) return null;
  const out: Reading[] = new Array<Reading>(json.length);
  for (let i = 0; i < json.length; i++) {
    const r = fastReading(json[i], sensor, receivedAt);
    if (!r) return null;
    out[i] = r;
  }
  return out;
}

function fastReading(x: unknown, sensor: string, receivedAt: number): Reading | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null;
  const o = x as Record<string, unknown>;
  let keys = 0;
  for (const k in o) {
    if (k !== 'ts' && k !== 'value' && k !== 'quality') return null;
    keys++;
  }
  const { ts, value, quality } = o;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < EPOCH_MS_MIN || ts > EPOCH_MS_MAX) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  // JSON has no undefined: a missing quality is the only way to get one here.
  if (quality === undefined) return keys === 2 ? { sensor, ts, value, quality: 'good', receivedAt } : null;
  if (quality !== 'good' && quality !== 'uncertain' && quality !== 'bad') return null;
  return { sensor, ts, value, quality, receivedAt };
}

type SensorResult = { ok: true; sensor: string } | { ok: false; reason: string };

// Topic → sensor id, for the common case of the same topics again and again; bounded, and
// emptied when full rather than grown (a plant has a fixed set of topics, an attacker does not).
const sensorCache = new Map<string, SensorResult>();
const SENSOR_CACHE_MAX = 100_000;

function sensorFromPrefix(prefix: string, topic: string): SensorResult {
  const key = `${prefix}\u0000${topic}`;
  const hit = sensorCache.get(key);
  if (hit) return hit;
  let result: SensorResult;
  if (!topic.startsWith(prefix)) result = { ok: false, reason: `topic does not start with "${prefix}"` };
  else {
    const sensor = SensorId.safeParse(topic.slice(prefix.length));
    result = sensor.success ? { ok: true, sensor: sensor.data } : { ok: false, reason: `topic does not name a sensor: ${sensor.error.issues[0]?.message ?? 'invalid'}` };
  }
  if (sensorCache.size >= SENSOR_CACHE_MAX) sensorCache.clear();
  sensorCache.set(key, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Topic templates: `plant/+line/+machine/+sensor`. A level is a literal (must equal the topic's
// level), `+name` (captures exactly one level) or, last only, `#name` (captures one or more
// levels, joined with "/"). The sensor id pattern puts captures in `{name}` placeholders.

export type TemplateLevel = { kind: 'literal'; text: string } | { kind: 'one'; name: string } | { kind: 'rest'; name: string };
export interface TopicTemplate {
  source: string;
  levels: TemplateLevel[];
}

const CAPTURE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a topic template, or says what is wrong with it (used by the config schema). */
export function parseTopicTemplate(source: string): { ok: true; template: TopicTemplate } | { ok: false; reason: string } {
  const parts = source.split('/');
  const levels: TemplateLevel[] = [];
  const seen = new Set<string>();
  for (const [i, part] of parts.entries()) {
    const at = `level ${i + 1} "${part}"`;
    if (part === '') return { ok: false, reason: `${at}: empty levels are not allowed` };
    const sigil = part[0];
    if (sigil === '+' || sigil === '#') {
      const name = part.slice(1);
      if (!CAPTURE_NAME.test(name)) return { ok: false, reason: `${at}: "${sigil}" must be followed by a capture name (letters, digits, _), e.g. ${sigil}line` };
      if (seen.has(name)) return { ok: false, reason: `${at}: capture "${name}" is used twice` };
      if (sigil === '#' && i !== parts.length - 1) return { ok: false, reason: `${at}: "#${name}" must be the last level` };
      seen.add(name);
      levels.push(sigil === '+' ? { kind: 'one', name } : { kind: 'rest', name });
    } else {
      if (/[+#{}]/.test(part)) return { ok: false, reason: `${at}: a literal level cannot contain + # { }` };
      levels.push({ kind: 'literal', text: part });
    }
  }
  return { ok: true, template: { source, levels } };
}

/** The MQTT topic filter (MQTT 3.1.1 §4.7) that a template matches: `+name` → `+`, `#name` → `#`. */
export function templateFilter(t: TopicTemplate): string {
  return t.levels.map((l) => (l.kind === 'literal' ? l.text : l.kind === 'one' ? '+' : '#')).join('/');
}

/** The captures of a topic, or why it does not match the template. */
export function matchTopicTemplate(t: TopicTemplate, topic: string): { ok: true; captures: Record<string, string> } | { ok: false; reason: string } {
  const levels = topic.split('/');
  const captures: Record<string, string> = {};
  const fail = (why: string) => ({ ok: false as const, reason: `topic does not match topicTemplate "${t.source}": ${why}` });
  for (const [i, l] of t.levels.entries()) {
    const got = levels[i];
    if (got === undefined) return fail(`it has ${levels.length} levels, the template needs ${l.kind === 'rest' ? 'more' : t.levels.length}`);
    if (l.kind === 'literal') {
      if (got !== l.text) return fail(`level ${i + 1} is "${got}", expected "${l.text}"`);
    } else if (l.kind === 'one') {
      captures[l.name] = got;
    } else {
      captures[l.name] = levels.slice(i).join('/');
      return { ok: true, captures };
    }
  }
  if (levels.length !== t.levels.length) return fail(`it has ${levels.length} levels, the template ${t.levels.length}`);
  return { ok: true, captures };
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Problems with a sensor id pattern for a template (used by the config schema); empty when fine. */
export function checkSensorIdPattern(pattern: string, t: TopicTemplate): string | null {
  const names = new Set(t.levels.flatMap((l) => (l.kind === 'literal' ? [] : [l.name])));
  for (const m of pattern.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    if (!names.has(name)) return `placeholder {${name}} is not a capture of topicTemplate "${t.source}" (captures: ${[...names].join(', ') || 'none'})`;
  }
  const sample = pattern.replace(PLACEHOLDER, 'x');
  if (/[{}]/.test(sample)) return 'unbalanced { or }';
  const id = SensorId.safeParse(sample);
  if (!id.success) return `does not give a valid sensor id: ${id.error.issues[0]?.message ?? 'invalid'}`;
  return null;
}

/** `{name}` placeholders replaced by the captures; the result must be a SensorId. */
export function buildSensorId(pattern: string, captures: Record<string, string>): SensorResult {
  const built = pattern.replace(PLACEHOLDER, (_, name: string) => captures[name] ?? '');
  const id = SensorId.safeParse(built);
  if (!id.success) return { ok: false, reason: `sensor id "${built.slice(0, 256)}" built from the topic is not valid: ${id.error.issues[0]?.message ?? 'invalid'}` };
  return { ok: true, sensor: id.data };
}

function sensorFromTemplate(t: TopicTemplate, pattern: string, topic: string): SensorResult {
  const m = matchTopicTemplate(t, topic);
  return m.ok ? buildSensorId(pattern, m.captures) : m;
}

// ---------------------------------------------------------------------------------------------
// JSON payload mapping: dotted paths to the value, timestamp and quality. A numeric segment
// indexes an array (`readings.0.v`). Values must be finite JSON numbers: a numeric string is
// rejected, not coerced, so that a device sending "3.5" or "NaN" is noticed.

export interface JsonMapping {
  value: string;
  ts: string;
  quality?: string | undefined;
  tsUnit: 'ms' | 's' | 'iso';
  /** Path to an array of items, each mapped with the paths above. Absent: a root array is a batch, a root object one reading. */
  array?: string | undefined;
}

/** Upper bound on readings per message, as for the strict payload. */
export const MAX_BATCH = 10_000;

type Path = { found: true; value: unknown } | { found: false };

/** The value at a dotted path; own properties only (no `__proto__` or `constructor` lookups). */
export function readPath(root: unknown, path: string): Path {
  let cur = root;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, seg)) cur = (cur as Record<string, unknown>)[seg];
    else return { found: false };
  }
  return { found: true, value: cur };
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A timestamp in `unit` as ms since epoch, range-checked like EpochMs; ISO needs a zone (Z or ±hh:mm). */
export function toEpochMs(raw: unknown, unit: JsonMapping['tsUnit']): { ok: true; ts: number } | { ok: false; reason: string } {
  let ms: number;
  if (unit === 'iso') {
    if (typeof raw !== 'string' || !ISO_8601.test(raw)) return { ok: false, reason: `is not an ISO 8601 time with a zone (got ${describe(raw)})` };
    ms = Date.parse(raw);
    if (Number.isNaN(ms)) return { ok: false, reason: `is not a valid date (got ${describe(raw)})` };
  } else {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return { ok: false, reason: `is not a number of ${unit === 's' ? 'seconds' : 'milliseconds'} (got ${describe(raw)})` };
    ms = unit === 's' ? Math.round(raw * 1000) : raw;
  }
  const ts = EpochMs.safeParse(ms);
  if (!ts.success) return { ok: false, reason: `${ms} ms: ${ts.error.issues[0]?.message ?? 'out of range'}` };
  return { ok: true, ts: ts.data };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.slice(0, 40))}`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : `${typeof v} ${String(v)}`;
}

/** One item → one reading, or the reason (naming the path) it cannot. */
function mapItem(item: unknown, m: JsonMapping, sensor: string, receivedAt: number): { ok: true; reading: Reading } | { ok: false; reason: string } {
  const value = readPath(item, m.value);
  if (!value.found) return { ok: false, reason: `no value at "${m.value}"` };
  if (typeof value.value !== 'number' || !Number.isFinite(value.value)) return { ok: false, reason: `value at "${m.value}" is not a finite number (got ${describe(value.value)})` };
  const rawTs = readPath(item, m.ts);
  if (!rawTs.found) return { ok: false, reason: `no timestamp at "${m.ts}"` };
  const ts = toEpochMs(rawTs.value, m.tsUnit);
  if (!ts.ok) return { ok: false, reason: `timestamp at "${m.ts}" ${ts.reason}` };
  let quality: Quality = 'good';
  if (m.quality !== undefined) {
    const q = readPath(item, m.quality);
    if (q.found) {
      const parsed = Quality.safeParse(q.value);
      if (!parsed.success) return { ok: false, reason: `quality at "${m.quality}" is not good, uncertain or bad (got ${describe(q.value)})` };
      quality = parsed.data;
    }
  }
  return { ok: true, reading: { sensor, ts: ts.ts, value: value.value, quality, receivedAt } };
}

/**
 * A parsed JSON payload → readings by the mapping. One bad item dead-letters the whole message
 * (as with the strict format), so a batch is stored all or nothing.
 */
export function mapJsonPayload(json: unknown, m: JsonMapping, sensor: string, receivedAt: number): Decoded {
  let items: unknown[];
  if (m.array !== undefined) {
    const a = readPath(json, m.array);
    if (!a.found) return { ok: false, reason: `no array at "${m.array}"` };
    if (!Array.isArray(a.value)) return { ok: false, reason: `"${m.array}" is not an array (got ${describe(a.value)})` };
    items = a.value;
  } else {
    items = Array.isArray(json) ? json : [json];
  }
  if (items.length === 0) return { ok: false, reason: 'payload has no readings (empty array)' };
  if (items.length > MAX_BATCH) return { ok: false, reason: `payload has ${items.length} readings, over the ${MAX_BATCH} limit` };
  const batch = items.length > 1 || m.array !== undefined || Array.isArray(json);
  const readings: Reading[] = [];
  for (const [i, item] of items.entries()) {
    const r = mapItem(item, m, sensor, receivedAt);
    if (!r.ok) return { ok: false, reason: batch ? `item ${i}: ${r.reason}` : r.reason };
    readings.push(r.reading);
  }
  return { ok: true, readings };
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

import { DataType, encodePayload, nbirthPayload, type Metric } from '../../shared/sparkplug/index.js';
import { createRng, type Rng } from '../../simulators/random.js';
import { readingKey } from './historian.js';

/**
 * Traffic for the bad-input test (DESIGN guarantee 5): good readings and hostile messages of
 * every kind the issue names, each message planned with what it must leave behind, so the test
 * can hold the agent to exact counts. Deterministic for a seed.
 *
 * Each hostile kind is a class of dead-letter reason: `reason` is what a sensible reason for it
 * looks like (the wording of edge/sources/mqtt/decode.ts and sparkplug.ts today, loosely).
 */
export const HOSTILE_KINDS = {
  // format: json
  notJson: { source: 'json', reason: /not JSON/i, count: 3400 }, // garbage bytes, truncated JSON, NaN / Infinity literals
  notAReading: { source: 'json', reason: /not a reading/i, count: 3400 }, // 1e999 (Infinity), strings, wrong types, unknown fields, deep nesting, a bad item in a batch
  tooLarge: { source: 'json', reason: /over the \d+-byte limit/, count: 20 }, // 1 MB bodies
  outsidePrefix: { source: 'json', reason: /does not start with/, count: 580 }, // subscribed, but no sensor can come of it
  noSensor: { source: 'json', reason: /does not name a sensor/, count: 600 }, // characters, empty levels, length
  // format: sparkplug
  badProtobuf: { source: 'sparkplug', reason: /not a Sparkplug B payload/, count: 700 },
  unknownAlias: { source: 'sparkplug', reason: /not in the BIRTH/, count: 640 }, // 40 of them with a good metric too
  beforeBirth: { source: 'sparkplug', reason: /before its BIRTH/, count: 300 },
  badTopic: { source: 'sparkplug', reason: /not a Sparkplug B topic/, count: 200 },
  notFinite: { source: 'sparkplug', reason: /not finite/, count: 150 },
  sparkplugTooLarge: { source: 'sparkplug', reason: /over the \d+-byte limit/, count: 10 },
} as const satisfies Record<string, { source: 'json' | 'sparkplug'; reason: RegExp; count: number }>;
export type HostileKind = keyof typeof HOSTILE_KINDS;
export const HOSTILE_TOTAL = Object.values(HOSTILE_KINDS).reduce((n, k) => n + k.count, 0);

export interface Planned {
  source: 'json' | 'sparkplug';
  topic: string;
  payload: Buffer;
  /** Readings this message must store: key (readingKey) → value. */
  readings: [string, number][];
  /** The one dead letter it must leave, or null (good traffic). */
  hostile: HostileKind | null;
}

export interface TrafficOptions {
  seed: number;
  /** format: json topics are `${jsonPrefix}<sensor id>`; `${otherPrefix}...` is subscribed too. */
  jsonPrefix: string;
  otherPrefix: string;
  /** Sparkplug group id, and the source's sensorPrefix. */
  group: string;
  sparkplugSensorPrefix: string;
  tsStart: number;
  goodJsonMessages: number;
  goodSparkplugMessages: number;
}

const MB = 1024 * 1024;
const METRICS = ['temp', 'pressure', 'flow', 'vibration_rms', 'current'] as const;

/** Sparkplug births first (DATA is read through them; their values are readings too), then everything else shuffled together. */
export function plannedTraffic(o: TrafficOptions): Planned[] {
  const rng = createRng(o.seed);
  const json = jsonTraffic(o, rng);
  const { births, rest } = sparkplugTraffic(o, rng);
  const mixed = [...json, ...rest];
  for (let i = mixed.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [mixed[i], mixed[j]] = [mixed[j]!, mixed[i]!];
  }
  return [...births, ...mixed];
}

function jsonTraffic(o: TrafficOptions, rng: Rng): Planned[] {
  const out: Planned[] = [];
  const sensors = Array.from({ length: 20 }, (_, i) => `acme/plant1/hostile-line/m-${i}/temperature`);
  let n = 0;
  const nextTs = () => o.tsStart + n++;
  const msg = (topic: string, body: string | Buffer, hostile: HostileKind | null, readings: [string, number][] = []): Planned => ({
    source: 'json', topic, payload: typeof body === 'string' ? Buffer.from(body) : body, readings, hostile,
  });
  const goodTopic = () => `${o.jsonPrefix}${rng.pick(sensors)}`;

  for (let i = 0; i < o.goodJsonMessages; i++) {
    const sensor = rng.pick(sensors);
    const batch = i % 4 === 0 ? 4 : 1;
    const items = Array.from({ length: batch }, () => ({ ts: nextTs(), value: Math.round(rng.uniform(-1000, 1000) * 4) / 4 }));
    out.push(msg(`${o.jsonPrefix}${sensor}`, JSON.stringify(batch === 1 ? items[0] : items), null, items.map((r) => [readingKey(sensor, r.ts), r.value])));
  }

  const notJson = [
    () => Buffer.concat([Buffer.from([0xff, 0xfe]), randomBytes(rng, 1 + Math.floor(rng.next() * 200))]),
    () => `{"ts":${nextTs()},"value":`,
    () => `{"ts":${nextTs()},"value":NaN}`,
    () => `{"ts":${nextTs()},"value":Infinity}`,
    () => `{"ts":${nextTs()},"value":-Infinity}`,
    () => `[{"ts":${nextTs()},"value":1},`,
  ];
  for (let i = 0; i < HOSTILE_KINDS.notJson.count; i++) out.push(msg(goodTopic(), notJson[i % notJson.length]!(), 'notJson'));

  const notAReading = [
    () => `{"ts":${nextTs()},"value":1e999}`, // parses to Infinity
    () => `{"ts":${nextTs()},"value":"3.5"}`,
    () => `{"ts":"2026-01-01T00:00:00Z","value":1}`,
    () => `{"ts":${Math.floor(o.tsStart / 1000)},"value":1}`, // seconds, not ms
    () => `{"ts":${nextTs()},"value":true}`,
    () => `{"ts":${nextTs()},"value":null}`,
    () => rng.pick(['true', 'null', '42', '"reading"', '[]', '{}']),
    () => `{"ts":${nextTs()},"value":1,"unit":"degC"}`,
    () => `{"ts":${nextTs()},"value":1,"quality":"excellent"}`,
    // A batch is all or nothing: the good first item must not be stored either.
    () => `[{"ts":${nextTs()},"value":1},{"ts":${nextTs()},"value":"2"}]`,
  ];
  const deep = 100; // deeply nested documents among them, 100 KB each
  for (let i = 0; i < HOSTILE_KINDS.notAReading.count; i++) {
    let body: string;
    if (i < deep / 2) body = '['.repeat(50_000) + ']'.repeat(50_000);
    else if (i < deep) body = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    else body = notAReading[i % notAReading.length]!();
    out.push(msg(goodTopic(), body, 'notAReading'));
  }

  for (let i = 0; i < HOSTILE_KINDS.tooLarge.count; i++) {
    // Valid JSON that would be a fine reading but for its size.
    const head = `{"ts":${nextTs()},"value":1,"pad":"`;
    out.push(msg(goodTopic(), head + 'x'.repeat(MB - head.length - 2) + '"}', 'tooLarge'));
  }
  for (let i = 0; i < HOSTILE_KINDS.outsidePrefix.count; i++) {
    out.push(msg(`${o.otherPrefix}acme/plant1/line/m-${i % 7}/temp`, `{"ts":${nextTs()},"value":1}`, 'outsidePrefix'));
  }
  const noSensor = [
    () => `${o.jsonPrefix}acme/plant 1/m-1/temp`,
    () => `${o.jsonPrefix}acme/plant1//m-1/temp`,
    () => `${o.jsonPrefix}acme/plant1/m-1/température`,
    () => `${o.jsonPrefix}acme/${'x'.repeat(300)}`,
    () => `${o.jsonPrefix}acme/plant1/m-1/temp/`,
    () => `${o.jsonPrefix}acme/plant1/m-1/<script>`,
  ];
  for (let i = 0; i < HOSTILE_KINDS.noSensor.count; i++) out.push(msg(noSensor[i % noSensor.length]!(), `{"ts":${nextTs()},"value":1}`, 'noSensor'));
  return out;
}

function sparkplugTraffic(o: TrafficOptions, rng: Rng): { births: Planned[]; rest: Planned[] } {
  const node = 'node-1';
  const device = 'press-1';
  const topic = (type: string, n = node, d?: string) => `spBv1.0/${o.group}/${type}/${n}${d ? `/${d}` : ''}`;
  const sensor = (metric: string, d?: string) => `${o.sparkplugSensorPrefix}${o.group}/${node}/${d ? `${d}/` : ''}${metric}`;
  const msg = (t: string, payload: Uint8Array, hostile: HostileKind | null, readings: [string, number][] = []): Planned => ({
    source: 'sparkplug', topic: t, payload: Buffer.from(payload), readings, hostile,
  });
  let ts = o.tsStart;

  const uptime: Metric = { name: 'uptime', alias: 100, datatype: DataType.Double, doubleValue: 12.5, timestamp: ts };
  const nbirth = msg(topic('NBIRTH'), encodePayload(nbirthPayload({ bdSeq: 0, timestamp: ts, metrics: [uptime] })), null, [[readingKey(sensor('uptime'), ts), 12.5]]);
  const birthMetrics: Metric[] = METRICS.map((name, i) => ({ name, alias: i + 1, datatype: DataType.Double, doubleValue: i, timestamp: ts }));
  const dbirth = msg(topic('DBIRTH', node, device), encodePayload({ timestamp: ts, seq: 1, metrics: birthMetrics }), null, METRICS.map((m, i) => [readingKey(sensor(m, device), ts), i]));

  const rest: Planned[] = [];
  const ddata = (metrics: Metric[]) => encodePayload({ timestamp: ++ts, seq: 2, metrics });
  for (let i = 0; i < o.goodSparkplugMessages; i++) {
    const at = ++ts;
    const values = METRICS.map(() => Math.round(rng.uniform(0, 500) * 8) / 8);
    rest.push(msg(topic('DDATA', node, device), ddata(values.map((v, j) => ({ alias: j + 1, doubleValue: v, timestamp: at }))), null,
      values.map((v, j) => [readingKey(sensor(METRICS[j]!, device), at), v])));
  }
  for (let i = 0; i < HOSTILE_KINDS.badProtobuf.count; i++) {
    // 0xff starts a field with wire type 7, which does not exist: never a valid payload.
    rest.push(msg(topic(rng.pick(['DDATA', 'DBIRTH']), node, device), Buffer.concat([Buffer.from([0xff, 0xff]), randomBytes(rng, Math.floor(rng.next() * 300))]), 'badProtobuf'));
  }
  for (let i = 0; i < HOSTILE_KINDS.unknownAlias.count; i++) {
    const at = ++ts;
    if (i < 40) {
      // A known metric and an unknown alias in one message: the reading is stored, the message dead-lettered.
      const v = i + 0.5;
      rest.push(msg(topic('DDATA', node, device), ddata([{ alias: 1, doubleValue: v, timestamp: at }, { alias: 900 + i, doubleValue: 1, timestamp: at }]), 'unknownAlias',
        [[readingKey(sensor(METRICS[0], device), at), v]]));
    } else rest.push(msg(topic('DDATA', node, device), ddata([{ alias: 200 + (i % 50), doubleValue: 1, timestamp: at }]), 'unknownAlias'));
  }
  for (let i = 0; i < HOSTILE_KINDS.beforeBirth.count; i++) {
    rest.push(msg(topic(i % 2 ? 'DDATA' : 'NDATA', `ghost-${i % 5}`, i % 2 ? 'dev' : undefined), ddata([{ alias: 1, doubleValue: 1 }]), 'beforeBirth'));
  }
  for (let i = 0; i < HOSTILE_KINDS.badTopic.count; i++) {
    const t = [`spBv1.0/${o.group}/BOGUS/${node}`, `spBv1.0/${o.group}/DDATA`, `spBv1.0/${o.group}`][i % 3]!;
    rest.push(msg(t, ddata([{ alias: 1, doubleValue: 1 }]), 'badTopic'));
  }
  for (let i = 0; i < HOSTILE_KINDS.notFinite.count; i++) {
    rest.push(msg(topic('DDATA', node, device), ddata([{ alias: 2, doubleValue: [NaN, Infinity, -Infinity][i % 3]!, timestamp: ++ts }]), 'notFinite'));
  }
  for (let i = 0; i < HOSTILE_KINDS.sparkplugTooLarge.count; i++) {
    const big = ddata([{ alias: 3, doubleValue: 1, timestamp: ++ts, properties: { keys: ['note'], values: [{ type: DataType.String, stringValue: 'x'.repeat(MB) }] } }]);
    rest.push(msg(topic('DDATA', node, device), big, 'sparkplugTooLarge'));
  }
  return { births: [nbirth, dbirth], rest };
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng.next() * 256);
  return b;
}

import { EPOCH_MS_MAX, EPOCH_MS_MIN, SensorId, type Quality, type Reading } from '../../../shared/reading.js';
import {
  BD_SEQ_METRIC, createAliasTable, decodePayload, parseSparkplugTopic, readBdSeq, readQuality, readValue, SPARKPLUG_NAMESPACE,
  type AliasTable, type Metric, type MetricValue, type Payload, type SparkplugTopic,
} from '../../../shared/sparkplug/index.js';

/**
 * Sparkplug B 3.0 as a host application reads it, for the MQTT source's `format: sparkplug`.
 * Pure but stateful: one `SparkplugDecoder` per source instance holds, per edge node, the alias
 * table, the bdSeq of its session and the metrics its BIRTHs declared (with their last values).
 *
 * - NBIRTH / DBIRTH: learn aliases, names and sensor ids; the BIRTH's values are readings too
 *   (except `bdSeq` and `Node Control/*`).
 * - NDATA / DDATA: readings by alias (or by name), read with the BIRTH's datatype.
 * - NDEATH (bdSeq matching the NBIRTH's, 3.0 §7.1.1) / DDEATH: one reading per known metric of the
 *   node / device, quality bad, the last value: the gap marker that says the data stopped.
 * - NCMD / DCMD / STATE: not data, ignored.
 *
 * Not done: rebirth requests. A DATA message before its BIRTH or with an unknown alias is
 * rejected with a reason (the source dead-letters it); no NCMD is published to ask for a rebirth.
 */

export interface SparkplugOptions {
  /** Put before `<group>/<node>/<device>/<metric>` when a metric has no usable `sensorId` property. */
  sensorPrefix: string;
  maxPayloadBytes: number;
}

/** What one message gave: readings to commit and, for whatever could not be read, reasons. */
export interface SparkplugDecoded {
  readings: Reading[];
  reasons: string[];
}

export interface SparkplugDecoder {
  decode(topic: string, payload: Uint8Array, receivedAt: number): SparkplugDecoded;
}

/** The BIRTH metric property holding a Unified-Namespace sensor id (the simulator sets it). */
export const SENSOR_ID_PROPERTY = 'sensorId';

interface KnownMetric {
  sensor: SensorId;
  datatype: number;
  lastValue?: number;
  lastTs?: number;
}

interface NodeState {
  aliases: AliasTable;
  bdSeq: number | undefined;
  /** Key: device id ('' for the node's own metrics), then metric name. */
  devices: Map<string, Map<string, KnownMetric>>;
}

export function createSparkplugDecoder(opts: SparkplugOptions): SparkplugDecoder {
  const nodes = new Map<string, NodeState>();

  function decode(topicName: string, bytes: Uint8Array, receivedAt: number): SparkplugDecoded {
    const out: SparkplugDecoded = { readings: [], reasons: [] };
    const reject = (reason: string) => ({ readings: [], reasons: [reason] });
    const topic = parseSparkplugTopic(topicName);
    if (!topic) {
      return topicName.startsWith(`${SPARKPLUG_NAMESPACE}/STATE/`) ? out : reject('topic is not a Sparkplug B topic (spBv1.0/<group>/<type>/<node>[/<device>])');
    }
    if (topic.messageType === 'NCMD' || topic.messageType === 'DCMD') return out;
    if (bytes.length > opts.maxPayloadBytes) return reject(`payload of ${bytes.length} bytes is over the ${opts.maxPayloadBytes}-byte limit`);
    let payload: Payload;
    try {
      payload = decodePayload(bytes);
    } catch (err) {
      return reject((err as Error).message);
    }
    const nodeKey = `${topic.groupId}/${topic.edgeNodeId}`;
    const device = topic.deviceId ?? '';
    let node = nodes.get(nodeKey);

    switch (topic.messageType) {
      case 'NBIRTH': {
        node = { aliases: createAliasTable(), bdSeq: readBdSeq(payload), devices: new Map() };
        nodes.set(nodeKey, node);
        birth(node, topic, payload, receivedAt, out);
        return out;
      }
      case 'DBIRTH': {
        if (!node) return reject(`DBIRTH of ${nodeKey}/${device} before the NBIRTH of its edge node (no rebirth is requested)`);
        birth(node, topic, payload, receivedAt, out);
        return out;
      }
      case 'NDATA':
      case 'DDATA': {
        const metrics = node?.devices.get(device);
        if (!node || !metrics) return reject(`${topic.messageType} of ${nodeKey}${topic.deviceId ? `/${device}` : ''} before its BIRTH (no rebirth is requested)`);
        for (const m of payload.metrics) {
          // An alias is unique across the edge node; it must be one of this device's.
          const def = m.name === undefined ? node.aliases.resolve(m) : undefined;
          const name = m.name ?? (def && (def.deviceId ?? '') === device ? def.name : undefined);
          const known = name === undefined ? undefined : metrics.get(name);
          if (!known) {
            out.reasons.push(`metric ${name !== undefined ? `"${name}"` : `alias ${m.alias ?? '(none)'}`} is not in the BIRTH of ${nodeKey}/${device}`);
            continue;
          }
          read(known, m, m.datatype ?? known.datatype, payload, receivedAt, out);
        }
        return out;
      }
      case 'NDEATH': {
        if (!node) return out; // nothing known about it: no marker to write
        const bdSeq = readBdSeq(payload);
        // A will registered by an earlier session arriving late is not this session's death (3.0 §7.1.1).
        if (bdSeq !== undefined && node.bdSeq !== undefined && bdSeq !== node.bdSeq) return out;
        for (const metrics of node.devices.values()) markDead(metrics, payload, receivedAt, out);
        nodes.delete(nodeKey);
        return out;
      }
      case 'DDEATH': {
        const metrics = node?.devices.get(device);
        if (!node || !metrics) return out;
        markDead(metrics, payload, receivedAt, out);
        node.devices.delete(device);
        return out;
      }
    }
  }

  function birth(node: NodeState, topic: SparkplugTopic, payload: Payload, receivedAt: number, out: SparkplugDecoded): void {
    const device = topic.deviceId ?? '';
    out.reasons.push(...node.aliases.learnBirth(payload, topic.deviceId));
    const metrics = new Map<string, KnownMetric>();
    node.devices.set(device, metrics);
    for (const m of payload.metrics) {
      if (m.name === undefined || m.datatype === undefined) {
        out.reasons.push(`a BIRTH metric${m.alias !== undefined ? ` (alias ${m.alias})` : ''} has no ${m.name === undefined ? 'name' : 'datatype'}`);
        continue;
      }
      if (m.name === BD_SEQ_METRIC || m.name.startsWith('Node Control/')) continue;
      const sensor = sensorIdOf(m, topic, opts.sensorPrefix);
      if (typeof sensor !== 'string') {
        out.reasons.push(sensor.reason);
        continue;
      }
      const known: KnownMetric = { sensor, datatype: m.datatype };
      metrics.set(m.name, known);
      if (!m.isNull) read(known, m, m.datatype, payload, receivedAt, out);
    }
  }

  return { decode };
}

/** Appends the reading of one metric (and remembers it as the last value), or a reason. */
function read(known: KnownMetric, m: Metric, datatype: number, payload: Payload, receivedAt: number, out: SparkplugDecoded): void {
  const value = numericValue(readValue(m, datatype));
  if (typeof value !== 'number') {
    out.reasons.push(`metric for ${known.sensor}: ${value.reason}`);
    return;
  }
  const ts = m.timestamp ?? payload.timestamp ?? receivedAt;
  if (ts < EPOCH_MS_MIN || ts > EPOCH_MS_MAX) {
    out.reasons.push(`metric for ${known.sensor}: timestamp ${ts} is outside 2000..2100`);
    return;
  }
  const quality: Quality = readQuality(m);
  out.readings.push({ sensor: known.sensor, ts, value, quality, receivedAt });
  if (known.lastTs === undefined || ts >= known.lastTs) {
    known.lastTs = ts;
    known.lastValue = value;
  }
}

/**
 * The gap marker: per metric with a value, its last value with quality bad, at the death's time.
 * A will carries the time it was registered (at CONNECT, before the data), so the marker goes
 * at least 1 ms after the metric's last reading, never over it.
 */
function markDead(metrics: Map<string, KnownMetric>, payload: Payload, receivedAt: number, out: SparkplugDecoded): void {
  const at = payload.timestamp ?? receivedAt;
  for (const known of metrics.values()) {
    if (known.lastValue === undefined || known.lastTs === undefined) continue;
    out.readings.push({ sensor: known.sensor, ts: Math.max(at, known.lastTs + 1), value: known.lastValue, quality: 'bad', receivedAt });
  }
}

/** A reading's value: numbers as they are, booleans 1/0; strings, bytes, nulls and unsafe 64-bit integers are not readings. */
export function numericValue(v: MetricValue | null): number | { reason: string } {
  if (typeof v === 'number') return Number.isFinite(v) ? v : { reason: `value ${v} is not finite` };
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null) return { reason: 'no value (is_null or no value field for its datatype)' };
  if (typeof v === 'bigint') return { reason: `64-bit value ${v} is beyond 2^53` };
  return { reason: `a ${typeof v === 'string' ? 'string' : 'bytes'} value is not a reading` };
}

/** The `sensorId` property when it is a valid SensorId, else `<prefix><group>/<node>[/<device>]/<metric name>`, sanitised. */
export function sensorIdOf(m: Metric, topic: SparkplugTopic, prefix: string): SensorId | { reason: string } {
  const props = m.properties;
  const i = props ? props.keys.indexOf(SENSOR_ID_PROPERTY) : -1;
  const given = i >= 0 ? props!.values[i]?.stringValue : undefined;
  if (given !== undefined && SensorId.safeParse(given).success) return given;
  const path = [topic.groupId, topic.edgeNodeId, ...(topic.deviceId !== undefined ? [topic.deviceId] : []), ...(m.name ?? '').split('/')];
  const id = prefix + path.map(sanitiseSegment).join('/');
  const parsed = SensorId.safeParse(id);
  return parsed.success ? parsed.data : { reason: `metric "${m.name}" gives no usable sensor id ("${id.slice(0, 80)}"): ${parsed.error.issues[0]?.message ?? 'invalid'}` };
}

/** A topic level or metric name part as a SensorId segment: other characters become `_`. */
export function sanitiseSegment(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return clean === '' ? '_' : clean;
}

import protobuf from 'protobufjs';
import { PayloadType } from './schema.js';
import type { Metric, Payload, PropertySet, PropertyValue, ScalarFields } from './types.js';

/**
 * The Sparkplug B payload (Eclipse Sparkplug 3.0, chapter 6 "Payloads"; the schema is Eclipse
 * Tahu's `sparkplug_b.proto`, package `org.eclipse.tahu.protobuf`, embedded in schema.ts). Data
 * types and value mapping live in datatype.ts and are re-exported here.
 *
 * What this module exposes is the part a sensor stream needs: the payload's timestamp, seq, uuid
 * and body, and per metric its name, alias, timestamp, datatype, flags, properties and scalar
 * value. DataSet, Template, MetaData and extension values are in the schema, so payloads carrying
 * them decode, but they are not exposed (a metric holding one decodes with no scalar value).
 */

export { DataType, datatypeName, readValue, valueFields, type MetricValue } from './datatype.js';

export type { Metric, Payload, PropertySet, PropertyValue, ScalarFields } from './types.js';

/** A payload that is not Sparkplug B, or carries a number this decoder cannot represent. */
export class SparkplugDecodeError extends Error {
  readonly code = 'SPARKPLUG_DECODE';
}

/** Encodes a payload. Only the fields that are present are written (proto2 optional fields). */
export function encodePayload(payload: Payload): Uint8Array {
  // The plain object goes straight to the generated encoder: bigints become the {low, high} pairs
  // protobufjs writes for 64-bit fields, everything else is already the type it expects.
  return PayloadType.encode(toWire(payload) as unknown as protobuf.Message).finish();
}

/** Decodes a payload; throws SparkplugDecodeError when the bytes are not one. */
export function decodePayload(bytes: Uint8Array): Payload {
  let message: Record<string, unknown>;
  try {
    message = PayloadType.decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new SparkplugDecodeError(`not a Sparkplug B payload: ${err instanceof Error ? err.message : String(err)}`);
  }
  const out: Payload = { metrics: ((message.metrics as Record<string, unknown>[] | undefined) ?? []).map(readMetric) };
  if (has(message, 'timestamp')) out.timestamp = safeNumber(message.timestamp, 'payload timestamp');
  if (has(message, 'seq')) out.seq = safeNumber(message.seq, 'seq');
  if (has(message, 'uuid')) out.uuid = message.uuid as string;
  if (has(message, 'body')) out.body = message.body as Uint8Array;
  return out;
}

// --- wire conversion -----------------------------------------------------------------------

const SCALAR_KEYS = ['intValue', 'longValue', 'floatValue', 'doubleValue', 'booleanValue', 'stringValue'] as const;

function toWire(payload: Payload): Record<string, unknown> {
  const out: Record<string, unknown> = { metrics: payload.metrics.map(metricToWire) };
  if (payload.timestamp !== undefined) out.timestamp = payload.timestamp;
  if (payload.seq !== undefined) out.seq = payload.seq;
  if (payload.uuid !== undefined) out.uuid = payload.uuid;
  if (payload.body !== undefined) out.body = payload.body;
  return out;
}

function metricToWire(metric: Metric): Record<string, unknown> {
  if (typeof metric.longValue !== 'bigint' && metric.properties === undefined) return metric as Record<string, unknown>;
  const out: Record<string, unknown> = { ...metric };
  if (typeof metric.longValue === 'bigint') out.longValue = longBits(metric.longValue);
  if (metric.properties) out.properties = { keys: metric.properties.keys, values: metric.properties.values.map(propertyToWire) };
  return out;
}

function propertyToWire(value: PropertyValue): Record<string, unknown> {
  return typeof value.longValue === 'bigint' ? { ...value, longValue: longBits(value.longValue) } : (value as Record<string, unknown>);
}

/** A bigint as the {low, high} pair protobufjs accepts for 64-bit fields (it takes no bigints). */
function longBits(value: bigint): { low: number; high: number; unsigned: boolean } {
  const u = BigInt.asUintN(64, value);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true };
}

function readMetric(m: Record<string, unknown>): Metric {
  const out: Metric = {};
  if (has(m, 'name')) out.name = m.name as string;
  if (has(m, 'alias')) out.alias = safeNumber(m.alias, 'metric alias');
  if (has(m, 'timestamp')) out.timestamp = safeNumber(m.timestamp, 'metric timestamp');
  if (has(m, 'datatype')) out.datatype = m.datatype as number;
  if (has(m, 'isHistorical')) out.isHistorical = m.isHistorical as boolean;
  if (has(m, 'isTransient')) out.isTransient = m.isTransient as boolean;
  if (has(m, 'isNull')) out.isNull = m.isNull as boolean;
  if (has(m, 'properties')) out.properties = readPropertySet(m.properties as Record<string, unknown>);
  readScalars(m, out);
  if (has(m, 'bytesValue')) out.bytesValue = m.bytesValue as Uint8Array;
  return out;
}

function readPropertySet(set: Record<string, unknown>): PropertySet {
  const keys = (set.keys as string[] | undefined) ?? [];
  const values = ((set.values as Record<string, unknown>[] | undefined) ?? []).map((v) => {
    const out: PropertyValue = {};
    if (has(v, 'type')) out.type = v.type as number;
    if (has(v, 'isNull')) out.isNull = v.isNull as boolean;
    readScalars(v, out);
    return out;
  });
  // 3.0 §6.4.8: keys and values MUST be the same length.
  if (keys.length !== values.length) throw new SparkplugDecodeError(`property set has ${keys.length} keys and ${values.length} values`);
  return { keys: [...keys], values };
}

function readScalars(from: Record<string, unknown>, to: ScalarFields): void {
  for (const key of SCALAR_KEYS) {
    if (!has(from, key)) continue;
    if (key === 'longValue') to.longValue = toBigInt(from.longValue);
    else (to as Record<string, unknown>)[key] = from[key];
  }
}

/** protobufjs sets decoded fields as own properties; defaults live on the prototype. */
function has(obj: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== null && obj[key] !== undefined;
}

interface LongLike {
  low: number;
  high: number;
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v);
  const l = v as LongLike;
  return (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
}

/** Timestamps, aliases and seq are uint64 on the wire; anything beyond 2^53 is not one we can use. */
function safeNumber(v: unknown, what: string): number {
  const n = toBigInt(v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new SparkplugDecodeError(`${what} ${n} is beyond 2^53`);
  return Number(n);
}

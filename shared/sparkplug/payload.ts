import protobuf from 'protobufjs';

/**
 * The Sparkplug B payload (Eclipse Sparkplug 3.0, chapter 6 "Payloads"; the schema is Eclipse
 * Tahu's `sparkplug_b.proto`, package `org.eclipse.tahu.protobuf`). The schema is compiled from
 * the text below when this module loads: nothing is read from disk at run time.
 *
 * What this module exposes is the part a sensor stream needs: the payload's timestamp, seq, uuid
 * and body, and per metric its name, alias, timestamp, datatype, flags, properties and scalar
 * value. DataSet, Template, MetaData and extension values are in the schema, so payloads carrying
 * them decode, but they are not exposed (a metric holding one decodes with no scalar value).
 */

// Field names and numbers are the wire contract; they follow sparkplug_b.proto exactly.
const SPARKPLUG_B_PROTO = `
syntax = "proto2";
package org.eclipse.tahu.protobuf;

message Payload {
  message Template {
    message Parameter {
      optional string name = 1;
      optional uint32 type = 2;
      oneof value {
        uint32 int_value = 3;
        uint64 long_value = 4;
        float float_value = 5;
        double double_value = 6;
        bool boolean_value = 7;
        string string_value = 8;
        ParameterValueExtension extension_value = 9;
      }
      message ParameterValueExtension { extensions 1 to max; }
    }
    optional string version = 1;
    repeated Metric metrics = 2;
    repeated Parameter parameters = 3;
    optional string template_ref = 4;
    optional bool is_definition = 5;
    extensions 6 to max;
  }

  message DataSet {
    message DataSetValue {
      oneof value {
        uint32 int_value = 1;
        uint64 long_value = 2;
        float float_value = 3;
        double double_value = 4;
        bool boolean_value = 5;
        string string_value = 6;
        DataSetValueExtension extension_value = 7;
      }
      message DataSetValueExtension { extensions 1 to max; }
    }
    message Row {
      repeated DataSetValue elements = 1;
      extensions 2 to max;
    }
    optional uint64 num_of_columns = 1;
    repeated string columns = 2;
    repeated uint32 types = 3;
    repeated Row rows = 4;
    extensions 5 to max;
  }

  message PropertyValue {
    optional uint32 type = 1;
    optional bool is_null = 2;
    oneof value {
      uint32 int_value = 3;
      uint64 long_value = 4;
      float float_value = 5;
      double double_value = 6;
      bool boolean_value = 7;
      string string_value = 8;
      PropertySet propertyset_value = 9;
      PropertySetList propertysets_value = 10;
      PropertyValueExtension extension_value = 11;
    }
    message PropertyValueExtension { extensions 1 to max; }
  }

  message PropertySet {
    repeated string keys = 1;
    repeated PropertyValue values = 2;
    extensions 3 to max;
  }

  message PropertySetList {
    repeated PropertySet propertyset = 1;
    extensions 2 to max;
  }

  message MetaData {
    optional bool is_multi_part = 1;
    optional string content_type = 2;
    optional uint64 size = 3;
    optional uint64 seq = 4;
    optional string file_name = 5;
    optional string file_type = 6;
    optional string md5 = 7;
    optional string description = 8;
    extensions 9 to max;
  }

  message Metric {
    optional string name = 1;
    optional uint64 alias = 2;
    optional uint64 timestamp = 3;
    optional uint32 datatype = 4;
    optional bool is_historical = 5;
    optional bool is_transient = 6;
    optional bool is_null = 7;
    optional MetaData metadata = 8;
    optional PropertySet properties = 9;
    oneof value {
      uint32 int_value = 10;
      uint64 long_value = 11;
      float float_value = 12;
      double double_value = 13;
      bool boolean_value = 14;
      string string_value = 15;
      bytes bytes_value = 16;
      DataSet dataset_value = 17;
      Template template_value = 18;
      MetricValueExtension extension_value = 19;
    }
    message MetricValueExtension { extensions 1 to max; }
  }

  optional uint64 timestamp = 1;
  repeated Metric metrics = 2;
  optional uint64 seq = 3;
  optional string uuid = 4;
  optional bytes body = 5;
  extensions 6 to max;
}
`;

const PayloadType = protobuf.parse(SPARKPLUG_B_PROTO, { keepCase: false }).root.lookupType('org.eclipse.tahu.protobuf.Payload');

/** Sparkplug data types (3.0 §6.4.16), the values of `Metric.datatype` and `PropertyValue.type`. */
export const DataType = {
  Unknown: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
  PropertySet: 20,
  PropertySetList: 21,
  Int8Array: 22,
  Int16Array: 23,
  Int32Array: 24,
  Int64Array: 25,
  UInt8Array: 26,
  UInt16Array: 27,
  UInt32Array: 28,
  UInt64Array: 29,
  FloatArray: 30,
  DoubleArray: 31,
  BooleanArray: 32,
  StringArray: 33,
  DateTimeArray: 34,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** The scalar value fields of a metric or property value (a protobuf `oneof`: at most one is set). */
export interface ScalarFields {
  /** `uint32` on the wire: Int8/16/32 travel as their two's complement. */
  intValue?: number;
  /** `uint64` on the wire: Int64 travels as its two's complement. Decoded as a bigint. */
  longValue?: number | bigint;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface PropertyValue extends ScalarFields {
  type?: number;
  isNull?: boolean;
}

export interface PropertySet {
  keys: string[];
  values: PropertyValue[];
}

export interface Metric extends ScalarFields {
  /** In BIRTH messages; absent in DATA messages when aliases are used (3.0 §6.4.6). */
  name?: string;
  alias?: number;
  /** ms since the epoch, UTC. */
  timestamp?: number;
  datatype?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
  properties?: PropertySet;
  bytesValue?: Uint8Array;
}

export interface Payload {
  /** ms since the epoch, UTC: when the message was sent. */
  timestamp?: number;
  metrics: Metric[];
  /** 0..255; absent only in NDEATH. */
  seq?: number;
  uuid?: string;
  body?: Uint8Array;
}

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

// --- typed values --------------------------------------------------------------------------

export type MetricValue = number | bigint | boolean | string | Uint8Array;

/**
 * The value fields for `value` sent as `datatype` (3.0 §6.4.16: which protobuf field carries
 * which type). Signed integers go as two's complement of the field's width. Throws a RangeError
 * for a value the type cannot hold, and for datatypes that are not scalars.
 */
export function valueFields(datatype: number, value: MetricValue): ScalarFields & { bytesValue?: Uint8Array } {
  switch (datatype) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32: {
      const [low, high] = INT_RANGES[datatype]!;
      const n = Number(value);
      if (!Number.isInteger(n) || n < low || n > high) throw new RangeError(`${n} does not fit datatype ${datatypeName(datatype)}`);
      return { intValue: n >>> 0 };
    }
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime: {
      const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
      if (n === undefined) throw new RangeError(`${String(value)} is not an integer for datatype ${datatypeName(datatype)}`);
      const signed = datatype === DataType.Int64;
      if (signed ? n !== BigInt.asIntN(64, n) : n < 0n || n !== BigInt.asUintN(64, n)) {
        throw new RangeError(`${n} does not fit datatype ${datatypeName(datatype)}`);
      }
      // Safe integers stay numbers: protobufjs writes those without a detour through bigint.
      return { longValue: typeof value === 'number' && value >= 0 ? value : BigInt.asUintN(64, n) };
    }
    case DataType.Float:
      return { floatValue: Number(value) };
    case DataType.Double:
      return { doubleValue: Number(value) };
    case DataType.Boolean:
      return { booleanValue: Boolean(value) };
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return { stringValue: String(value) };
    case DataType.Bytes:
    case DataType.File:
      if (!(value instanceof Uint8Array)) throw new RangeError(`datatype ${datatypeName(datatype)} needs bytes`);
      return { bytesValue: value };
    default:
      throw new RangeError(`datatype ${datatypeName(datatype)} is not a scalar this codec writes`);
  }
}

/**
 * A metric's value read as `datatype` (the metric's own, or for DATA messages, which should not
 * repeat it, the one its BIRTH declared). `null` for `is_null` or no value field. 64-bit integers
 * come back as numbers when they are safe integers, as bigints otherwise.
 */
export function readValue(metric: Metric | PropertyValue, datatype: number): MetricValue | null {
  if (metric.isNull) return null;
  switch (datatype) {
    case DataType.Int8:
      return metric.intValue === undefined ? null : (metric.intValue << 24) >> 24;
    case DataType.Int16:
      return metric.intValue === undefined ? null : (metric.intValue << 16) >> 16;
    case DataType.Int32:
      return metric.intValue === undefined ? null : metric.intValue | 0;
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32:
      return metric.intValue === undefined ? null : metric.intValue >>> 0;
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime: {
      if (metric.longValue === undefined) return null;
      const raw = BigInt.asUintN(64, BigInt(metric.longValue));
      const n = datatype === DataType.Int64 ? BigInt.asIntN(64, raw) : raw;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case DataType.Float:
      return metric.floatValue ?? null;
    case DataType.Double:
      return metric.doubleValue ?? null;
    case DataType.Boolean:
      return metric.booleanValue ?? null;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return metric.stringValue ?? null;
    case DataType.Bytes:
    case DataType.File:
      return 'bytesValue' in metric ? (metric.bytesValue ?? null) : null;
    default:
      return null;
  }
}

export function datatypeName(datatype: number): string {
  return DATATYPE_NAMES.get(datatype) ?? `unknown (${datatype})`;
}

const DATATYPE_NAMES = new Map<number, string>(Object.entries(DataType).map(([name, code]) => [code, name]));

const INT_RANGES: Record<number, readonly [number, number]> = {
  [DataType.Int8]: [-128, 127],
  [DataType.Int16]: [-32768, 32767],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt8]: [0, 255],
  [DataType.UInt16]: [0, 65535],
  [DataType.UInt32]: [0, 4294967295],
};

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

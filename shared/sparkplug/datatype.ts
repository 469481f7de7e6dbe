import type { Metric, PropertyValue, ScalarFields } from './types.js';

/**
 * Sparkplug data types and how a typed value maps to the protobuf value fields and back
 * (Eclipse Sparkplug 3.0 §6.4.16). Re-exported from payload.ts.
 */

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

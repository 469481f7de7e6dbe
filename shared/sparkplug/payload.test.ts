import { describe, expect, it } from 'vitest';
import { DataType, decodePayload, encodePayload, readValue, SparkplugDecodeError, valueFields, type Payload } from './payload.js';
import { bdSeqMetric, qualityProperty, QUALITY_PROPERTY } from './rules.js';

const T = 1486144502122; // the timestamp of the specification's examples
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('Sparkplug B payload codec', () => {
  // The vectors were written by hand from the protobuf wire format (tag = field << 3 | wire type,
  // varints little-endian base 128, doubles fixed64 little-endian) and sparkplug_b.proto's field
  // numbers, not produced by this codec.
  it('writes an NBIRTH-style bdSeq payload byte for byte', () => {
    const payload: Payload = { timestamp: T, metrics: [bdSeqMetric(0, T)], seq: 0 };
    // 08 <ts>               Payload.timestamp (1, varint)
    // 12 12                 Payload.metrics (2, 18 bytes):
    //   0a 05 "bdSeq"         name (1), 18 <ts> timestamp (3), 20 08 datatype (4) = UInt64, 58 00 long_value (11) = 0
    // 18 00                 Payload.seq (3) = 0
    const expected = '08eaf2f5a8a02b' + '1212' + '0a05626453657118eaf2f5a8a02b' + '2008' + '5800' + '1800';
    expect(hex(encodePayload(payload))).toBe(expected);
    expect(decodePayload(bytes(expected))).toEqual({ timestamp: T, seq: 0, metrics: [{ name: 'bdSeq', timestamp: T, datatype: DataType.UInt64, longValue: 0n }] });
  });

  it('writes a DDATA metric by alias with a double and a quality property byte for byte', () => {
    const payload: Payload = {
      timestamp: T,
      seq: 7,
      metrics: [{ alias: 3, timestamp: T, properties: { keys: [QUALITY_PROPERTY], values: [qualityProperty('bad')] }, doubleValue: 21.5 }],
    };
    // metric: 10 03 alias; 18 <ts>; 4a 0f properties{0a 07 "Quality", 12 04 {08 03 type Int32, 18 00 int_value 0}}; 69 <21.5 as fixed64>
    const expected = '08eaf2f5a8a02b' + '1223' + '1003' + '18eaf2f5a8a02b' + '4a0f0a075175616c697479120408031800' + '690000000000803540' + '1807';
    expect(hex(encodePayload(payload))).toBe(expected);
    expect(decodePayload(bytes(expected))).toEqual(payload);
  });

  it('round-trips every scalar datatype, signed integers through their two\'s complement', () => {
    const cases: Array<[number, number | bigint | boolean | string]> = [
      [DataType.Int8, -5],
      [DataType.Int16, -300],
      [DataType.Int32, -2147483648],
      [DataType.Int64, -1],
      [DataType.Int64, -(2n ** 63n)],
      [DataType.UInt8, 255],
      [DataType.UInt16, 65535],
      [DataType.UInt32, 4294967295],
      [DataType.UInt64, 2n ** 64n - 1n],
      [DataType.UInt64, 123456789012],
      [DataType.DateTime, T],
      [DataType.Float, 1.5],
      [DataType.Double, -0.1],
      [DataType.Boolean, true],
      [DataType.String, 'running'],
    ];
    const payload: Payload = {
      timestamp: T,
      seq: 255,
      metrics: cases.map(([datatype, value], i) => ({ name: `m${i}`, alias: i + 1, timestamp: T + i, datatype, ...valueFields(datatype, value) })),
    };
    const back = decodePayload(encodePayload(payload));
    expect(back.seq).toBe(255);
    expect(back.metrics.map((m) => readValue(m, m.datatype!))).toEqual(cases.map(([, v]) => v));
    expect(back.metrics.map((m) => [m.name, m.alias, m.timestamp])).toEqual(cases.map((_, i) => [`m${i}`, i + 1, T + i]));
    // Int32 -1 goes on the wire as the uint32 0xffffffff (field 10), not as a 10-byte negative varint.
    expect(hex(encodePayload({ metrics: [{ alias: 5, datatype: DataType.Int32, ...valueFields(DataType.Int32, -1) }] }))).toBe('120a1005200350ffffffff0f');
  });

  it('keeps is_null, flags, uuid and body', () => {
    const payload: Payload = {
      timestamp: T,
      seq: 1,
      uuid: 'u-1',
      body: new Uint8Array([1, 2, 3]),
      metrics: [{ name: 'x', alias: 9, timestamp: T, datatype: DataType.Double, isNull: true, isHistorical: true, isTransient: false }],
    };
    const back = decodePayload(encodePayload(payload));
    expect(back).toEqual({ ...payload, body: expect.any(Uint8Array) });
    expect([...back.body!]).toEqual([1, 2, 3]);
    expect(readValue(back.metrics[0]!, DataType.Double)).toBeNull();
  });

  it('refuses values a datatype cannot hold', () => {
    expect(() => valueFields(DataType.Int8, 128)).toThrow(/does not fit/);
    expect(() => valueFields(DataType.UInt32, -1)).toThrow(/does not fit/);
    expect(() => valueFields(DataType.UInt64, -1)).toThrow(/does not fit/);
    expect(() => valueFields(DataType.Int64, 1.5)).toThrow(/not an integer/);
    expect(() => valueFields(DataType.DataSet, 1)).toThrow(/not a scalar/);
  });

  it('throws a SparkplugDecodeError on bytes that are not a payload', () => {
    expect(() => decodePayload(bytes('ffffffff'))).toThrow(SparkplugDecodeError);
    expect(() => decodePayload(new TextEncoder().encode('{"ts":1,"value":2}'))).toThrow(SparkplugDecodeError);
  });
});

import { describe, expect, it } from 'vitest';
import { DataType, decodePayload, encodePayload, type Payload } from './payload.js';
import {
  createAliasTable, createSeqCounter, isRebirthRequest, nbirthPayload, ndeathPayload, qualityProperty, QUALITY_PROPERTY, readBdSeq,
  readQuality, REBIRTH_METRIC, resolveMetric,
} from './rules.js';
import { parseSparkplugTopic, sparkplugTopic } from './topic.js';

const T = Date.UTC(2025, 0, 6, 8);

describe('Sparkplug topics', () => {
  it('builds and parses node and device topics', () => {
    expect(sparkplugTopic({ groupId: 'plant1', messageType: 'NBIRTH', edgeNodeId: 'gw' })).toBe('spBv1.0/plant1/NBIRTH/gw');
    expect(sparkplugTopic({ groupId: 'plant1', messageType: 'DDATA', edgeNodeId: 'gw', deviceId: 'pump-1' })).toBe('spBv1.0/plant1/DDATA/gw/pump-1');
    expect(parseSparkplugTopic('spBv1.0/plant1/DDATA/gw/pump-1')).toEqual({ groupId: 'plant1', messageType: 'DDATA', edgeNodeId: 'gw', deviceId: 'pump-1' });
    expect(parseSparkplugTopic('spBv1.0/plant1/NDEATH/gw')).toEqual({ groupId: 'plant1', messageType: 'NDEATH', edgeNodeId: 'gw' });
  });

  it('refuses ids that cannot be a topic level, and topics that are not Sparkplug', () => {
    expect(() => sparkplugTopic({ groupId: 'a/b', messageType: 'NBIRTH', edgeNodeId: 'gw' })).toThrow(/group id/);
    expect(() => sparkplugTopic({ groupId: 'a', messageType: 'DDATA', edgeNodeId: 'gw', deviceId: '+' })).toThrow(/device id/);
    expect(parseSparkplugTopic('spBv1.0/plant1/DDATA/gw')).toBeUndefined(); // device message without a device
    expect(parseSparkplugTopic('spBv1.0/plant1/NDATA/gw/x')).toBeUndefined(); // node message with one
    expect(parseSparkplugTopic('spBv1.0/plant1/HELLO/gw')).toBeUndefined();
    expect(parseSparkplugTopic('factory/acme/plant1/x')).toBeUndefined();
  });
});

describe('Sparkplug session rules', () => {
  it('numbers messages 0..255 and wraps, NBIRTH always 0', () => {
    const seq = createSeqCounter();
    expect(seq.birth()).toBe(0);
    const seen = Array.from({ length: 300 }, () => seq.next());
    expect(seen[0]).toBe(1);
    expect(seen[254]).toBe(255);
    expect(seen[255]).toBe(0);
    expect(seen[299]).toBe(44);
    expect(Math.max(...seen)).toBe(255);
    expect(seq.birth()).toBe(0);
    expect(seq.next()).toBe(1);
  });

  it('carries the same bdSeq in NBIRTH and NDEATH; NDEATH has only bdSeq and no seq', () => {
    const birth = decodePayload(encodePayload(nbirthPayload({ bdSeq: 17, timestamp: T, rebirthAlias: 0 })));
    const death = decodePayload(encodePayload(ndeathPayload(17, T)));
    expect(birth.seq).toBe(0);
    expect(readBdSeq(birth)).toBe(17);
    expect(birth.metrics[1]).toMatchObject({ name: REBIRTH_METRIC, datatype: DataType.Boolean, booleanValue: false, alias: 0 });
    expect(readBdSeq(death)).toBe(17);
    expect(death.seq).toBeUndefined();
    expect(death.metrics).toHaveLength(1);
  });

  it('recognises a rebirth request by name or by alias', () => {
    expect(isRebirthRequest({ metrics: [{ name: REBIRTH_METRIC, booleanValue: true }] })).toBe(true);
    expect(isRebirthRequest({ metrics: [{ alias: 0, booleanValue: true }] }, 0)).toBe(true);
    expect(isRebirthRequest({ metrics: [{ alias: 0, booleanValue: true }] })).toBe(false);
    expect(isRebirthRequest({ metrics: [{ name: REBIRTH_METRIC, booleanValue: false }] })).toBe(false);
  });

  it('reads DATA metrics, sent by alias alone, through the aliases their BIRTH defined', () => {
    const table = createAliasTable();
    const dbirth: Payload = {
      timestamp: T,
      seq: 1,
      metrics: [
        { name: 'speed', alias: 1, timestamp: T, datatype: DataType.Double, doubleValue: 1450 },
        { name: 'parts_good', alias: 2, timestamp: T, datatype: DataType.UInt64, longValue: 12 },
        { name: 'state', alias: 3, timestamp: T, datatype: DataType.Int32, intValue: 2 },
      ],
    };
    expect(table.learnBirth(decodePayload(encodePayload(dbirth)), 'pump-1')).toEqual([]);
    const ddata = decodePayload(encodePayload({
      timestamp: T,
      seq: 2,
      metrics: [
        { alias: 2, timestamp: T + 1000, longValue: 13 },
        { alias: 3, timestamp: T + 1000, intValue: 0xffffffff }, // Int32 -1
        { alias: 1, timestamp: T + 1000, doubleValue: 1451.5, properties: { keys: [QUALITY_PROPERTY], values: [qualityProperty('uncertain')] } },
        { alias: 99, timestamp: T + 1000, doubleValue: 1 },
      ],
    }));
    expect(ddata.metrics.every((m) => m.name === undefined && m.datatype === undefined)).toBe(true);
    const read = ddata.metrics.map((m) => {
      const r = resolveMetric(m, table);
      return r && { name: r.name, value: r.value, device: r.definition.deviceId, quality: readQuality(m) };
    });
    expect(read).toEqual([
      { name: 'parts_good', value: 13, device: 'pump-1', quality: 'good' },
      { name: 'state', value: -1, device: 'pump-1', quality: 'good' },
      { name: 'speed', value: 1451.5, device: 'pump-1', quality: 'uncertain' },
      undefined, // an alias no BIRTH defined: the host should ask for a rebirth
    ]);
  });

  it('refuses an alias used twice across the edge node, and starts afresh at NBIRTH', () => {
    const table = createAliasTable();
    const birth = (names: string[], first: number): Payload => ({
      metrics: names.map((name, i) => ({ name, alias: first + i, datatype: DataType.Double, doubleValue: 0 })),
    });
    expect(table.learnBirth(birth(['a', 'b'], 1), 'd1')).toEqual([]);
    expect(table.learnBirth(birth(['c'], 2), 'd2')).toEqual(['alias 2 of "c" is already "b" of device d1']);
    expect(table.learnBirth(birth(['a', 'b'], 1), 'd1')).toEqual([]); // a DBIRTH again replaces the device's own
    expect(table.size).toBe(2);
    table.learnBirth(nbirthPayload({ bdSeq: 1, timestamp: T }));
    expect(table.size).toBe(0);
  });

  it('maps OPC-style quality codes to the three quality classes', () => {
    const withCode = (intValue: number) => ({ properties: { keys: [QUALITY_PROPERTY], values: [{ type: DataType.Int32, intValue }] } });
    expect([192, 216, 64, 88, 0, 24].map((c) => readQuality(withCode(c)))).toEqual(['good', 'good', 'uncertain', 'uncertain', 'bad', 'bad']);
    expect(readQuality({})).toBe('good');
  });
});

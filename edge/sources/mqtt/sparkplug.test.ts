import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  DataType, encodePayload, nbirthPayload, ndeathPayload, qualityProperty, QUALITY_PROPERTY, type Metric, type Payload,
} from '../../../shared/sparkplug/index.js';
import { EXAMPLE_SPARKPLUG_SOURCE, MqttSourceConfig, subscriptions } from './config.js';
import { createSparkplugDecoder, sensorIdOf } from './sparkplug.js';

const T = Date.UTC(2026, 10, 22, 8);
const R = T + 60_000; // receive time
const topic = (type: string, device?: string) => `spBv1.0/plant1/${type}/edge-1${device ? `/${device}` : ''}`;
const bytes = (p: Payload) => encodePayload(p);
const sensorProp = (id: string) => ({ keys: ['sensorId'], values: [{ type: DataType.String, stringValue: id }] });

function births(decoder: ReturnType<typeof createSparkplugDecoder>, bdSeq = 3) {
  const nbirth = decoder.decode(topic('NBIRTH'), bytes(nbirthPayload({ bdSeq, timestamp: T, rebirthAlias: 0, metrics: [{ name: 'uptime', alias: 9, datatype: DataType.UInt64, longValue: 120, timestamp: T }] })), R);
  const metrics: Metric[] = [
    { name: 'temp', alias: 1, datatype: DataType.Double, doubleValue: 40.5, timestamp: T, properties: sensorProp('acme/plant1/line-1/press-1/temp') },
    { name: 'parts', alias: 2, datatype: DataType.UInt64, longValue: 7n, timestamp: T },
    { name: 'mode name', alias: 3, datatype: DataType.String, stringValue: 'auto', timestamp: T },
    { name: 'flow', alias: 4, datatype: DataType.Double, isNull: true, timestamp: T },
  ];
  const dbirth = decoder.decode(topic('DBIRTH', 'press-1'), bytes({ timestamp: T, seq: 1, metrics }), R);
  return { nbirth, dbirth };
}

describe('Sparkplug decoder', () => {
  it('birth → data by alias → death: values, then a bad-quality marker per metric with the last value', () => {
    const d = createSparkplugDecoder({ sensorPrefix: '', maxPayloadBytes: 1 << 20 });
    const { nbirth, dbirth } = births(d);
    // NBIRTH: bdSeq and Node Control/Rebirth are not readings; the node's own metric is.
    expect(nbirth).toEqual({ readings: [{ sensor: 'plant1/edge-1/uptime', ts: T, value: 120, quality: 'good', receivedAt: R }], reasons: [] });
    // DBIRTH values are readings; sensorId property wins; a string is skipped with a reason; is_null is no reading.
    expect(dbirth.readings.map((r) => [r.sensor, r.value])).toEqual([['acme/plant1/line-1/press-1/temp', 40.5], ['plant1/edge-1/press-1/parts', 7]]);
    expect(dbirth.reasons).toEqual([expect.stringMatching(/mode_name: a string value is not a reading/)]);

    const data = d.decode(topic('DDATA', 'press-1'), bytes({ timestamp: T + 2000, seq: 2, metrics: [
      { alias: 1, doubleValue: 41, timestamp: T + 1000, properties: { keys: [QUALITY_PROPERTY], values: [qualityProperty('uncertain')] } },
      { alias: 2, longValue: 8 }, // no metric timestamp: the payload's
      { alias: 4, doubleValue: 3.5, timestamp: T + 1000 },
    ] }), R);
    expect(data).toEqual({
      readings: [
        { sensor: 'acme/plant1/line-1/press-1/temp', ts: T + 1000, value: 41, quality: 'uncertain', receivedAt: R },
        { sensor: 'plant1/edge-1/press-1/parts', ts: T + 2000, value: 8, quality: 'good', receivedAt: R },
        { sensor: 'plant1/edge-1/press-1/flow', ts: T + 1000, value: 3.5, quality: 'good', receivedAt: R },
      ],
      reasons: [],
    });

    const death = d.decode(topic('NDEATH'), bytes(ndeathPayload(3, T + 5000)), R);
    expect(death.reasons).toEqual([]);
    expect(death.readings.map((r) => [r.sensor, r.ts, r.value, r.quality])).toEqual([
      ['plant1/edge-1/uptime', T + 5000, 120, 'bad'],
      ['acme/plant1/line-1/press-1/temp', T + 5000, 41, 'bad'],
      ['plant1/edge-1/press-1/parts', T + 5000, 8, 'bad'],
      ['plant1/edge-1/press-1/flow', T + 5000, 3.5, 'bad'],
    ]);
    // After the death the node must be born again before its data can be read.
    expect(d.decode(topic('DDATA', 'press-1'), bytes({ timestamp: T + 6000, seq: 3, metrics: [{ alias: 1, doubleValue: 1 }] }), R).reasons).toEqual([
      expect.stringMatching(/before its BIRTH/),
    ]);
  });

  it('DDEATH marks only its device, after the last reading even when its timestamp is older', () => {
    const d = createSparkplugDecoder({ sensorPrefix: 'x/', maxPayloadBytes: 1 << 20 });
    births(d);
    const death = d.decode(topic('DDEATH', 'press-1'), bytes({ timestamp: T - 1000, seq: 2, metrics: [] }), R);
    expect(death.readings.map((r) => [r.sensor, r.ts, r.quality])).toEqual([
      ['acme/plant1/line-1/press-1/temp', T + 1, 'bad'],
      ['x/plant1/edge-1/press-1/parts', T + 1, 'bad'],
    ]);
  });

  it('gives reasons for an unknown alias, data before any birth, a bad payload, and keeps the good metrics', () => {
    const d = createSparkplugDecoder({ sensorPrefix: '', maxPayloadBytes: 1 << 20 });
    expect(d.decode(topic('DDATA', 'press-1'), bytes({ timestamp: T, seq: 1, metrics: [{ alias: 1, doubleValue: 1 }] }), R)).toEqual({
      readings: [],
      reasons: [expect.stringMatching(/DDATA of plant1\/edge-1\/press-1 before its BIRTH/)],
    });
    births(d);
    const mixed = d.decode(topic('DDATA', 'press-1'), bytes({ timestamp: T + 1000, seq: 2, metrics: [{ alias: 1, doubleValue: 42 }, { alias: 77, doubleValue: 1 }] }), R);
    expect(mixed.readings.map((r) => r.value)).toEqual([42]);
    expect(mixed.reasons).toEqual([expect.stringMatching(/alias 77 is not in the BIRTH/)]);
    // The node's own alias 9 is not press-1's.
    expect(d.decode(topic('DDATA', 'press-1'), bytes({ timestamp: T + 1000, seq: 3, metrics: [{ alias: 9, longValue: 1 }] }), R).reasons).toHaveLength(1);
    expect(d.decode(topic('DDATA', 'press-1'), new Uint8Array([0xff, 0xff, 0xff]), R).reasons).toEqual([expect.stringMatching(/not a Sparkplug B payload/)]);
    expect(d.decode('spBv1.0/plant1/BOGUS/edge-1', bytes({ metrics: [] }), R).reasons).toHaveLength(1);
    // Commands and host STATE are not data.
    expect(d.decode(topic('NCMD'), bytes({ metrics: [] }), R)).toEqual({ readings: [], reasons: [] });
    expect(d.decode('spBv1.0/STATE/host-1', new TextEncoder().encode('{"online":true}'), R)).toEqual({ readings: [], reasons: [] });
  });

  it('ignores an NDEATH whose bdSeq is not the current session (a late will)', () => {
    const d = createSparkplugDecoder({ sensorPrefix: '', maxPayloadBytes: 1 << 20 });
    births(d, 4);
    expect(d.decode(topic('NDEATH'), bytes(ndeathPayload(3, T + 5000)), R)).toEqual({ readings: [], reasons: [] });
    // The session is still alive.
    expect(d.decode(topic('DDATA', 'press-1'), bytes({ timestamp: T + 1000, seq: 2, metrics: [{ alias: 1, doubleValue: 42 }] }), R).readings).toHaveLength(1);
    expect(d.decode(topic('NDEATH'), bytes(ndeathPayload(4, T + 5000)), R).readings.every((r) => r.quality === 'bad')).toBe(true);
  });

  it('sanitises fallback sensor ids and ignores an invalid sensorId property', () => {
    const t = { groupId: 'Plant #1', messageType: 'DBIRTH', edgeNodeId: 'edge 1', deviceId: 'press:1' } as const;
    expect(sensorIdOf({ name: 'Motor/Temp (C)', properties: sensorProp('not a valid id!') }, t, 'acme/')).toBe('acme/Plant__1/edge_1/press_1/Motor/Temp__C_');
  });
});

describe('config', () => {
  it('parses the Sparkplug example, and subscribe defaults by format', () => {
    const [raw] = parseYaml(EXAMPLE_SPARKPLUG_SOURCE) as unknown[];
    const cfg = MqttSourceConfig.parse(raw);
    expect(cfg.format).toBe('sparkplug');
    expect(cfg.sparkplug.sensorPrefix).toBe('acme/');
    expect(subscriptions(cfg)).toEqual(['spBv1.0/plant1/#']);
    expect(subscriptions(MqttSourceConfig.parse({ type: 'mqtt', format: 'sparkplug' }))).toEqual(['spBv1.0/#']);
    const json = MqttSourceConfig.parse({ type: 'mqtt' });
    expect([json.format, subscriptions(json), json.sparkplug.sensorPrefix]).toEqual(['json', ['factory/#'], '']);
  });
});

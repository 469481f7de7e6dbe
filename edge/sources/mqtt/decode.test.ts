import { describe, expect, it } from 'vitest';
import { MqttJsonPayload } from '../../../shared/mqtt-json.js';
import { buildSensorId, decodeMessage, fastReadings, mapJsonPayload, matchTopicTemplate, parseTopicTemplate, templateFilter, type JsonMapping, type TopicTemplate } from './decode.js';

const opts = { topicPrefix: 'factory/', maxPayloadBytes: 1024, receivedAt: Date.UTC(2026, 10, 22, 8, 0, 1) };
const T = Date.UTC(2026, 10, 22, 8);
const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('decodeMessage', () => {
  it('reads one reading, the sensor id from the topic', () => {
    const d = decodeMessage('factory/acme/p1/l1/pump-1/flow', enc({ ts: T, value: 3.5 }), opts);
    expect(d).toEqual({ ok: true, readings: [{ sensor: 'acme/p1/l1/pump-1/flow', ts: T, value: 3.5, quality: 'good', receivedAt: opts.receivedAt }] });
  });

  it('reads a batch with qualities', () => {
    const d = decodeMessage('factory/a/b', enc([{ ts: T, value: 1 }, { ts: T + 1, value: 2, quality: 'bad' }]), opts);
    expect(d.ok && d.readings.map((r) => r.quality)).toEqual(['good', 'bad']);
  });

  it.each([
    ['not JSON', 'factory/a/b', '{"ts": 1, value', /not JSON/],
    ['NaN', 'factory/a/b', '{"ts": 1763798400000, "value": NaN}', /not JSON/],
    ['a string value', 'factory/a/b', { ts: T, value: '3.5' }, /not a reading/],
    ['seconds for ms', 'factory/a/b', { ts: Math.floor(T / 1000), value: 1 }, /seconds given/],
    ['an unknown field', 'factory/a/b', { ts: T, value: 1, unit: 'bar' }, /not a reading/],
    ['a foreign topic', 'other/a/b', { ts: T, value: 1 }, /does not start with/],
    ['a bad sensor path', 'factory/a//b', { ts: T, value: 1 }, /does not name a sensor/],
    ['a huge message', 'factory/a/b', 'x'.repeat(2000), /over the 1024-byte limit/],
  ])('gives a reason for %s', (_what, topic, payload, reason) => {
    const d = decodeMessage(topic, enc(payload), opts);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toMatch(reason);
  });
});

function template(s: string): TopicTemplate {
  const t = parseTopicTemplate(s);
  if (!t.ok) throw new Error(t.reason);
  return t.template;
}

describe('topic templates', () => {
  const plant = template('plant/+line/+machine/+sensor');

  it('captures named levels and builds the sensor id from them', () => {
    const m = matchTopicTemplate(plant, 'plant/line-1/pump-1/flow');
    expect(m).toEqual({ ok: true, captures: { line: 'line-1', machine: 'pump-1', sensor: 'flow' } });
    expect(m.ok && buildSensorId('acme/plant1/{line}/{machine}/{sensor}', m.captures)).toEqual({ ok: true, sensor: 'acme/plant1/line-1/pump-1/flow' });
  });

  it('captures the rest of the topic with #name', () => {
    const m = matchTopicTemplate(template('site/+area/#path'), 'site/a1/press-3/vibration/rms');
    expect(m).toEqual({ ok: true, captures: { area: 'a1', path: 'press-3/vibration/rms' } });
  });

  it.each([
    ['a literal level differs', 'factory/line-1/pump-1/flow', /level 1 is "factory", expected "plant"/],
    ['too few levels', 'plant/line-1/pump-1', /has 3 levels/],
    ['too many levels', 'plant/line-1/pump-1/flow/extra', /has 5 levels/],
  ])('says why a topic does not match: %s', (_what, topic, reason) => {
    const m = matchTopicTemplate(plant, topic);
    expect(!m.ok && m.reason).toMatch(reason);
    expect(!m.ok && m.reason).toMatch(/does not match topicTemplate "plant\/\+line\/\+machine\/\+sensor"/);
  });

  it('dead-letters a built id that is not a sensor id', () => {
    const d = decodeMessage('plant/line 1/pump-1/flow', enc({ ts: T, value: 1 }), { ...opts, topic: { template: plant, sensorId: 'acme/{line}/{machine}/{sensor}' } });
    expect(!d.ok && d.reason).toMatch(/sensor id "acme\/line 1\/pump-1\/flow" built from the topic is not valid/);
  });

  it('derives the subscription filter', () => {
    expect(templateFilter(plant)).toBe('plant/+/+/+');
    expect(templateFilter(template('site/+area/#path'))).toBe('site/+/#');
  });

  it.each([
    ['plant//+sensor', /empty levels/],
    ['plant/+/x', /capture name/],
    ['plant/#rest/x', /must be the last level/],
    ['plant/+a/+a', /used twice/],
    ['plant/a+b/+c', /literal level cannot contain/],
  ])('rejects the template %s', (s, reason) => {
    const t = parseTopicTemplate(s);
    expect(!t.ok && t.reason).toMatch(reason);
  });
});

describe('JSON payload mapping', () => {
  const S = 'acme/p1/l1/pump-1/flow';
  const at = opts.receivedAt;
  const map = (json: unknown, m: Partial<JsonMapping>) => mapJsonPayload(json, { value: 'value', ts: 'ts', tsUnit: 'ms', ...m }, S, at);

  it('reads a nested single reading', () => {
    expect(map({ data: { temp: 21.5, time: T, q: 'uncertain' } }, { value: 'data.temp', ts: 'data.time', quality: 'data.q' })).toEqual({
      ok: true,
      readings: [{ sensor: S, ts: T, value: 21.5, quality: 'uncertain', receivedAt: at }],
    });
  });

  it('reads an array of items with paths relative to each item', () => {
    const d = map({ device: 'x', readings: [{ v: 1, t: T }, { v: 2, t: T + 1000 }] }, { array: 'readings', value: 'v', ts: 't' });
    expect(d.ok && d.readings.map((r) => [r.value, r.ts, r.quality])).toEqual([
      [1, T, 'good'],
      [2, T + 1000, 'good'],
    ]);
  });

  it('converts seconds (fractions too) and ISO 8601 timestamps to ms', () => {
    const s = map({ value: 1, ts: T / 1000 + 0.25 }, { tsUnit: 's' });
    expect(s.ok && s.readings[0]?.ts).toBe(T + 250);
    const iso = map({ value: 1, ts: '2026-11-22T09:00:00.5+01:00' }, { tsUnit: 'iso' });
    expect(iso.ok && iso.readings[0]?.ts).toBe(T + 500);
  });

  it.each([
    ['a missing value path', { data: {} }, { value: 'data.temp' }, /^no value at "data.temp"$/],
    ['a string value', { value: '3.5', ts: T }, {}, /value at "value" is not a finite number \(got string "3.5"\)/],
    ['a missing timestamp', { value: 1 }, {}, /no timestamp at "ts"/],
    ['seconds read as ms', { value: 1, ts: T / 1000 }, {}, /seconds given/],
    ['an ISO time without a zone', { value: 1, ts: '2026-11-22T08:00:00' }, { tsUnit: 'iso' }, /not an ISO 8601 time with a zone/],
    ['a numeric string timestamp', { value: 1, ts: '1763798400' }, { tsUnit: 's' }, /not a number of seconds/],
    ['a bad quality', { value: 1, ts: T, q: 'ok' }, { quality: 'q' }, /quality at "q" is not good, uncertain or bad/],
    ['a bad batch item', { r: [{ value: 1, ts: T }, { value: null, ts: T }] }, { array: 'r' }, /^item 1: value at "value" is not a finite number \(got null\)/],
    ['an array path that is not an array', { r: {} }, { array: 'r' }, /"r" is not an array/],
    ['a prototype key', {}, { value: 'constructor' }, /no value at "constructor"/],
  ])('gives a reason for %s', (_what, json, m, reason) => {
    const d = map(json, m as Partial<JsonMapping>);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toMatch(reason);
  });

  it('is used by decodeMessage when configured', () => {
    const d = decodeMessage('factory/a/b', enc({ data: { v: 3.5, t: 1763798400 } }), { ...opts, json: { value: 'data.v', ts: 'data.t', tsUnit: 's' } });
    expect(d.ok && d.readings).toEqual([{ sensor: 'a/b', ts: 1763798400000, value: 3.5, quality: 'good', receivedAt: at }]);
  });
});

describe('the strict payload fast path', () => {
  it('accepts exactly what the schema accepts, with the same readings', () => {
    const T = 1_763_798_400_000;
    const item = (o: Record<string, unknown>) => o;
    const cases: unknown[] = [
      item({ ts: T, value: 1 }),
      item({ ts: T, value: -1.5, quality: 'uncertain' }),
      item({ ts: T, value: 0, quality: 'bad' }),
      item({ ts: T, value: 1, quality: 'Good' }),
      item({ ts: T, value: 1, quality: null }),
      item({ ts: T, value: 1, extra: 1 }),
      item({ ts: T, value: '1' }),
      item({ ts: T + 0.5, value: 1 }),
      item({ ts: T / 1000, value: 1 }),
      item({ ts: 4_102_444_800_001, value: 1 }),
      item({ ts: 946_684_800_000, value: 1 }),
      item({ ts: T }),
      item({ value: 1 }),
      item({ ts: T, value: null }),
      item({ ts: '2026-01-01', value: 1 }),
      item({ ts: T, value: 1e308 * 10 }),
      [],
      [item({ ts: T, value: 1 }), item({ ts: T + 1, value: 2, quality: 'bad' })],
      [item({ ts: T, value: 1 }), item({ ts: T + 1, value: 'x' })],
      [[item({ ts: T, value: 1 })]],
      Array.from({ length: 10_001 }, (_, i) => item({ ts: T + i, value: i })),
      Array.from({ length: 10_000 }, (_, i) => item({ ts: T + i, value: i })),
      null,
      42,
      'text',
      Object.assign(Object.create(null) as object, { ts: T, value: 1 }),
    ];
    for (const json of cases) {
      const payload = new TextEncoder().encode(JSON.stringify(json) ?? 'null');
      const viaSchema = MqttJsonPayload.safeParse(JSON.parse(new TextDecoder().decode(payload)));
      const fast = fastReadings(JSON.parse(new TextDecoder().decode(payload)), 'a/b', 5);
      expect({ json: JSON.stringify(json)?.slice(0, 80), accepted: fast !== null }).toEqual({ json: JSON.stringify(json)?.slice(0, 80), accepted: viaSchema.success });
      if (fast && viaSchema.success) {
        const items = Array.isArray(viaSchema.data) ? viaSchema.data : [viaSchema.data];
        expect(fast).toEqual(items.map((r) => ({ sensor: 'a/b', ts: r.ts, value: r.value, quality: r.quality ?? 'good', receivedAt: 5 })));
      }
    }
  });
});

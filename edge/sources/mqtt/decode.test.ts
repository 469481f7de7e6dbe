import { describe, expect, it } from 'vitest';
import { decodeMessage } from './decode.js';

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

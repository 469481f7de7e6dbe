import type { Alarm } from '../../shared/alarm.js';
import type { Finding } from '../../shared/finding.js';
import { encodeSeries, type SequencedReading } from '../../shared/sync-codec.js';
import type { FindingsBatch, ReadingsBatch } from '../../shared/sync.js';

/** Helpers for tests that post batches to a real cloud: build sequenced readings, post them. */

export const T0 = Date.parse('2025-03-01T08:00:00Z');

/**
 * Readings with seq firstSeq..firstSeq+count-1, spread round-robin over `sensors`, one every
 * `stepMs` in seq order. The value is a function of seq, so tests can check exactly what arrived.
 */
export function sequencedReadings(firstSeq: number, count: number, opts: { sensors?: readonly string[]; stepMs?: number; t0?: number } = {}): SequencedReading[] {
  const sensors = opts.sensors ?? ['acme/plant1/press-line/press-3/vibration_rms'];
  const step = opts.stepMs ?? 1000;
  const t0 = opts.t0 ?? T0;
  return Array.from({ length: count }, (_, i) => {
    const seq = firstSeq + i;
    const ts = t0 + (seq - 1) * step;
    return { seq, sensor: sensors[(seq - 1) % sensors.length]!, ts, value: valueOf(seq), quality: seq % 50 === 0 ? 'uncertain' : 'good', receivedAt: ts + 7 };
  });
}

export const valueOf = (seq: number): number => Math.round(Math.sin(seq / 10) * 1000) / 100;

export function readingsBatch(gateway: string, rows: readonly SequencedReading[], sentAt = Date.now()): ReadingsBatch {
  return {
    gateway,
    stream: 'readings',
    encoding: 'columnar-json-v1',
    firstSeq: rows[0]!.seq,
    lastSeq: rows[rows.length - 1]!.seq,
    sentAt,
    series: encodeSeries(rows),
  };
}

export function findingsBatch(gateway: string, firstSeq: number, findings: readonly Finding[], sentAt = Date.now()): FindingsBatch {
  return {
    gateway,
    stream: 'findings',
    encoding: 'rows-json-v1',
    firstSeq,
    lastSeq: firstSeq + findings.length - 1,
    sentAt,
    findings: findings.map((finding, i) => ({ seq: firstSeq + i, finding })),
  };
}

export function alarmsBatch(gateway: string, firstSeq: number, alarms: readonly Alarm[], sentAt = Date.now()): FindingsBatch {
  return { ...findingsBatch(gateway, firstSeq, [], sentAt), lastSeq: firstSeq + alarms.length - 1, findings: alarms.map((alarm, i) => ({ seq: firstSeq + i, alarm })) };
}

export interface Posted {
  status: number;
  body: unknown;
}

/** POSTs a body (an object is sent as JSON, a string as is) with an optional bearer token. */
export async function postIngest(url: string, body: unknown, token?: string, extraHeaders: Record<string, string> = {}): Promise<Posted> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Leave non-JSON bodies as text; the test will show them.
  }
  return { status: res.status, body: parsed };
}

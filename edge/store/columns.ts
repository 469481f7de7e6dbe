import { QUALITY_CODES, qualityCode, type Reading } from '../../shared/reading.js';

/**
 * Readings as columns, for the hop to the writer thread: typed arrays move by transfer (no
 * copy) and sensor names are sent once per batch, where an array of objects is copied field by
 * field by the structured clone, on the thread that parses MQTT.
 */
export interface ReadingColumns {
  names: string[];
  sensor: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
  quality: Uint8Array;
  receivedAt: Float64Array;
}

export function toColumns(readings: readonly Reading[]): ReadingColumns {
  const n = readings.length;
  const c: ReadingColumns = {
    names: [],
    sensor: new Uint32Array(n),
    ts: new Float64Array(n),
    value: new Float64Array(n),
    quality: new Uint8Array(n),
    receivedAt: new Float64Array(n),
  };
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    let k = index.get(r.sensor);
    if (k === undefined) {
      k = c.names.length;
      index.set(r.sensor, k);
      c.names.push(r.sensor);
    }
    c.sensor[i] = k;
    c.ts[i] = r.ts;
    c.value[i] = r.value;
    c.quality[i] = qualityCode(r.quality);
    c.receivedAt[i] = r.receivedAt;
  }
  return c;
}

export const transferables = (c: ReadingColumns): ArrayBuffer[] =>
  [c.sensor, c.ts, c.value, c.quality, c.receivedAt].map((a) => a.buffer as ArrayBuffer);

export function fromColumns(c: ReadingColumns): Reading[] {
  const out = new Array<Reading>(c.ts.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = { sensor: c.names[c.sensor[i]!]!, ts: c.ts[i]!, value: c.value[i]!, quality: QUALITY_CODES[c.quality[i]!] ?? 'bad', receivedAt: c.receivedAt[i]! };
  }
  return out;
}

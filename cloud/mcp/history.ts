import type { Queryable } from '../db/connect.js';
import { bucketHistory, rawHistory, summarizeRange, type Bucket, type RawPoint } from '../db/readings.js';
import { findSensor, listSensors } from '../db/sensors.js';
import { chooseBucketWidth, resolveRange, ToolInputError } from '../../shared/mcp/time-range.js';

export interface HistoryRequest {
  sensor: string;
  gateway?: string;
  from?: string | number;
  to?: string | number;
  maxPoints: number;
}

export interface SensorHistory {
  sensor: string;
  /** the gateways whose readings are included (one, normally) */
  gateways: string[];
  /** the range asked for, ISO; null when unbounded */
  from: string | null;
  to: string | null;
  downsampled: boolean;
  /** readings in range (all of them, also when downsampled) */
  count: number;
  points?: RawPoint[];
  bucketMs?: number;
  buckets?: Bucket[];
}

const SUGGESTIONS = 10;

/**
 * Raw readings when they fit in maxPoints, otherwise fixed-width buckets (min, max, avg, count)
 * that start at the beginning of the range, so there are never more than maxPoints of them.
 */
export async function getSensorHistory(q: Queryable, req: HistoryRequest, ctx: { timescale: boolean; nowMs: number }): Promise<SensorHistory> {
  const { fromMs, toMs } = resolveRange(req.from, req.to, ctx.nowMs);
  const known = await findSensor(q, req.sensor, req.gateway);
  if (known.length === 0) throw new ToolInputError(await unknownSensorMessage(q, req.sensor, req.gateway));

  const range = { sensor: req.sensor, gateways: known.map((k) => k.gateway), fromMs, toMs };
  const base = {
    sensor: req.sensor,
    gateways: range.gateways,
    from: fromMs === null ? null : new Date(fromMs).toISOString(),
    to: toMs === null ? null : new Date(toMs).toISOString(),
  };
  const summary = await summarizeRange(q, range);
  if (summary.count <= req.maxPoints) {
    const points = await rawHistory(q, range, req.maxPoints);
    return { ...base, downsampled: false, count: points.length, points };
  }
  // count > maxPoints >= 1, so the range holds readings and firstMs/lastMs are set.
  const originMs = fromMs ?? summary.firstMs ?? 0;
  const endMs = toMs ?? summary.lastMs ?? originMs;
  const bucketMs = chooseBucketWidth(endMs - originMs + 1, req.maxPoints);
  const buckets = await bucketHistory(q, range, { originMs, widthMs: bucketMs, timescale: ctx.timescale });
  return { ...base, downsampled: true, count: summary.count, bucketMs, buckets };
}

async function unknownSensorMessage(q: Queryable, sensor: string, gateway: string | undefined): Promise<string> {
  const where = gateway === undefined ? '' : ` from gateway "${gateway}"`;
  // Suggest ids sharing the last path segment (the signal name), then the same machine's path.
  const segments = sensor.split('/');
  const signal = segments[segments.length - 1] ?? sensor;
  let similar = await listSensors(q, { contains: signal, limit: SUGGESTIONS });
  if (similar.length === 0 && segments.length > 1) {
    similar = await listSensors(q, { prefix: segments.slice(0, -1).join('/') + '/', limit: SUGGESTIONS });
  }
  const hint = similar.length
    ? ` Similar sensor ids: ${[...new Set(similar.map((s) => s.sensor))].join(', ')}.`
    : '';
  return (
    `No readings of sensor "${sensor}"${where} have reached the cloud.${hint} ` +
    'Call list_sensors (optionally with prefix, e.g. "acme/plant1/", or gateway) to see the sensor ids the cloud holds, ' +
    'and fleet_overview to see the gateways.'
  );
}

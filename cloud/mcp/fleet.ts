import { listGateways } from '../db/gateways.js';
import type { Queryable } from '../db/connect.js';
import { readingsPerGateway } from '../db/sensors.js';
import { listWatermarks } from '../db/watermarks.js';

/** A gateway heard from within this long is online; edges sync every few seconds when linked. */
export const ONLINE_WITHIN_MS = 60_000;

export interface GatewayStatus {
  id: string;
  site: string;
  revoked: boolean;
  lastSeen: string | null;
  online: boolean;
  readings: number;
  watermarks: { readings: number; findings: number };
  /** cloud time minus gateway time at the last batch, including transit; null if never seen */
  clockOffsetMs: number | null;
}

export interface FleetOverview {
  now: string;
  gateways: GatewayStatus[];
  totals: { gateways: number; online: number; readings: number };
}

export async function fleetOverview(q: Queryable, nowMs: number): Promise<FleetOverview> {
  // One after another: q may be a single client, which runs one query at a time anyway.
  const gateways = await listGateways(q);
  const watermarks = await listWatermarks(q);
  const readings = await readingsPerGateway(q);
  const statuses = gateways.map((g): GatewayStatus => {
    const seen = g.lastSeenAt?.getTime() ?? null;
    const marks = { readings: 0, findings: 0 };
    for (const w of watermarks) if (w.gateway === g.id) marks[w.stream] = w.watermark;
    return {
      id: g.id,
      site: g.site,
      revoked: g.revokedAt !== null,
      lastSeen: seen === null ? null : new Date(seen).toISOString(),
      online: seen !== null && g.revokedAt === null && nowMs - seen <= ONLINE_WITHIN_MS,
      readings: readings.get(g.id) ?? 0,
      watermarks: marks,
      clockOffsetMs: g.lastClockOffsetMs,
    };
  });
  return {
    now: new Date(nowMs).toISOString(),
    gateways: statuses,
    totals: {
      gateways: statuses.length,
      online: statuses.filter((s) => s.online).length,
      readings: statuses.reduce((n, s) => n + s.readings, 0),
    },
  };
}

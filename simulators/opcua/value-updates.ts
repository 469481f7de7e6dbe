import { DataType, StatusCodes, Variant, type StatusCode } from 'node-opcua';
import type { Logger } from '../../shared/log.js';
import type { Quality } from '../../shared/reading.js';
import type { Served } from './address-space.js';

export interface OpcuaReading {
  sensor: string;
  /** Source timestamp, ms since the epoch (simulated time). */
  ts: number;
  value: number;
  quality?: Quality;
}

/** What `startOpcuaServer`'s `update` does; see `OpcuaServer.update`. */
export interface ValueUpdater {
  update(readings: readonly OpcuaReading[], missing?: readonly string[], stepTs?: number): void;
  readonly counts: { readonly unknownReadings: number; readonly failedUpdates: number };
}

const QUALITY_STATUS: Readonly<Record<Quality, StatusCode>> = {
  good: StatusCodes.Good,
  uncertain: StatusCodes.Uncertain,
  bad: StatusCodes.Bad,
};

/** Sensors remembered for logging a problem once each; beyond this problems are counted only. */
const MAX_LOGGED = 100;

/**
 * Writes readings into the variables: value, source timestamp (the reading's simulated time;
 * node-opcua's `setValueFromSource` sets the server timestamp to the same instant) and status.
 *
 * Bad input never stops the simulation: unknown sensors and values node-opcua refuses are skipped,
 * counted, and logged once per sensor (up to MAX_LOGGED sensors).
 */
export function createValueUpdater(served: ReadonlyMap<string, Served>, log: Logger): ValueUpdater {
  const logged = new Set<string>();
  const counts = { unknownReadings: 0, failedUpdates: 0 };
  const once = (event: string, sensor: string, fields: Record<string, unknown>) => {
    if (logged.has(sensor) || logged.size >= MAX_LOGGED) return;
    logged.add(sensor);
    log.warn(event, { sensor, ...fields });
  };
  const unknownSensor = (sensor: string) => {
    counts.unknownReadings++;
    once('opcua_unknown_sensor', sensor, { unknownSoFar: counts.unknownReadings });
  };
  const publish = (sensor: string, s: Served, variant: Variant | null, value: number, status: StatusCode, ts: number) => {
    try {
      s.node.setValueFromSource(variant ?? new Variant({ dataType: DataType.Null }), status, new Date(ts));
    } catch (err) {
      counts.failedUpdates++;
      once('opcua_update_failed', sensor, { error: err, failedSoFar: counts.failedUpdates });
      return;
    }
    if (variant) s.last = value;
    s.ring?.push(ts, variant ? value : Number.NaN, status);
  };

  let newestTs = Number.NaN;

  return {
    counts,
    update(readings, missing = [], stepTs) {
      for (const r of readings) {
        const s = served.get(r.sensor);
        if (!s) {
          unknownSensor(r.sensor);
          continue;
        }
        if (Number.isNaN(newestTs) || r.ts > newestTs) newestTs = r.ts;
        const variant = s.toVariant(r.value);
        if (variant) {
          publish(r.sensor, s, variant, r.value, QUALITY_STATUS[r.quality ?? 'good'], r.ts);
        } else {
          // A value the variable cannot hold (state index out of range, negative count): keep the last.
          publish(r.sensor, s, s.toVariant(s.last), s.last, StatusCodes.BadOutOfRange, r.ts);
        }
      }
      if (missing.length === 0) return;
      const when = stepTs ?? (Number.isNaN(newestTs) ? Date.now() : newestTs);
      for (const sensor of missing) {
        const s = served.get(sensor);
        if (!s) unknownSensor(sensor);
        else publish(sensor, s, s.toVariant(s.last), s.last, StatusCodes.BadNoCommunication, when);
      }
    },
  };
}

import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { AGENT_DETECTOR, createStreamDetector, type StreamDetector } from './detectors/stream.js';
import { createIncidentTracker, type IncidentTracker, type IncidentUpdate } from './incidents.js';

/**
 * The stateful side of analysis, on its own thread (comlink): one streaming detector and one
 * incident tracker per sensor, kept between calls. Piscina suits the stateless tasks; this state
 * must live in one place across calls, so it has one long-lived worker.
 */
export interface SensorBatch {
  sensor: string;
  ts: number[];
  values: number[];
}

const detectors = new Map<string, StreamDetector>();
const trackers = new Map<string, IncidentTracker>();
const lastTs = new Map<string, number>();

const api = {
  /** Scores each sensor's new readings in time order; returns the incidents they opened, escalated or closed. */
  observe(batches: SensorBatch[]): IncidentUpdate[] {
    const out: IncidentUpdate[] = [];
    for (const b of batches) {
      let d = detectors.get(b.sensor);
      let t = trackers.get(b.sensor);
      if (!d || !t) {
        d = createStreamDetector(AGENT_DETECTOR);
        t = createIncidentTracker(b.sensor);
        detectors.set(b.sensor, d);
        trackers.set(b.sensor, t);
      }
      let last = lastTs.get(b.sensor) ?? Number.NEGATIVE_INFINITY;
      for (let i = 0; i < b.values.length; i++) {
        // A backfilled reading older than what was scored is stored, not scored again out of order.
        if (b.ts[i]! <= last) continue;
        last = b.ts[i]!;
        const u = t.observe(b.ts[i]!, b.values[i]!, d.update(b.values[i]!));
        if (u) out.push(u);
      }
      lastTs.set(b.sensor, last);
    }
    return out;
  },
  stats: () => ({ sensors: detectors.size, open: [...trackers.values()].filter((t) => t.open()).length }),
};
export type StatefulAnalysisApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));

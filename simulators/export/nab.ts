import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VALUE_FAULT_KINDS } from '../faults/config.js';
import type { SimStep } from '../generate.js';
import type { GroundTruth } from '../ground-truth.js';
import type { Plant } from '../plant.js';
import type { BufferedFiles } from './files.js';

/**
 * The streams in the Numenta Anomaly Benchmark layout, so that the NAB scorer and our evaluation
 * read simulated plants like the benchmark's own files:
 *
 * - `data/<machine>/<sensor>.csv`: header `timestamp,value`, one row per good reading, the
 *   timestamp `YYYY-MM-DD HH:MM:SS` (UTC) as in NAB (with `.mmm` only when the period is not a
 *   whole second);
 * - `labels/combined_windows.json`: for every file, `"<machine>/<sensor>.csv"` → a list of
 *   `[start, end]` windows as `YYYY-MM-DD HH:MM:SS.ffffff`, like NAB's.
 *
 * A row is a reading the gateway received with good quality, stamped with the step's true time:
 * a dropout leaves a gap, readings marked bad are left out (a detector would not see them either),
 * and a clock jump does not move rows (series must stay in time order). So the label windows are
 * the value faults (spike, level_shift, drift, stuck, noise_burst), each exactly its first and
 * last affected step, that changed some value (`observable`: a sensor stuck on a signal that was
 * constant anyway is no anomaly a detector could find); the data-quality faults and the
 * unobservable windows are in ground-truth.json.
 */

export const NAB_HEADER = 'timestamp,value\n';

/** NAB's data timestamp: `2025-01-06 00:00:05`, or `2025-01-06 00:00:05.500` off whole seconds. */
export function formatNabTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-01-06T00:00:05.000Z
  const date = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  const frac = iso.slice(20, 23);
  return frac === '000' ? `${date} ${time}` : `${date} ${time}.${frac}`;
}

/** NAB's label timestamp: `2025-01-06 00:00:05.000000`. */
export function formatNabLabelTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${iso.slice(20, 23)}000`;
}

/** `pump-1/vibration_rms.csv`: the machine is the NAB category (group), the sensor the file. */
export function nabKey(machine: string, sensor: string): string {
  return `${machine}/${sensor}.csv`;
}

export interface NabSummary {
  files: number;
  rows: number;
  windows: number;
}

export interface NabWriter {
  add(step: SimStep): void;
  /** Writes the labels from the ground truth; call after the last step. */
  finish(gt: GroundTruth): NabSummary;
}

export function createNabWriter(opts: { outDir: string; plant: Plant; files: BufferedFiles }): NabWriter {
  const { outDir, plant, files } = opts;
  const names = new Set(plant.machines.map((m) => m.name));
  if (names.size !== plant.machines.length) throw new Error('machine names are not unique in the plant; NAB groups need them to be');

  // Sensor id → its CSV path and NAB key, in plant order.
  const bySensor = new Map<string, { path: string; key: string }>();
  for (const machine of plant.machines) {
    mkdirSync(join(outDir, 'data', machine.name), { recursive: true });
    for (const sensor of machine.sensors) {
      const key = nabKey(machine.name, sensor.name);
      const path = join(outDir, 'data', key);
      bySensor.set(sensor.id, { path, key });
      files.append(path, NAB_HEADER);
    }
  }
  let rows = 0;

  return {
    add(step) {
      const time = formatNabTime(step.ts);
      for (const r of step.readings) {
        if (r.quality === 'bad') continue;
        const target = bySensor.get(r.sensor);
        if (!target) continue;
        files.append(target.path, `${time},${r.value}\n`);
        rows++;
      }
    },

    finish(gt) {
      const labels: Record<string, [string, string][]> = {};
      const keyOf = new Map([...bySensor].map(([id, t]) => [id, t.key]));
      for (const { key } of bySensor.values()) labels[key] = [];
      let windows = 0;
      for (const w of gt.anomalies) {
        const key = keyOf.get(w.sensor);
        if (!key || !w.observable || !VALUE_FAULT_KINDS.includes(w.kind)) continue;
        labels[key]?.push([formatNabLabelTime(w.start), formatNabLabelTime(w.end)]);
        windows++;
      }
      const sorted = Object.fromEntries(
        Object.keys(labels)
          .sort()
          .map((k) => [k, (labels[k] ?? []).sort((a, b) => a[0].localeCompare(b[0]))]),
      );
      mkdirSync(join(outDir, 'labels'), { recursive: true });
      writeFileSync(join(outDir, 'labels', 'combined_windows.json'), JSON.stringify(sorted, null, 4) + '\n');
      return { files: bySensor.size, rows, windows };
    },
  };
}

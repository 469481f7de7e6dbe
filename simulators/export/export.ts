import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSimulation } from '../generate.js';
import { writeGroundTruth } from '../ground-truth.js';
import type { Scenario } from '../scenario.js';
import { createCmapssWriter, type CmapssSummary } from './cmapss.js';
import { createBufferedFiles } from './files.js';
import { createNabWriter, type NabSummary } from './nab.js';

/**
 * `millwright sim export`: runs a scenario for some simulated days as fast as it goes and writes
 *
 *   OUT/data/<machine>/<sensor>.csv, OUT/labels/combined_windows.json   NAB layout (export/nab.ts)
 *   OUT/cmapss/train_<type>.txt ...                                      C-MAPSS layout (export/cmapss.ts)
 *   OUT/ground-truth.json                                                everything injected (ground-truth.ts)
 *   OUT/export.json                                                      what was exported, from what
 *
 * Memory stays bounded whatever the length: rows go to the files through a bounded buffer, and
 * only the ground truth's windows, events and hourly truth samples are kept.
 *
 * An existing OUT is reused only if it holds an earlier export (its export.json): the export
 * then replaces what it wrote before. Any other non-empty directory is refused, so a mistyped
 * --out never deletes someone's files.
 */

/** Monday 2025-01-06 00:00 UTC: exports start here unless told otherwise, so they are reproducible. */
export const DEFAULT_EXPORT_START_MS = Date.UTC(2025, 0, 6);

const DAY_MS = 86_400_000;
const MARKER = 'export.json';

export interface ExportOptions {
  scenario: Scenario;
  /** Simulated days to export; fractions allowed. */
  days: number;
  outDir: string;
  /** Timestamp of the first step. Default DEFAULT_EXPORT_START_MS. */
  startMs?: number;
  /** Length of a C-MAPSS cycle. Default one hour. */
  cycleMs?: number;
  /** How far past the end to run to find the failures of lives cut short. Default: `days`. */
  lookaheadDays?: number;
  /** Called with the fraction done, in [0, 1], a few hundred times over the export and with 1 at the end. */
  onProgress?: (fraction: number) => void;
  /** Aborting stops the export between two steps; what was written stays, incomplete. */
  signal?: AbortSignal;
}

export interface ExportSummary {
  outDir: string;
  scenario: string;
  seed: number;
  startMs: number;
  /** Timestamp of the last step. */
  endMs: number;
  periodMs: number;
  steps: number;
  sensors: number;
  machines: number;
  nab: NabSummary;
  cmapss: CmapssSummary;
  groundTruth: { anomalies: number; clockJumps: number; failures: number };
  elapsedMs: number;
}

export async function exportScenario(opts: ExportOptions): Promise<ExportSummary> {
  const { scenario, days, onProgress, signal } = opts;
  const outDir = resolve(opts.outDir);
  const startMs = opts.startMs ?? DEFAULT_EXPORT_START_MS;
  const cycleMs = opts.cycleMs ?? 3_600_000;
  const lookaheadDays = opts.lookaheadDays ?? days;
  if (!(Number.isFinite(days) && days > 0)) throw new RangeError(`days must be a positive number, got ${days}`);
  if (!Number.isInteger(cycleMs) || cycleMs < scenario.periodMs) {
    throw new RangeError(`cycleMs must be an integer no shorter than the period (${scenario.periodMs} ms), got ${cycleMs}`);
  }
  if (!(Number.isFinite(lookaheadDays) && lookaheadDays >= 0)) throw new RangeError(`lookaheadDays must be 0 or more, got ${lookaheadDays}`);
  const steps = Math.max(1, Math.floor((days * DAY_MS) / scenario.periodMs));
  const lookaheadSteps = Math.floor((lookaheadDays * DAY_MS) / scenario.periodMs);

  const t0 = performance.now();
  prepareOutDir(outDir);
  signal?.throwIfAborted();
  // Marks the directory as ours at once, so that an interrupted export can be redone into it.
  writeFileSync(join(outDir, MARKER), JSON.stringify({ complete: false, scenario: scenario.name, days, startMs }) + '\n');
  // The recorded part is the first `steps`; the lookahead, if needed, reads on.
  const sim = createSimulation(scenario, { startMs, steps: steps + lookaheadSteps, recordTruth: true });
  const files = createBufferedFiles();
  const nab = createNabWriter({ outDir, plant: sim.plant, files });
  const cmapss = createCmapssWriter({ outDir, plant: sim.plant, files, startMs, cycleMs });

  const progress = createProgress(onProgress);
  const yielder = createYielder();
  const iterator = sim.steps[Symbol.iterator]();
  for (let i = 0; i < steps; i++) {
    const next = iterator.next();
    if (next.done) break;
    nab.add(next.value);
    cmapss.add(next.value);
    progress(((i + 1) / steps) * 0.9);
    await yielder(signal);
  }
  cmapss.endRecording();
  const gt = sim.groundTruth.snapshot();

  for (let i = 0; i < lookaheadSteps && cmapss.unresolved() > 0; i++) {
    const next = iterator.next();
    if (next.done) break;
    cmapss.lookahead(next.value);
    progress(0.9 + ((i + 1) / lookaheadSteps) * 0.1);
    await yielder(signal);
  }
  iterator.return?.();

  const nabSummary = nab.finish(gt);
  const cmapssSummary = cmapss.finish();
  files.flush();
  writeGroundTruth(join(outDir, 'ground-truth.json'), gt);

  const summary: ExportSummary = {
    outDir,
    scenario: scenario.name,
    seed: scenario.seed,
    startMs,
    endMs: gt.endMs ?? startMs,
    periodMs: scenario.periodMs,
    steps: gt.steps,
    sensors: sim.plant.sensors.length,
    machines: sim.plant.machines.length,
    nab: nabSummary,
    cmapss: cmapssSummary,
    groundTruth: {
      anomalies: gt.anomalies.length,
      clockJumps: gt.clockJumps.length,
      failures: Object.values(gt.assets).reduce((n, a) => n + a.failures.length, 0),
    },
    elapsedMs: Math.round(performance.now() - t0),
  };
  writeFileSync(join(outDir, MARKER), JSON.stringify({ complete: true, ...summary, days, cycleMs, scenarioDefinition: scenario }, null, 2) + '\n');
  onProgress?.(1);
  return summary;
}

function prepareOutDir(outDir: string): void {
  if (existsSync(outDir)) {
    const entries = readdirSync(outDir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(`export: ${outDir} is not empty and holds no earlier export (${MARKER}); give an empty or new directory`);
    }
    for (const name of ['data', 'labels', 'cmapss', 'ground-truth.json', MARKER]) rmSync(join(outDir, name), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
}

/** Calls `onProgress` when the fraction moved by at least 0.5 %. */
function createProgress(onProgress: ((fraction: number) => void) | undefined): (fraction: number) => void {
  let last = -1;
  return (fraction) => {
    if (!onProgress || fraction - last < 0.005) return;
    last = fraction;
    onProgress(Math.min(1, fraction));
  };
}

/** Gives the event loop a turn every 50 ms of work (signals, progress drawing), and honours abort. */
function createYielder(): (signal: AbortSignal | undefined) => Promise<void> {
  let since = performance.now();
  return async (signal) => {
    if (performance.now() - since < 50) return;
    await new Promise<void>((r) => setImmediate(r));
    since = performance.now();
    signal?.throwIfAborted();
  };
}

import { AGENT_DETECTOR, createStreamDetector, DEFAULT_DETECTOR, type DetectorOptions } from '../detectors/stream.js';
import { createIncidentTracker } from '../incidents.js';
import { readNabCorpus, writeNabResults, type NabFile } from './nab-corpus.js';
import { nabScore, NAB_PROFILES, type NabProfile, type ProfileResult, type ScoredFile } from './nab-score.js';

export const NAB_DETECTOR_NAME = 'millwright';

export interface NabEvalOptions {
  data: string;
  labels: string;
  out: string;
  detector?: Partial<DetectorOptions>;
  onProgress?: (done: number, total: number, file: string) => void;
}

/** The corpus as the agent would alarm on it (detector AGENT_DETECTOR, incidents.ts). */
export interface AlarmStats {
  /** Windows with an alarm raised inside them, of all windows. */
  windowsAlarmed: number;
  windows: number;
  /** Alarms raised outside every window. */
  falseAlarms: number;
  /** Assets (the corpus's groups: a machine in the simulator's export) times the days covered. */
  assetDays: number;
}

export interface NabEvalResult {
  files: number;
  rows: number;
  windows: number;
  results: ProfileResult[];
  /** Detector time per reading, in microseconds (this machine, one thread). */
  microsPerReading: number;
  alarms: AlarmStats;
}

/** Scores as the results files hold them: the scorer reads what was written. */
const written = (s: number) => Number(s.toFixed(6));

/** Runs the detector causally over every file, writes NAB results files, and scores them. */
export function runNabEval(opts: NabEvalOptions): NabEvalResult {
  const corpus: NabFile[] = readNabCorpus(opts.data, opts.labels);
  const options = { ...DEFAULT_DETECTOR, ...opts.detector };
  const scored: ScoredFile[] = [];
  let detectNs = 0n;
  let rows = 0;
  for (const [k, file] of corpus.entries()) {
    const detector = createStreamDetector(options);
    const t0 = process.hrtime.bigint();
    const scores = file.values.map((v) => detector.update(v).score);
    detectNs += process.hrtime.bigint() - t0;
    rows += scores.length;
    writeNabResults(opts.out, NAB_DETECTOR_NAME, file, scores);
    scored.push({ name: file.name, timestamps: file.timestamps, scores: scores.map(written), windows: file.windows });
    opts.onProgress?.(k + 1, corpus.length, file.name);
  }
  const results = (Object.keys(NAB_PROFILES) as NabProfile[]).map((p) => nabScore(scored, p));
  return { files: corpus.length, rows, windows: corpus.reduce((n, f) => n + f.windows.length, 0), results, microsPerReading: Number(detectNs) / 1000 / rows, alarms: alarmStats(corpus) };
}

/** Recall of the labelled windows and false alarms per asset-day, with the agent's alarm rules. */
export function alarmStats(corpus: readonly NabFile[]): AlarmStats {
  let windowsAlarmed = 0;
  let windows = 0;
  let falseAlarms = 0;
  const span = new Map<string, [number, number]>();
  for (const file of corpus) {
    const detector = createStreamDetector(AGENT_DETECTOR);
    const tracker = createIncidentTracker(file.name);
    const raised: number[] = [];
    file.values.forEach((v, i) => {
      const u = tracker.observe(file.timestamps[i]!, v, detector.update(v));
      if (u && u.alarm.state === 'active' && u.alarm.raisedAt === file.timestamps[i]) raised.push(file.timestamps[i]!);
    });
    const inside = (t: number) => file.windows.some(([a, b]) => t >= a && t <= b);
    windows += file.windows.length;
    windowsAlarmed += file.windows.filter(([a, b]) => raised.some((t) => t >= a && t <= b)).length;
    falseAlarms += raised.filter((t) => !inside(t)).length;
    const group = file.name.split('/')[0]!;
    const [lo, hi] = span.get(group) ?? [Infinity, -Infinity];
    span.set(group, [Math.min(lo, file.timestamps[0]!), Math.max(hi, file.timestamps[file.timestamps.length - 1]!)]);
  }
  const assetDays = [...span.values()].reduce((n, [lo, hi]) => n + (hi - lo) / 86_400_000, 0);
  return { windowsAlarmed, windows, falseAlarms, assetDays };
}

import { createStreamDetector, DEFAULT_DETECTOR, type DetectorOptions } from '../detectors/stream.js';
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

export interface NabEvalResult {
  files: number;
  rows: number;
  windows: number;
  results: ProfileResult[];
  /** Detector time per reading, in microseconds (this machine, one thread). */
  microsPerReading: number;
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
  return { files: corpus.length, rows, windows: corpus.reduce((n, f) => n + f.windows.length, 0), results, microsPerReading: Number(detectNs) / 1000 / rows };
}

import { CorpusError } from './nab-corpus.js';
import { NAB_DETECTOR_NAME, runNabEval } from './nab-eval.js';

/** Published NAB v1.1 scores (../shared/datasets/nab/scoreboard.json), printed beside ours. */
const REFERENCE: [string, number, number, number][] = [
  ['ARTime', 74.85, 65.15, 80.36],
  ['Numenta HTM', 70.1, 63.12, 74.32],
  ['CAD OSE', 69.9, 66.98, 73.18],
  ['Windowed Gaussian', 39.65, 20.87, 47.41],
];

/**
 * `millwright eval nab --data DIR --labels FILE --out DIR`: runs the detector causally over every
 * file, writes NAB results files, prints the three profiles' scores. Exit 2 for a corpus that
 * cannot be read (the message names the file and the problem).
 */
export async function evalNab(opts: { data: string; labels: string; out: string }): Promise<number> {
  const t0 = Date.now();
  try {
    const r = runNabEval({
      ...opts,
      onProgress: (done, total, file) => process.stderr.write(`\r[${done}/${total}] ${file}`.padEnd(80)),
    });
    process.stderr.write('\n');
    const fmt = (n: number) => n.toFixed(2).padStart(8);
    const lines = [
      `NAB v1.1 scoring of "${NAB_DETECTOR_NAME}" over ${r.files} files, ${r.rows.toLocaleString('en')} rows, ${r.windows} windows (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      `results: ${opts.out}/${NAB_DETECTOR_NAME}/<group>/${NAB_DETECTOR_NAME}_<file>.csv`,
      '',
      `${'detector'.padEnd(20)}${'standard'.padStart(8)}  ${'low FP'.padStart(8)}  ${'low FN'.padStart(8)}`,
      `${NAB_DETECTOR_NAME.padEnd(20)}${r.results.map((x) => fmt(x.score)).join('  ')}`,
      ...REFERENCE.map(([name, a, b, c]) => `${name.padEnd(20)}${[a, b, c].map(fmt).join('  ')}`),
      '',
      ...r.results.map((x) => `${x.profile}: threshold ${x.threshold}, raw ${x.raw.toFixed(4)}, detections in windows ${x.tp}, outside ${x.fp}`),
      `detector cost: ${r.microsPerReading.toFixed(2)} µs per reading (one thread)`,
      `as the agent alarms (raise at 0.8, clear under 0.5): ${r.alarms.windowsAlarmed} of ${r.alarms.windows} windows alarmed (recall ${r.alarms.windows ? ((100 * r.alarms.windowsAlarmed) / r.alarms.windows).toFixed(1) : '-'} %), ${r.alarms.falseAlarms} alarms outside them = ${(r.alarms.falseAlarms / Math.max(r.alarms.assetDays, 1e-9)).toFixed(2)} per asset-day (${r.alarms.assetDays.toFixed(1)} asset-days)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } catch (err) {
    process.stderr.write('\n');
    if (err instanceof CorpusError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

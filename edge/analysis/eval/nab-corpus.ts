import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * A corpus in NAB's layout: `DATA/<group>/<file>.csv` with `timestamp,value` rows, and a labels
 * file mapping `<group>/<file>.csv` to its anomaly windows (`[[start, end], …]`). NAB's own data
 * and the simulator's export (`millwright sim export`) both look like this.
 */
export interface NabFile {
  /** `<group>/<file>.csv`, as the labels file names it. */
  name: string;
  /** The timestamp column as written, kept for the results files. */
  stamps: string[];
  timestamps: number[];
  values: number[];
  windows: [number, number][];
}

export class CorpusError extends Error {
  override name = 'CorpusError';
}

/** "2013-12-02 21:15:00" or "2013-12-10 06:25:00.000000" (NAB's forms, UTC) or ISO 8601, as ms. */
export function parseNabTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z)?$/.exec(s.trim());
  if (!m) return Number.NaN;
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms);
}

function readCsv(file: string, name: string): Pick<NabFile, 'stamps' | 'timestamps' | 'values'> {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines.shift()?.split(',').map((h) => h.trim());
  const ti = header?.indexOf('timestamp') ?? -1;
  const vi = header?.indexOf('value') ?? -1;
  if (ti < 0 || vi < 0) throw new CorpusError(`${file}: the header must name "timestamp" and "value" columns (got "${header?.join(',') ?? ''}")`);
  const stamps: string[] = [];
  const timestamps: number[] = [];
  const values: number[] = [];
  lines.forEach((line, k) => {
    const cols = line.split(',');
    const t = parseNabTime(cols[ti] ?? '');
    const v = Number(cols[vi]);
    if (Number.isNaN(t) || !Number.isFinite(v)) throw new CorpusError(`${file}:${k + 2}: expected "timestamp,value" with a time and a number, got "${line}"`);
    stamps.push(cols[ti]!.trim());
    timestamps.push(t);
    values.push(v);
  });
  if (values.length === 0) throw new CorpusError(`${name}: no rows`);
  return { stamps, timestamps, values };
}

/** Reads every `<group>/<file>.csv` under `dataDir` with its windows from `labelsFile`, sorted by name. */
export function readNabCorpus(dataDir: string, labelsFile: string): NabFile[] {
  let labels: Record<string, [string, string][]>;
  try {
    labels = JSON.parse(readFileSync(labelsFile, 'utf8')) as Record<string, [string, string][]>;
  } catch (err) {
    throw new CorpusError(`--labels ${labelsFile}: ${(err as Error).message}`);
  }
  let groups: string[];
  try {
    groups = readdirSync(dataDir).filter((g) => statSync(join(dataDir, g)).isDirectory());
  } catch (err) {
    throw new CorpusError(`--data ${dataDir}: ${(err as Error).message}`);
  }
  const files: NabFile[] = [];
  for (const group of groups.sort()) {
    for (const f of readdirSync(join(dataDir, group)).filter((x) => x.endsWith('.csv')).sort()) {
      const name = `${group}/${f}`;
      const windows = labels[name];
      if (!Array.isArray(windows)) throw new CorpusError(`${labelsFile} has no entry for ${name}; every data file needs one ([] for none)`);
      const csv = readCsv(join(dataDir, group, f), name);
      const parsed = windows.map(([a, b]) => [parseNabTime(a), parseNabTime(b)] as [number, number]);
      const times = new Set(csv.timestamps);
      for (const [i, [a, b]] of parsed.entries()) {
        if (!times.has(a) || !times.has(b)) throw new CorpusError(`${labelsFile}: window ${i} of ${name} (${windows[i]![0]} .. ${windows[i]![1]}) does not start and end on row timestamps`);
      }
      files.push({ name, ...csv, windows: parsed });
    }
  }
  if (files.length === 0) throw new CorpusError(`--data ${dataDir}: no <group>/<file>.csv files`);
  return files;
}

/**
 * Writes a detector's scores in NAB's results layout:
 * `OUT/<detector>/<group>/<detector>_<file>.csv` with `timestamp,value,anomaly_score,label`.
 */
export function writeNabResults(outDir: string, detector: string, file: NabFile, scores: readonly number[]): string {
  const path = join(outDir, detector, dirname(file.name), `${detector}_${basename(file.name)}`);
  mkdirSync(dirname(path), { recursive: true });
  const inWindow = (t: number) => file.windows.some(([a, b]) => t >= a && t <= b);
  const rows = file.stamps.map((s, i) => `${s},${file.values[i]},${scores[i]!.toFixed(6)},${inWindow(file.timestamps[i]!) ? 1 : 0}`);
  writeFileSync(path, `timestamp,value,anomaly_score,label\n${rows.join('\n')}\n`);
  return path;
}

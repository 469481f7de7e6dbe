import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createStreamDetector } from '../detectors/stream.js';
import { evalNab } from './cli.js';
import { CorpusError, parseNabTime, readNabCorpus } from './nab-corpus.js';
import { NAB_DETECTOR_NAME, runNabEval } from './nab-eval.js';
import { nabScore } from './nab-score.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const T0 = Date.UTC(2014, 0, 1);

/** A corpus in NAB's layout: a level shift in one file, nothing in another. */
function tinyCorpus(): { data: string; labels: string; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'mw-nab-'));
  dirs.push(root);
  const data = join(root, 'data');
  const series: Record<string, number[]> = {
    'plant/shift.csv': Array.from({ length: 2000 }, (_, i) => 50 + Math.sin(i / 10) + (i >= 1500 ? 20 : 0)),
    'plant/calm.csv': Array.from({ length: 1000 }, (_, i) => 10 + Math.cos(i / 7)),
  };
  for (const [name, values] of Object.entries(series)) {
    mkdirSync(join(data, name.split('/')[0]!), { recursive: true });
    writeFileSync(join(data, name), `timestamp,value\n${values.map((v, i) => `${stamp(T0 + i * 300_000)},${v}`).join('\n')}\n`);
  }
  const labels = join(root, 'labels.json');
  writeFileSync(labels, JSON.stringify({ 'plant/shift.csv': [[`${stamp(T0 + 1450 * 300_000)}.000000`, `${stamp(T0 + 1549 * 300_000)}.000000`]], 'plant/calm.csv': [] }));
  return { data, labels, out: join(root, 'out') };
}

describe('millwright eval nab', () => {
  it('writes one results file per data file in NAB layout, one row per input row, scores in [0, 1]', () => {
    const c = tinyCorpus();
    const r = runNabEval(c);
    expect(r).toMatchObject({ files: 2, rows: 3000, windows: 1 });
    const file = join(c.out, NAB_DETECTOR_NAME, 'plant', `${NAB_DETECTOR_NAME}_shift.csv`);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,anomaly_score,label');
    expect(lines).toHaveLength(2001);
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.every((x) => Number(x[2]) >= 0 && Number(x[2]) <= 1)).toBe(true);
    expect(rows.filter((x) => x[3] === '1')).toHaveLength(100);
    expect(rows[0]![0]).toBe(stamp(T0));
    // The level shift at row 1500 is found, inside its window: a positive score in every profile.
    for (const p of r.results) expect(p.score).toBeGreaterThan(0);
    // As the agent would alarm: the shift raises one alarm inside its window, the calm file none.
    expect(r.alarms).toMatchObject({ windowsAlarmed: 1, windows: 1, falseAlarms: 0 });
    expect(r.alarms.assetDays).toBeCloseTo((1999 * 300_000) / 86_400_000, 6);
  });

  it('names the file and the line of a bad row, and a data file the labels do not mention', () => {
    const c = tinyCorpus();
    writeFileSync(join(c.data, 'plant', 'calm.csv'), `timestamp,value\n${stamp(T0)},1\n${stamp(T0 + 300_000)},lots\n`);
    expect(() => readNabCorpus(c.data, c.labels)).toThrow(/calm\.csv:3: expected "timestamp,value"/);
    writeFileSync(join(c.data, 'plant', 'calm.csv'), `timestamp,value\n${stamp(T0)},1\n`);
    writeFileSync(join(c.data, 'plant', 'extra.csv'), `timestamp,value\n${stamp(T0)},1\n`);
    expect(() => readNabCorpus(c.data, c.labels)).toThrow(CorpusError);
    expect(() => readNabCorpus(c.data, c.labels)).toThrow(/no entry for plant\/extra\.csv/);
  });

  it('the command prints the three profiles and exits 0; a labels file that is not there exits 2 naming it', async () => {
    const c = tinyCorpus();
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((x: string | Uint8Array) => (out.push(String(x)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((x: string | Uint8Array) => (err.push(String(x)), true));
    try {
      expect(await evalNab(c)).toBe(0);
      expect(out.join('')).toMatch(/millwright\s+-?\d+\.\d\d\s+-?\d+\.\d\d\s+-?\d+\.\d\d/);
      expect(err.join('')).toMatch(/\[2\/2\] plant\/shift\.csv/);
      expect(await evalNab({ ...c, labels: join(c.out, 'missing.json') })).toBe(2);
      expect(err.join('')).toMatch(/--labels .*missing\.json: ENOENT/);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('the detector is causal: changing the future never changes a past score', () => {
    const values = Array.from({ length: 3000 }, (_, i) => Math.sin(i / 13) * 5 + ((i * 7919) % 17) / 10);
    const altered = values.map((v, i) => (i >= 2000 ? v * -3 + 100 : v));
    const run = (xs: number[]) => {
      const d = createStreamDetector();
      return xs.map((x) => d.update(x).score);
    };
    expect(run(altered).slice(0, 2000)).toEqual(run(values).slice(0, 2000));
    expect(run(altered).slice(2000)).not.toEqual(run(values).slice(2000));
  });

  const nab = join(import.meta.dirname, '../../../../shared/datasets/nab');
  it.skipIf(!existsSync(nab))('on NAB itself: 58 results files, and scoring them back gives the printed scores', () => {
    const out = mkdtempSync(join(tmpdir(), 'mw-nab-out-'));
    dirs.push(out);
    const r = runNabEval({ data: join(nab, 'data'), labels: join(nab, 'labels/combined_windows.json'), out });
    expect(r).toMatchObject({ files: 58, windows: 116 });
    const corpus = readNabCorpus(join(nab, 'data'), join(nab, 'labels/combined_windows.json'));
    const files = corpus.map((f) => {
      const [group, name] = f.name.split('/');
      const rows = readFileSync(join(out, NAB_DETECTOR_NAME, group!, `${NAB_DETECTOR_NAME}_${name}`), 'utf8').trim().split('\n').slice(1);
      expect(rows).toHaveLength(f.values.length);
      return { name: f.name, timestamps: rows.map((l) => parseNabTime(l.split(',')[0]!)), scores: rows.map((l) => Number(l.split(',')[2])), windows: f.windows };
    });
    for (const p of r.results) expect(nabScore(files, p.profile).score).toBeCloseTo(p.score, 10);
    expect(readdirSync(join(out, NAB_DETECTOR_NAME)).sort()).toEqual(readdirSync(join(nab, 'data')).filter((d) => !d.includes('.')).sort());
  });
});

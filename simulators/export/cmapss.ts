import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sensorKind } from '../faults/config.js';
import type { SimStep } from '../generate.js';
import { ambientC, dailyLoad } from '../machines/model.js';
import type { Plant, PlantMachine } from '../plant.js';
import type { BufferedFiles } from './files.js';

/**
 * Run-to-failure histories in the layout of NASA's C-MAPSS turbofan data, one set of files per
 * machine type, so that a remaining-useful-life model trains and scores on simulated machines as
 * it does on the benchmark:
 *
 * - `cmapss/train_<type>.txt`: space-separated, no header: unit, cycle, three operating settings
 *   (load, speed, ambient), then one column per sensor. A unit is one machine life that ended in
 *   a failure; its cycles run 1, 2, 3 ... and its last cycle is the one the failure fell in.
 * - `cmapss/train_<type>_rul.txt`: the true RUL of each train row, in cycles (last cycle − cycle),
 *   line for line: it decreases to 0 at the failure.
 * - `cmapss/test_<type>.txt` and `cmapss/RUL_<type>.txt`: lives cut short by the end of the
 *   export (C-MAPSS's test layout): the rows, and one line per unit with its true RUL at its last
 *   cycle. The export runs the plant on past its end (up to `lookaheadDays`) to see when each of
 *   these machines fails; a life whose failure it does not see is left out of the test set.
 * - `cmapss/columns_<type>.txt`: the column names, one line.
 *
 * A cycle is `cycleMs` of simulated time (default one hour) on a fixed grid from the start.
 * Values are over the good readings of the cycle: analog sensors their mean, counters their last
 * value, the machine state the share of readings in state 0 (running). A sensor with no good
 * reading in a cycle repeats its previous value; a life's first cycles without one are left out.
 * Settings: load is the machine model's true load (mean over the cycle; the plant's daily load
 * curve for models that do not report it), speed the mean of the machine's speed channel as a
 * fraction of its range (load for types without one), ambient the hall temperature.
 *
 * A life starts at the beginning of the export or at a repair's end, and ends at a failure. If
 * the model reports no events, every machine has one life that never ends, and the train set is
 * empty. Between a failure and the end of the repair nothing is written.
 */

const SPEED_CHANNELS = ['speed', 'belt_speed', 'stroke_rate'];

export interface CmapssSummary {
  types: number;
  trainUnits: number;
  testUnits: number;
  /** Lives cut short whose remaining life is unknown (no failure seen within the lookahead). */
  unresolvedUnits: number;
  rows: number;
}

export interface CmapssWriter {
  add(step: SimStep): void;
  /** Ends the recorded part: the lives still running are cut short here. */
  endRecording(): void;
  /** Lives cut short whose failure has not been seen yet. */
  unresolved(): number;
  /** After endRecording: watches later steps for the failures of the lives cut short. */
  lookahead(step: SimStep): void;
  finish(): CmapssSummary;
}

interface Life {
  readonly number: number;
  cycles: number;
  end: 'failure' | 'cut';
  /** Cycle index (grid) of the last row. */
  lastBucket: number;
  /** Cut lives: cycles from the last row to the failure, once seen. */
  rul?: number;
}

interface Track {
  readonly machine: PlantMachine;
  readonly kinds: readonly ('analog' | 'counter' | 'state')[];
  readonly speedAt: number;
  readonly speedTop: number;
  readonly tmp: string;
  alive: boolean;
  lives: Life[];
  current: Life | undefined;
  /** Accumulating cycle. */
  bucket: number;
  sum: number[];
  count: number[];
  lastSeen: (number | undefined)[];
  loadSum: number;
  loadCount: number;
  ambientSum: number;
  steps: number;
  /** Previous row's sensor values, carried into a cycle without readings. */
  carry: (number | undefined)[];
  lastWear: number | undefined;
}

export function createCmapssWriter(opts: { outDir: string; plant: Plant; files: BufferedFiles; startMs: number; cycleMs: number }): CmapssWriter {
  const { outDir, plant, files, startMs, cycleMs } = opts;
  const dir = join(outDir, 'cmapss');
  const tmpDir = join(dir, '.lives');
  mkdirSync(tmpDir, { recursive: true });

  const tracks: Track[] = plant.machines.map((machine, m) => {
    const speedAt = machine.sensors.findIndex((s) => SPEED_CHANNELS.includes(s.name));
    const n = machine.sensors.length;
    return {
      machine,
      kinds: machine.sensors.map((s) => sensorKind(s)),
      speedAt,
      speedTop: speedAt < 0 ? 1 : (machine.sensors[speedAt]?.range[1] ?? 1),
      tmp: join(tmpDir, `${m}.txt`),
      alive: true,
      lives: [],
      current: undefined,
      bucket: -1,
      sum: new Array<number>(n).fill(0),
      count: new Array<number>(n).fill(0),
      lastSeen: new Array<number | undefined>(n).fill(undefined),
      loadSum: 0,
      loadCount: 0,
      ambientSum: 0,
      steps: 0,
      carry: new Array<number | undefined>(n).fill(undefined),
      lastWear: undefined,
    };
  });
  // Sensor id → [machine index, sensor index within the machine].
  const where = new Map<string, [number, number]>();
  tracks.forEach((t, m) => t.machine.sensors.forEach((s, k) => where.set(s.id, [m, k])));
  let recording = true;

  const bucketOf = (ts: number): number => Math.floor((ts - startMs) / cycleMs);

  const startLife = (t: Track): void => {
    t.current = { number: t.lives.length, cycles: 0, end: 'cut', lastBucket: -1 };
    t.lives.push(t.current);
    t.carry.fill(undefined);
    resetCycle(t, -1);
  };

  const resetCycle = (t: Track, bucket: number): void => {
    t.bucket = bucket;
    t.sum.fill(0);
    t.count.fill(0);
    t.lastSeen.fill(undefined);
    t.loadSum = 0;
    t.loadCount = 0;
    t.ambientSum = 0;
    t.steps = 0;
  };

  /** Writes the accumulated cycle as the life's next row, if it has something for every sensor. */
  const emitCycle = (t: Track): void => {
    const life = t.current;
    if (!life || t.steps === 0) return;
    const values: number[] = [];
    for (let k = 0; k < t.kinds.length; k++) {
      let v: number | undefined;
      if (t.count[k]! > 0) v = t.kinds[k] === 'counter' ? t.lastSeen[k] : t.sum[k]! / t.count[k]!;
      v ??= t.carry[k];
      if (v === undefined) return; // nothing yet for this sensor in this life: no row
      values.push(v);
    }
    t.carry = values.slice();
    const ts = startMs + t.bucket * cycleMs + cycleMs / 2;
    const load = t.loadCount > 0 ? t.loadSum / t.loadCount : dailyLoad(ts, 0);
    const speed = t.speedAt >= 0 ? (values[t.speedAt] as number) / t.speedTop : load;
    const ambient = t.ambientSum / t.steps;
    life.cycles++;
    life.lastBucket = t.bucket;
    const cells = [load.toFixed(4), speed.toFixed(4), ambient.toFixed(2)];
    values.forEach((v, k) => cells.push(formatValue(v, t.kinds[k]!, t.machine.sensors[k]!.decimals)));
    files.append(t.tmp, `${life.number} ${life.cycles} ${cells.join(' ')}\n`);
  };

  const accumulate = (t: Track, step: SimStep, m: number): void => {
    const b = bucketOf(step.ts);
    if (b !== t.bucket) {
      emitCycle(t);
      resetCycle(t, b);
    }
    t.steps++;
    t.ambientSum += ambientC(step.ts);
    const load = step.truth[m]?.load;
    if (load !== undefined) {
      t.loadSum += load;
      t.loadCount++;
    }
  };

  const closeLife = (t: Track, end: Life['end']): void => {
    emitCycle(t);
    if (t.current) t.current.end = end;
    t.current = undefined;
    resetCycle(t, -1);
  };

  for (const t of tracks) startLife(t);

  return {
    add(step) {
      // Machine events and the life they start or end, before the readings of the step.
      const failed = new Set<number>();
      const repaired = new Set<number>();
      for (const e of step.events) {
        if (e.kind === 'failure') failed.add(e.machine);
        else if (e.kind === 'repair_end') {
          // A repair that ends after a failure in the same step: the new life starts next step.
          if (failed.has(e.machine)) repaired.add(e.machine);
          else if (!tracks[e.machine]?.alive) repaired.add(e.machine);
        }
      }
      const include: boolean[] = tracks.map((t, m) => {
        const wear = step.truth[m]?.wear;
        // A life renewed without a failure (an overhaul): wear fell. Cut the old life short.
        if (t.alive && !failed.has(m) && wear !== undefined && t.lastWear !== undefined && wear < t.lastWear - 0.05) {
          closeLife(t, 'cut');
          startLife(t);
        }
        t.lastWear = wear;
        if (t.alive) return true;
        if (repaired.has(m) && !failed.has(m)) {
          t.alive = true;
          startLife(t);
          return true;
        }
        return false;
      });
      tracks.forEach((t, m) => {
        if (include[m]) accumulate(t, step, m);
      });
      for (const r of step.readings) {
        if (r.quality === 'bad') continue;
        const at = where.get(r.sensor);
        if (!at || !include[at[0]]) continue;
        const t = tracks[at[0]] as Track;
        const k = at[1];
        t.sum[k]! += t.kinds[k] === 'state' ? (r.value === 0 ? 1 : 0) : r.value;
        t.count[k]!++;
        t.lastSeen[k] = r.value;
      }
      for (const m of failed) {
        const t = tracks[m] as Track;
        if (!t.alive) continue;
        closeLife(t, 'failure');
        t.alive = false;
        if (repaired.has(m)) {
          t.alive = true;
          startLife(t);
        }
      }
    },

    endRecording() {
      for (const t of tracks) if (t.current) emitCycle(t);
      recording = false;
    },

    unresolved() {
      return tracks.filter((t) => t.current !== undefined && t.current.cycles > 0 && t.current.rul === undefined).length;
    },

    lookahead(step) {
      if (recording) throw new Error('lookahead() before endRecording()');
      for (const e of step.events) {
        const life = e.kind === 'failure' ? tracks[e.machine]?.current : undefined;
        if (life && life.rul === undefined) life.rul = bucketOf(e.ts) - life.lastBucket;
      }
    },

    finish() {
      if (recording) this.endRecording();
      files.flush();
      const byType = new Map<string, Track[]>();
      for (const t of tracks) byType.set(t.machine.type, [...(byType.get(t.machine.type) ?? []), t]);
      const summary: CmapssSummary = { types: byType.size, trainUnits: 0, testUnits: 0, unresolvedUnits: 0, rows: 0 };
      for (const [type, group] of byType) {
        const first = group[0]!.machine;
        const columns = ['unit', 'cycle', 'load', 'speed', 'ambient', ...first.sensors.map((s) => (sensorKind(s) === 'state' ? `${s.name}_running_share` : s.name))];
        writeFileSync(join(dir, `columns_${type}.txt`), columns.join(' ') + '\n');
        const out = {
          train: join(dir, `train_${type}.txt`),
          trainRul: join(dir, `train_${type}_rul.txt`),
          test: join(dir, `test_${type}.txt`),
          rul: join(dir, `RUL_${type}.txt`),
        };
        for (const f of Object.values(out)) writeFileSync(f, '');
        let trainUnit = 0;
        let testUnit = 0;
        for (const t of group) {
          const rows = readLives(t.tmp);
          for (const life of t.lives) {
            const lines = rows.get(life.number) ?? [];
            if (lines.length === 0) continue;
            if (life.end === 'failure') {
              trainUnit++;
              lines.forEach((line, i) => {
                files.append(out.train, `${trainUnit} ${line}\n`);
                files.append(out.trainRul, `${lines.length - 1 - i}\n`);
              });
            } else if (life.rul !== undefined) {
              testUnit++;
              for (const line of lines) files.append(out.test, `${testUnit} ${line}\n`);
              files.append(out.rul, `${life.rul}\n`);
            } else {
              summary.unresolvedUnits++;
              continue;
            }
            summary.rows += lines.length;
          }
        }
        summary.trainUnits += trainUnit;
        summary.testUnits += testUnit;
      }
      files.flush();
      rmSync(tmpDir, { recursive: true, force: true });
      return summary;
    },
  };
}

/** A machine's temporary rows, by life: "cycle settings... sensors..." without the life number. */
function readLives(file: string): Map<number, string[]> {
  const lives = new Map<number, string[]>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return lives; // the machine wrote no row
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const life = Number(line.slice(0, space));
    let list = lives.get(life);
    if (!list) lives.set(life, (list = []));
    list.push(line.slice(space + 1));
  }
  return lives;
}

function formatValue(v: number, kind: 'analog' | 'counter' | 'state', decimals: number): string {
  if (kind === 'state') return v.toFixed(3);
  if (kind === 'counter') return v.toFixed(decimals);
  return v.toFixed(Math.min(decimals + 1, 6));
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/config-load.js';
import { MACHINE_MODELS, MACHINE_TYPES } from './machines/index.js';
import { buildPlant } from './plant.js';
import { buildScenarioPlant, EXAMPLE_SCENARIO, listScenarios, loadScenario, parseScenario, SCENARIO_DIR } from './scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'mw-scenario-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The message of the ConfigError `fn` throws. */
function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('bundled scenarios', () => {
  it('lists every bundled scenario, each loading, named like its file, with its tag count', () => {
    const list = listScenarios();
    expect(list.map((s) => s.name)).toEqual(['faulty-line', 'run-to-failure', 'scale-10k', 'small-plant']);
    for (const s of list) {
      expect(s.error, s.name).toBeUndefined();
      expect(basename(s.path)).toBe(`${s.name}.yaml`);
      expect(s.description.length).toBeGreaterThan(10);
      expect(s.tags).toBeGreaterThan(0);
    }
    const scale = list.find((s) => s.name === 'scale-10k')!;
    const widest = Math.max(...MACHINE_TYPES.map((t) => Object.keys(MACHINE_MODELS[t].sensors).length));
    expect(scale.tags).toBeGreaterThanOrEqual(10_000);
    expect(scale.tags).toBeLessThan(10_000 + widest);
  });

  it('gives faulty-line every fault kind and small-plant one machine of each type', () => {
    expect(loadScenario('faulty-line').faults?.kinds).toHaveLength(8);
    expect(buildScenarioPlant(loadScenario('small-plant')).machines.map((m) => m.type)).toEqual(MACHINE_TYPES);
  });

  it('lists a broken file with its error instead of failing the list', () => {
    const d = mkdtempSync(join(tmpdir(), 'mw-scenarios-'));
    writeFileSync(join(d, 'good.yaml'), 'name: good\nmachines: 2\n');
    writeFileSync(join(d, 'bad.yaml'), 'name: bad\nmachines: 2\nperiodMS: 5\n');
    const list = listScenarios(d);
    expect(list.map((s) => [s.name, s.error === undefined])).toEqual([['bad', false], ['good', true]]);
    expect(list[0]!.error).toMatch(/periodMS/);
  });
});

describe('loadScenario', () => {
  it('loads a bundled one by name, and YAML or JSON files by path', () => {
    expect(loadScenario('small-plant').name).toBe('small-plant');
    expect(loadScenario(join(SCENARIO_DIR, 'small-plant.yaml'))).toEqual(loadScenario('small-plant'));
    const json = file('line.json', JSON.stringify({ name: 'line', machines: { 'hydraulic-press': 2 }, periodMs: 500 }));
    const s = loadScenario(json);
    expect(s.faults).toBeUndefined();
    expect(s).toMatchObject({ name: 'line', periodMs: 500, seed: 1, speed: 1, mqtt: { mode: 'json', topicPrefix: 'factory/' }, opcua: { enabled: false, port: 4840 } });
  });

  it('names the bundled scenarios when a name is unknown', () => {
    expect(problem(() => loadScenario('no-such'))).toMatch(/no such scenario.*faulty-line.*small-plant/);
  });

  it('says which file, which key and what was expected', () => {
    const typo = file('typo.yaml', 'name: typo\nmachines: 2\nfaults:\n  rate: 2\n  duration: {}\n');
    expect(problem(() => loadScenario(typo))).toMatch(new RegExp(`${typo}[\\s\\S]*at faults: unknown key "duration"`));

    const period = file('period.yaml', 'name: p\nmachines: 2\nperiodMs: fast\n');
    expect(problem(() => loadScenario(period))).toMatch(/period\.yaml[\s\S]*at periodMs: .*expected number/);

    const types = file('types.yaml', 'name: t\nmachines:\n  centrifugal-pump: 2\n  pumpx: 1\n');
    expect(problem(() => loadScenario(types))).toMatch(/at machines\.pumpx: unknown machine type "pumpx"; expected one of centrifugal-pump/);

    const list = file('list.yaml', 'name: l\nmachines: [cnc-spindle, lathe]\n');
    expect(problem(() => loadScenario(list))).toMatch(/at machines\[1\]: unknown machine type "lathe"/);

    const missing = file('missing.yaml', 'name: m\n');
    expect(problem(() => loadScenario(missing))).toMatch(/at machines: required: a number of machines/);

    const duration = file('duration.yaml', 'name: d\nmachines: 1\nfaults:\n  durations:\n    stuck: [ten, 1h]\n');
    expect(problem(() => loadScenario(duration))).toMatch(/at faults\.durations\.stuck: expected \[shortest, longest\] where each is a duration/);

    const kind = file('kind.yaml', 'name: k\nmachines: 1\nfaults:\n  kinds: [spike, sparks]\n');
    expect(problem(() => loadScenario(kind))).toMatch(/at faults\.kinds\[1\]: .*"spike"/);

    const mode = file('mode.yaml', 'name: k\nmachines: 1\nmqtt:\n  mode: protobuf\n');
    expect(problem(() => loadScenario(mode))).toMatch(/at mqtt\.mode: .*"sparkplug"/);

    const yaml = file('broken.yaml', 'name: [unclosed\n');
    expect(problem(() => loadScenario(yaml))).toMatch(/broken\.yaml[\s\S]*not valid YAML at line/);
  });

  it('parses the annotated example in the docs', () => {
    const s = parseScenario(parseYaml(EXAMPLE_SCENARIO), 'EXAMPLE_SCENARIO');
    expect(s.machines).toEqual({ by: 'type', counts: { 'centrifugal-pump': 2, 'hydraulic-press': 1 } });
    expect(s.faults?.durations.spike).toEqual([1000, 3000]);
    expect(s.faults?.clockJump).toEqual({ scope: 'machine', rate: 1, offset: [30_000, 3_600_000] });
  });
});

describe('buildScenarioPlant', () => {
  it('takes the machines of the round-robin plant of the same seed, whatever the form', () => {
    const rr = buildPlant({ seed: 5, machines: 20 });
    const strip = (p: { machines: readonly { path: string; params: unknown }[] }) => p.machines.map((m) => [m.path, m.params]);
    const pick = (type: string, n: number) => rr.machines.filter((m) => m.type === type).slice(0, n);

    const perType = buildScenarioPlant(parseScenario({ name: 'x', seed: 5, machines: { 'cnc-spindle': 2, 'centrifugal-pump': 1 } }));
    expect(strip(perType)).toEqual(strip({ machines: rr.machines.filter((m) => pick('centrifugal-pump', 1).includes(m) || pick('cnc-spindle', 2).includes(m)) }));
    expect(perType.sensors).toEqual(perType.machines.flatMap((m) => m.sensors));

    const listed = buildScenarioPlant(parseScenario({ name: 'x', seed: 5, machines: ['cnc-spindle', 'centrifugal-pump', 'cnc-spindle'] }));
    expect(strip(listed)).toEqual(strip(perType));

    const counted = buildScenarioPlant(parseScenario({ name: 'x', seed: 5, machines: 7 }));
    expect(strip(counted)).toEqual(strip({ machines: rr.machines.slice(0, 7) }));

    const tagged = buildScenarioPlant(parseScenario({ name: 'x', seed: 5, machines: { tags: 30 } }));
    expect(tagged.sensors.length).toBeGreaterThanOrEqual(30);
    expect(tagged.sensors.length - tagged.machines.at(-1)!.sensors.length).toBeLessThan(30);
  });

  it('refuses counts that need more machines than a plant may have', () => {
    const last = MACHINE_TYPES.at(-1)!;
    expect(() => buildScenarioPlant(parseScenario({ name: 'x', machines: { [last]: 9000 } }))).toThrow(/more than 10000/);
  });
});

import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfigFile, parseConfig } from '../shared/config-load.js';
import { MACHINE_MODELS, MACHINE_TYPES, type MachineType } from './machines/index.js';
import { buildPlant, MAX_MACHINES, type Plant } from './plant.js';
import { Scenario } from './scenario-schema.js';

export { EXAMPLE_SCENARIO, Scenario, type MachinesSpec, type ScenarioInput } from './scenario-schema.js';

/**
 * Scenarios: loading one by name or path, listing the bundled ones, and building a scenario's
 * plant. The bundled scenarios are `scenarios/<name>.yaml` next to this file; the build copies
 * them into dist/ (scripts/copy-assets.mjs), since they are read at run time.
 */

export const SCENARIO_DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface ScenarioInfo {
  name: string;
  description: string;
  path: string;
  /** Sensors in the plant; absent when the file does not load. */
  tags?: number;
  machines?: number;
  periodMs?: number;
  /** Why the file does not load. */
  error?: string;
}

/** Validates a parsed scenario (e.g. built in a test), naming `file` in any error. */
export function parseScenario(raw: unknown, file = '(scenario)'): Scenario {
  return parseConfig(Scenario, raw, file);
}

/**
 * A scenario by bundled name (`small-plant`) or by path (anything with a slash or a .yaml, .yml
 * or .json ending). JSON is read by the YAML parser, of which it is a subset. Throws a
 * ConfigError that names the file, the path in it and what was expected.
 */
export function loadScenario(nameOrPath: string, dir: string = SCENARIO_DIR): Scenario {
  const looksLikePath = /[\\/]/.test(nameOrPath) || EXTENSIONS.includes(extname(nameOrPath).toLowerCase());
  if (looksLikePath) return loadConfigFile(Scenario, resolve(nameOrPath));
  const file = EXTENSIONS.map((ext) => join(dir, nameOrPath + ext)).find((f) => existsSync(f));
  if (!file) {
    const known = bundledFiles(dir).map((f) => basename(f, extname(f)));
    throw new ConfigError(nameOrPath, [
      `no such scenario: not a bundled name (${known.join(', ') || 'none found'}); to load a file, give its path, e.g. ./${nameOrPath}.yaml`,
    ]);
  }
  return loadConfigFile(Scenario, file);
}

/** The scenarios in `dir`, by name; a file that does not load is listed with its error. */
export function listScenarios(dir: string = SCENARIO_DIR): ScenarioInfo[] {
  return bundledFiles(dir)
    .map((path): ScenarioInfo => {
      try {
        const s = loadConfigFile(Scenario, path);
        const plant = buildScenarioPlant(s);
        return { name: s.name, description: s.description, path, tags: plant.sensors.length, machines: plant.machines.length, periodMs: s.periodMs };
      } catch (err) {
        return { name: basename(path, extname(path)), description: '', path, error: (err as Error).message };
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function bundledFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => EXTENSIONS.includes(extname(f).toLowerCase()))
    .map((f) => join(dir, f));
}

/**
 * The scenario's plant. Machines are always those of the round-robin plant of the same seed
 * (`buildPlant`), so a pump is the same pump in every scenario with that seed: a count or a tag
 * target takes the first machines, a per-type count takes the first machines of each type.
 */
export function buildScenarioPlant(s: Scenario): Plant {
  const { seed, enterprise, site, machines } = s;
  const types = MACHINE_TYPES.length;
  switch (machines.by) {
    case 'count':
      return buildPlant({ seed, enterprise, site, machines: machines.count });
    case 'tags': {
      let count = 0;
      let tags = 0;
      while (tags < machines.tags) {
        const type = MACHINE_TYPES[count % types] as MachineType;
        tags += Object.keys(MACHINE_MODELS[type].sensors).length;
        count++;
      }
      if (count > MAX_MACHINES) throw new RangeError(`machines.tags: ${machines.tags} sensors need ${count} machines, more than ${MAX_MACHINES}`);
      return buildPlant({ seed, enterprise, site, machines: count });
    }
    case 'type': {
      // The round-robin plant deals type j to machines j, j + T, j + 2T ...: the c-th machine of
      // type j is machine (c - 1)·T + j. Build up to the last one needed, keep the wanted ones.
      let total = 0;
      MACHINE_TYPES.forEach((type, j) => {
        const c = machines.counts[type] ?? 0;
        if (c > 0) total = Math.max(total, (c - 1) * types + j + 1);
      });
      if (total > MAX_MACHINES) {
        throw new RangeError(`machines: these counts need a round-robin plant of ${total} machines, more than ${MAX_MACHINES}; use fewer of one type`);
      }
      const full = buildPlant({ seed, enterprise, site, machines: total });
      const seen = new Map<MachineType, number>();
      const kept = full.machines.filter((m) => {
        const n = (seen.get(m.type) ?? 0) + 1;
        seen.set(m.type, n);
        return n <= (machines.counts[m.type] ?? 0);
      });
      return { ...full, machines: kept, sensors: kept.flatMap((m) => m.sensors) };
    }
  }
}

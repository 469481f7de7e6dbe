import { SensorId } from '../shared/reading.js';
import { MACHINE_MODELS, MACHINE_TYPES, type AnyMachineModel, type MachineType, type SensorSpec } from './machines/index.js';
import { createRng, deriveSeed } from './random.js';

/**
 * A simulated plant: machines with their constants drawn from the seed, and the Unified-Namespace
 * id of every sensor, `<enterprise>/<site>/<line>/<machine>/<sensor>`, e.g.
 * `acme/plant1/press-line/press-1/vibration_rms`. A plant is immutable; the generator keeps the
 * evolving state.
 */

export interface PlantOptions {
  seed: number;
  enterprise?: string;
  site?: string;
  machines: number;
}

/** A sensor of a plant: its spec (unit, range, `kind`, and `states` for the machine state) and its id. */
export interface PlantSensor extends SensorSpec {
  readonly id: SensorId;
  /** The sensor's name within its machine, the last path segment. */
  readonly name: string;
}

export interface PlantMachine {
  /** UNS path of the machine, `<enterprise>/<site>/<line>/<machine>`. */
  readonly path: string;
  readonly name: string;
  readonly line: string;
  readonly type: MachineType;
  readonly model: AnyMachineModel;
  /** Constants drawn by `model.drawParams`; only ever handed back to the same model. */
  readonly params: unknown;
  /** Seed of this machine's noise and job stream in the generator. */
  readonly noiseSeed: number;
  readonly sensors: readonly PlantSensor[];
}

export interface Plant {
  readonly seed: number;
  readonly enterprise: string;
  readonly site: string;
  readonly machines: readonly PlantMachine[];
  /** Every sensor, in the order the generator emits readings within a step. */
  readonly sensors: readonly PlantSensor[];
}

/** More would make the first cut's one-message-per-reading traffic pointless to simulate. */
export const MAX_MACHINES = 10_000;

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * Builds the plant for a seed. Machine types are dealt round robin in `MACHINE_TYPES` order and
 * numbered per type (pump-1, press-1, cnc-1, conveyor-1, compressor-1, pump-2 ...), so any plant of
 * five or more machines has every type. A machine's constants are drawn from a seed derived from the
 * plant seed and the machine's path, so the first n machines of a larger plant are the same as those
 * of a plant of n.
 */
export function buildPlant(opts: PlantOptions): Plant {
  const { seed, enterprise = 'acme', site = 'plant1', machines: count } = opts;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`plant seed must be an integer, got ${seed}`);
  if (!Number.isInteger(count) || count < 1 || count > MAX_MACHINES) {
    throw new RangeError(`machines must be an integer from 1 to ${MAX_MACHINES}, got ${count}`);
  }
  for (const [what, segment] of [['enterprise', enterprise], ['site', site]] as const) {
    if (!SEGMENT.test(segment)) throw new RangeError(`${what} must be one path segment of letters, digits, _ . - (got "${segment}")`);
  }

  const machines: PlantMachine[] = [];
  const perType = new Map<MachineType, number>();
  for (let i = 0; i < count; i++) {
    const type = MACHINE_TYPES[i % MACHINE_TYPES.length] as MachineType;
    const model: AnyMachineModel = MACHINE_MODELS[type];
    const ordinal = (perType.get(type) ?? 0) + 1;
    perType.set(type, ordinal);
    const name = `${model.namePrefix}-${ordinal}`;
    const path = `${enterprise}/${site}/${model.line}/${name}`;
    const sensors = Object.entries(model.sensors).map(
      ([sensorName, spec]): PlantSensor => ({ ...spec, name: sensorName, id: SensorId.parse(`${path}/${sensorName}`) }),
    );
    machines.push({
      path,
      name,
      line: model.line,
      type,
      model,
      params: model.drawParams(createRng(deriveSeed(seed, path, 'params'))),
      noiseSeed: deriveSeed(seed, path, 'noise'),
      sensors,
    });
  }
  return { seed, enterprise, site, machines, sensors: machines.flatMap((m) => m.sensors) };
}

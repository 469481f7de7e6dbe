import {
  AccessLevelFlag,
  DataType,
  StatusCodes,
  Variant,
  VariantArrayType,
  type ContinuationData,
  type ISessionContext,
  type Namespace,
  type OPCUAServer,
  type UAObject,
  type UAVariable,
} from 'node-opcua';
import type { Plant, PlantSensor } from '../plant.js';
import { readRawHistory, type HistoryRing, type OpcuaHistory } from './history.js';
import { euInformationOf } from './units.js';

/**
 * Builds the plant's address space, under Objects, one node per UNS path segment, every NodeId the
 * UNS path itself in namespace 1 (the server's own, whose URI is the applicationUri):
 *
 *   Objects
 *   └─ acme                 Folder      ns=1;s=acme
 *      └─ plant1            Folder      ns=1;s=acme/plant1
 *         └─ press-line     Folder      ns=1;s=acme/plant1/press-line
 *            └─ press-1     Object      ns=1;s=acme/plant1/press-line/press-1
 *               └─ vibration_rms  AnalogItemType  ns=1;s=acme/plant1/press-line/press-1/vibration_rms
 *
 * There is no separate Area level: the line folder plays that role (ISA-95 enterprise / site /
 * area-or-line / machine), because the plant model has no area above the line.
 *
 * Folders organise (Organizes) and machines hold their sensors as components (HasComponent), so
 * browse names joined by "/" give back the sensor id. Sensors by kind:
 * - analog: AnalogItemType, Double, with EngineeringUnits (UN/CEFACT codes, see units.ts) and EURange
 *   (the transmitter's measuring range);
 * - counter: BaseDataVariableType, UInt64 when the sensor has no decimals, Double otherwise, with an
 *   EngineeringUnits property;
 * - state: MultiStateDiscreteType, UInt32 index into the EnumStrings property (running, idle ...).
 *
 * Every variable starts with BadWaitingForInitialData; `value-updates.ts` writes the values.
 */

/** A plant sensor's variable and how to turn a reading into its value. */
export interface Served {
  readonly node: UAVariable;
  /** null for a value the variable cannot hold (not finite, state index out of range, negative count). */
  readonly toVariant: (value: number) => Variant | null;
  readonly ring: HistoryRing | undefined;
  /** NaN until the first value. */
  last: number;
}

/** Read-only to clients; the simulator is the only writer. */
const READ_ONLY = AccessLevelFlag.CurrentRead;
const READ_WITH_HISTORY = AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead;

/** Namespace 1 is the server's own: its URI is the applicationUri. */
export function nodeIdString(path: string): string {
  return `ns=1;s=${path}`;
}

/** Adds every machine and sensor of `plant`; returns the variables by sensor id. Without `history`, no variable is historizing. */
export function buildAddressSpace(server: OPCUAServer, plant: Plant, history: OpcuaHistory | undefined): Map<string, Served> {
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('node-opcua server has no address space after initialize()');
  const ns = addressSpace.getOwnNamespace();
  const containers = new Map<string, UAObject>();

  /** Folder (or machine object) for a UNS path prefix, creating its ancestors first. */
  const container = (segments: readonly string[], machine?: { type: string }): UAObject => {
    const path = segments.join('/');
    const known = containers.get(path);
    if (known) return known;
    const parent = segments.length === 1 ? addressSpace.rootFolder.objects : container(segments.slice(0, -1));
    const options = { organizedBy: parent, browseName: segments[segments.length - 1] as string, nodeId: `s=${path}` };
    const node = machine
      ? ns.addObject({ ...options, description: machine.type })
      : ns.addFolder(parent, { browseName: options.browseName, nodeId: options.nodeId });
    containers.set(path, node);
    return node;
  };

  const served = new Map<string, Served>();
  for (const machine of plant.machines) {
    const machineNode = container(machine.path.split('/'), machine);
    for (const sensor of machine.sensors) {
      const ring = history?.ring(sensor.id);
      const { node, toVariant } = addSensor(ns, machineNode, sensor, ring !== undefined);
      if (ring) serveHistory(node, ring, toVariant);
      node.setValueFromSource(new Variant({ dataType: DataType.Null }), StatusCodes.BadWaitingForInitialData);
      served.set(sensor.id, { node, toVariant, ring, last: Number.NaN });
    }
  }
  return served;
}

function addSensor(
  ns: Namespace,
  machine: UAObject,
  sensor: PlantSensor,
  historizing: boolean,
): { node: UAVariable; toVariant: (value: number) => Variant | null } {
  const common = {
    componentOf: machine,
    browseName: sensor.name,
    nodeId: `s=${sensor.id}`,
    description: sensor.description,
    accessLevel: historizing ? READ_WITH_HISTORY : READ_ONLY,
    userAccessLevel: historizing ? READ_WITH_HISTORY : READ_ONLY,
    historizing,
    // 0: the value changes by the simulator's push, so monitored items can be exception-based.
    minimumSamplingInterval: 0,
  };
  switch (sensor.kind) {
    case 'state': {
      const states = sensor.states;
      if (!states?.length) throw new RangeError(`state sensor ${sensor.id} has no states list`);
      const node = ns.addMultiStateDiscrete({ ...common, enumStrings: [...states], value: 0 });
      return {
        node,
        toVariant: (v) => (Number.isInteger(v) && v >= 0 && v < states.length ? new Variant({ dataType: DataType.UInt32, value: v }) : null),
      };
    }
    case 'counter': {
      const integral = sensor.decimals === 0;
      const node = ns.addVariable({ ...common, typeDefinition: 'BaseDataVariableType', dataType: integral ? 'UInt64' : 'Double' });
      ns.addVariable({
        propertyOf: node,
        browseName: { name: 'EngineeringUnits', namespaceIndex: 0 },
        typeDefinition: 'PropertyType',
        dataType: 'EUInformation',
        accessLevel: READ_ONLY,
        userAccessLevel: READ_ONLY,
        value: { dataType: DataType.ExtensionObject, value: euInformationOf(sensor.unit) },
      });
      return { node, toVariant: integral ? uint64Variant : doubleVariant };
    }
    case 'analog': {
      const [low, high] = sensor.range;
      const node = ns.addAnalogDataItem({
        ...common,
        dataType: 'Double',
        engineeringUnits: euInformationOf(sensor.unit),
        engineeringUnitsRange: { low, high },
      });
      return { node, toVariant: doubleVariant };
    }
  }
}

function doubleVariant(v: number): Variant | null {
  return Number.isFinite(v) ? new Variant({ dataType: DataType.Double, value: v }) : null;
}

/** node-opcua carries a UInt64 as [high, low] 32-bit words. */
function uint64Variant(v: number): Variant | null {
  if (!Number.isSafeInteger(v) || v < 0) return null;
  return new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [Math.floor(v / 2 ** 32), v % 2 ** 32] });
}

/** Answers HistoryRead for `node` from the ring, through the variable's public `historyRead`. */
function serveHistory(node: UAVariable, ring: HistoryRing, toVariant: (value: number) => Variant | null): void {
  const historyRead = (
    context: ISessionContext,
    details: unknown,
    _indexRange: unknown,
    _dataEncoding: unknown,
    continuationData: ContinuationData,
    callback?: (err: Error | null, result?: ReturnType<typeof readRawHistory>) => void,
  ) => {
    const result = readRawHistory(ring, toVariant, context, details, continuationData);
    if (callback) return void callback(null, result);
    return Promise.resolve(result);
  };
  Object.assign(node, { historyRead });
}

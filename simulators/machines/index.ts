import { airCompressor } from './air-compressor.js';
import { centrifugalPump } from './centrifugal-pump.js';
import { cncSpindle } from './cnc-spindle.js';
import { conveyorDrive } from './conveyor-drive.js';
import { hydraulicPress } from './hydraulic-press.js';
import type { AnyMachineModel } from './model.js';

/**
 * Every machine model, in one literal map: no discovery. The order is the order a plant deals
 * machine types out (round robin), and is part of what a seed reproduces. New types go at the end.
 */
export const MACHINE_MODELS = {
  'centrifugal-pump': centrifugalPump,
  'hydraulic-press': hydraulicPress,
  'cnc-spindle': cncSpindle,
  'conveyor-drive': conveyorDrive,
  'air-compressor': airCompressor,
} as const satisfies Record<string, AnyMachineModel>;

export type MachineType = keyof typeof MACHINE_MODELS;

export const MACHINE_TYPES = Object.keys(MACHINE_MODELS) as MachineType[];

export type {
  AnyMachineModel,
  MachineEvent,
  MachineEventKind,
  MachineModel,
  MachineStateIndex,
  MachineStateName,
  MachineTruth,
  SensorKind,
  SensorSpec,
  StepResult,
} from './model.js';
export { MACHINE_STATES } from './model.js';

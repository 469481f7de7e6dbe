import type { Telemetry } from '../telemetry/events.js';
import { MqttSourceConfig } from './mqtt/config.js';
import { createMqttSource } from './mqtt/source.js';
import type { Source } from './types.js';

export interface SourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
}

/**
 * Every source plugin, by its `type` in the config. One literal map, no discovery: adding a
 * protocol means adding a folder and a line here.
 */
export const SOURCES = {
  mqtt: { config: MqttSourceConfig, create: createMqttSource },
} as const;

export const SourceConfig = MqttSourceConfig;
export type SourceConfig = MqttSourceConfig;

export function createSource(cfg: SourceConfig, deps: SourceDeps): Source {
  return SOURCES[cfg.type].create(cfg, deps);
}

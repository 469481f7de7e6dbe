import { z } from 'zod';
import type { Telemetry } from '../telemetry/events.js';
import { MqttSourceConfig } from './mqtt/config.js';
import { createMqttSource } from './mqtt/source.js';
import { OpcuaSourceConfig } from './opcua/config.js';
import { createOpcuaSource } from './opcua/source.js';
import type { Source } from './types.js';

export interface SourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
}

/**
 * Every source plugin, by its `type` in the config. One literal map, no discovery: adding a
 * protocol means adding a folder and a line here.
 */
export const SourceConfig = z.discriminatedUnion('type', [MqttSourceConfig, OpcuaSourceConfig]);
export type SourceConfig = z.output<typeof SourceConfig>;

export function createSource(cfg: SourceConfig, deps: SourceDeps): Source {
  switch (cfg.type) {
    case 'mqtt':
      return createMqttSource(cfg, deps);
    case 'opcua':
      return createOpcuaSource(cfg, deps);
  }
}

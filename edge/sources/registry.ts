import { z } from 'zod';
import type { Telemetry } from '../telemetry/events.js';
import { MqttSourceConfig } from './mqtt/config.js';
import { createMqttSource } from './mqtt/source.js';
import type { Logger } from '../../shared/log.js';
import { OpcuaSourceConfig } from './opcua/config.js';
import type { Source } from './types.js';

export interface SourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
  log: Logger;
}

/**
 * Every source plugin, by its `type` in the config. One literal map, no discovery: adding a
 * protocol means adding a folder and a line here.
 */
export const SourceConfig = z.discriminatedUnion('type', [MqttSourceConfig, OpcuaSourceConfig]);
export type SourceConfig = z.output<typeof SourceConfig>;

/** node-opcua is large (~0.8 s to load here, more on a Pi): loaded only when a source needs it. */
export async function createSource(cfg: SourceConfig, deps: SourceDeps): Promise<Source> {
  switch (cfg.type) {
    case 'mqtt':
      return createMqttSource(cfg, deps);
    case 'opcua': {
      const [{ createOpcuaSource }, { routeOpcuaLogs }] = await Promise.all([import('./opcua/source.js'), import('../../shared/opcua/logs.js')]);
      routeOpcuaLogs(deps.log.child({ source: cfg.name }));
      return createOpcuaSource(cfg, deps);
    }
  }
}

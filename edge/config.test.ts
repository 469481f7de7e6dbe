import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfigFile } from '../shared/config-load.js';
import { CloudConfig, EXAMPLE_CLOUD_CONFIG } from '../shared/config.js';
import { EdgeConfig, EXAMPLE_EDGE_CONFIG } from './config.js';
import { EXAMPLE_MQTT_SOURCE, MqttSourceConfig } from './sources/mqtt/config.js';
import { EXAMPLE_OPCUA_SOURCE, OpcuaSourceConfig } from './sources/opcua/config.js';

const dir = mkdtempSync(join(tmpdir(), 'mw-config-'));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const problems = (schema: typeof EdgeConfig | typeof CloudConfig, f: string): string[] => {
  try {
    loadConfigFile(schema, f);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(f);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a config error');
};

describe('example configs', () => {
  it('the edge example parses, with defaults filled in', () => {
    const cfg = loadConfigFile(EdgeConfig, file('edge.yaml', EXAMPLE_EDGE_CONFIG));
    expect(cfg.gateway.id).toBe('plant1-gw1');
    expect(cfg.sources[0]).toMatchObject({ type: 'mqtt', name: 'line-broker', embeddedBroker: { port: 1884 }, reconnect: { baseMs: 200, capMs: 2000 }, maxInFlight: 1000 });
    expect(cfg.sync.batchSize).toBe(20_000);
    expect(cfg.log.level).toBe('info');
    expect(cfg.store.retention).toEqual({ rawDays: 30, rollup1mDays: 180, rollup1hDays: 3650, intervalMinutes: 10 });
  });
  it('store.retention is defaulted and strict', () => {
    const base = { gateway: { id: 'g', site: 's' }, sources: [{ type: 'mqtt' }] };
    expect(EdgeConfig.parse(base).store.retention).toEqual({ rawDays: 30, rollup1mDays: 180, rollup1hDays: 3650, intervalMinutes: 10 });
    expect(EdgeConfig.parse({ ...base, store: { retention: { rawDays: 7 } } }).store.retention.rawDays).toBe(7);
    expect(EdgeConfig.safeParse({ ...base, store: { retention: { rawDayz: 7 } } }).success).toBe(false);
    expect(EdgeConfig.safeParse({ ...base, store: { retention: { rawDays: 0 } } }).success).toBe(false);
  });
  it('the MQTT source example parses', () => {
    const list = parse(EXAMPLE_MQTT_SOURCE) as unknown[];
    expect(MqttSourceConfig.parse(list[0]).url).toBe('mqtt://127.0.0.1:1883');
  });
  it('the OPC-UA source example parses', () => {
    const list = parse(EXAMPLE_OPCUA_SOURCE) as unknown[];
    expect(OpcuaSourceConfig.parse(list[0])).toMatchObject({ securityPolicy: 'Basic256Sha256', browse: { root: 'ns=1;s=acme/plant1', maxDepth: 8 } });
  });
  it('an OPC-UA source needs something to read, and a consistent security setting', () => {
    const r = OpcuaSourceConfig.safeParse({ type: 'opcua', endpointUrl: 'opc.tcp://h:4840', securityMode: 'Sign' });
    expect(r.error?.issues.map((i) => i.message)).toEqual([
      'give browse.root or a list of nodes',
      'securityMode None goes with securityPolicy None, and Sign/SignAndEncrypt with a real policy',
    ]);
  });
  it('the cloud example parses', () => {
    const cfg = loadConfigFile(CloudConfig, file('cloud.yaml', EXAMPLE_CLOUD_CONFIG));
    expect(cfg.http.port).toBe(8810);
    expect(cfg.database.url).toBeUndefined();
  });
});

describe('config errors name the file, the path and what was expected', () => {
  it('an unknown key', () => {
    const f = file('typo.yaml', EXAMPLE_EDGE_CONFIG.replace('batchSize: 20000', 'batchsize: 20000'));
    expect(problems(EdgeConfig, f)).toEqual(['at sync: unknown key "batchsize" (not a setting; check the spelling)']);
  });
  it('a wrong type deep in a list', () => {
    const f = file('type.yaml', EXAMPLE_EDGE_CONFIG.replace('topicPrefix: factory/', 'topicPrefix: 42'));
    expect(problems(EdgeConfig, f)).toEqual(['at sources[0].topicPrefix: Invalid input: expected string, received number']);
  });
  it('a missing section and an unknown source type', () => {
    const f = file('missing.yaml', 'sources:\n  - type: modbus\n');
    const p = problems(EdgeConfig, f);
    expect(p.some((x) => x.startsWith('at gateway:'))).toBe(true);
    expect(p.some((x) => x.startsWith('at sources[0].type:'))).toBe(true);
  });
  it('a sync URL without a token', () => {
    const f = file('token.yaml', EXAMPLE_EDGE_CONFIG.replace(/ {2}token: .*\n/, ''));
    expect(problems(EdgeConfig, f)).toEqual(['at sync.token: sync.token is required when sync.url is set']);
  });
  it('YAML that does not parse, with its line', () => {
    const f = file('bad.yaml', 'gateway:\n  id: [unclosed\n');
    expect(problems(EdgeConfig, f)[0]).toMatch(/^not valid YAML at line \d/);
  });
  it('a file that is not there', () => {
    expect(problems(CloudConfig, join(dir, 'nope.yaml'))[0]).toMatch(/^cannot read the file/);
  });
});

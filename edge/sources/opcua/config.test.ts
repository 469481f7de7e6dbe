import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXAMPLE_OPCUA_SOURCE, OpcuaSourceConfig } from './config.js';

describe('OPC-UA source config', () => {
  const minimal = { type: 'opcua', endpointUrl: 'opc.tcp://plc-1:4840', nodes: [{ nodeId: 'ns=1;s=x', sensor: 'acme/plant1/x' }] };

  it('defaults: trust list only, backfill on, retries capped at 2 s', () => {
    expect(OpcuaSourceConfig.parse(minimal)).toMatchObject({
      serverTrust: 'trustList',
      reconnect: { baseMs: 500, capMs: 2000 },
      backfill: { enabled: true, maxSpanMs: 86_400_000, maxValuesPerNode: 10_000, valuesPerRequest: 1000 },
    });
  });

  it('the example sets trust and backfill, and parses', () => {
    const cfg = OpcuaSourceConfig.parse((parse(EXAMPLE_OPCUA_SOURCE) as unknown[])[0]);
    expect(cfg).toMatchObject({ serverTrust: 'trustList', backfill: { enabled: true, maxValuesPerNode: 10_000 } });
  });

  it('refuses unknown keys and values, naming them', () => {
    const typo = OpcuaSourceConfig.safeParse({ ...minimal, backfill: { maxValuesPerNod: 5 } });
    expect(typo.error?.issues[0]?.path).toEqual(['backfill']);
    const trust = OpcuaSourceConfig.safeParse({ ...minimal, serverTrust: 'always' });
    expect(trust.error?.issues[0]?.path).toEqual(['serverTrust']);
    // The old switch is gone: an old config says so rather than silently trusting less or more.
    expect(OpcuaSourceConfig.safeParse({ ...minimal, trustUnknownServer: true }).success).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config-load.js';
import { parseScenario } from '../scenario.js';

/** The scenario's `opcua` block: what `millwright sim` passes to `startOpcuaServer`. */

const base = { name: 'line', machines: 1 };

describe('scenario opcua block', () => {
  it('defaults to no server; when served: 127.0.0.1, security None, anonymous, 100 values of history', () => {
    expect(parseScenario(base).opcua).toEqual({
      enabled: false,
      host: '127.0.0.1',
      port: 4840,
      security: { modes: ['None'], users: [], allowAnonymous: true, trustUnknownClients: false },
      historyCapacity: 100,
    });
  });

  it('takes host, security (modes, users, anonymous, PKI folder, trust) and history capacity', () => {
    const s = parseScenario({
      ...base,
      opcua: {
        enabled: true,
        host: '0.0.0.0',
        port: 0,
        historyCapacity: 0,
        security: {
          modes: ['Sign', 'SignAndEncrypt'],
          users: [{ username: 'operator', password: 'secret' }],
          allowAnonymous: false,
          pkiDir: '/var/lib/millwright/pki',
          trustUnknownClients: true,
        },
      },
    });
    expect(s.opcua).toEqual({
      enabled: true,
      host: '0.0.0.0',
      port: 0,
      historyCapacity: 0,
      security: {
        modes: ['Sign', 'SignAndEncrypt'],
        users: [{ username: 'operator', password: 'secret' }],
        allowAnonymous: false,
        pkiDir: '/var/lib/millwright/pki',
        trustUnknownClients: true,
      },
    });
  });

  it.each([
    [{ security: { allowAnonymous: false } }, /opcua\.security\.users[\s\S]*anonymous access is off/],
    [{ security: { modes: ['Basic128'] } }, /opcua\.security\.modes/],
    [{ security: { modes: [] } }, /opcua\.security\.modes/],
    [{ security: { users: [{ username: 'a', password: '' }] } }, /opcua\.security\.users/],
    [{ security: { anonymous: true } }, /anonymous/],
    [{ historyCapacity: -1 }, /opcua\.historyCapacity/],
    [{ hots: 'x' }, /hots/],
  ])('rejects %j, naming the path', (opcua, message) => {
    let error: unknown;
    try {
      parseScenario({ ...base, opcua });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });
});

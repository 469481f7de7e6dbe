import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/log.js';
import { startOpcuaServer, type OpcuaSecurityOptions, type OpcuaServer } from '../../../simulators/opcua/server.js';
import { buildPlant } from '../../../simulators/plant.js';
import { eventually } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import type { Source } from '../types.js';
import { OpcuaSourceConfig } from './config.js';
import { classifyConnectError } from './errors.js';
import { createOpcuaSource } from './source.js';
import { publishing, recordingSink, toServer } from './testing.js';

const plant = buildPlant({ seed: 3, machines: 1 });
const T = Date.UTC(2026, 10, 22, 8);
const SENSOR = plant.sensors[0]!.id;
const USER = { username: 'shift-a', password: 'correct horse' };

/**
 * Security modes, the two trust lists (the server's of client certificates, the gateway's of
 * server certificates) and user names, against the simulator's server. Every PKI lives in a
 * temporary folder. A refused connection must show in status() as a reason an engineer can act
 * on, while the source keeps retrying; once the fix is made (a certificate moved into trusted/,
 * the right password), values flow without a restart.
 */
describe('OPC-UA source security: certificates, trust lists, users', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  async function serve(security: OpcuaSecurityOptions, port = 0): Promise<OpcuaServer> {
    const server = await startOpcuaServer({ plant, port, log: silentLogger, historyCapacity: 0, security });
    cleanup.push(() => server.stop());
    const pub = publishing(plant, T, toServer(() => server));
    cleanup.push(() => pub.stop());
    return server;
  }

  async function connect(endpointUrl: string, pkiDir: string, extra: Record<string, unknown>) {
    const cfg = OpcuaSourceConfig.parse({
      type: 'opcua',
      name: 'plc',
      endpointUrl,
      pkiDir,
      nodes: [{ nodeId: `ns=1;s=${SENSOR}`, sensor: SENSOR }],
      samplingIntervalMs: 0,
      publishingIntervalMs: 50,
      flushMs: 20,
      reconnect: { baseMs: 100, capMs: 500 },
      ...extra,
    });
    const sink = recordingSink();
    const source: Source = createOpcuaSource(cfg, { gatewayId: 'gw', telemetry: createTelemetry(silentLogger) });
    await source.start(sink);
    cleanup.push(() => source.stop());
    return { source, sink };
  }

  /** Refused, with `reason` in lastError, and still nothing stored a while later: not a crash, not a silent stall. */
  async function expectRefused(conn: Awaited<ReturnType<typeof connect>>, reason: RegExp): Promise<void> {
    expect(await eventually(() => reason.test(conn.source.status().lastError ?? ''), 20_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(conn.source.status()).toMatchObject({ state: 'offline', lastError: expect.stringMatching(reason) });
    expect(conn.sink.committed).toEqual([]);
  }

  const flows = async (conn: Awaited<ReturnType<typeof connect>>) =>
    (await eventually(() => conn.source.status().state === 'connected' && conn.sink.committed.length > 0, 20_000)) &&
    conn.source.status().lastError === null;

  /** Moves the only certificate in `from` into `to` (what an engineer does after checking its thumbprint). */
  function trustRejected(from: string, to: string): void {
    const files = readdirSync(from).filter((f) => f.endsWith('.pem') || f.endsWith('.der'));
    expect(files).toHaveLength(1);
    mkdirSync(to, { recursive: true });
    renameSync(join(from, files[0]!), join(to, files[0]!));
  }

  it('classifies what node-opcua reports when a connection is refused', () => {
    expect(classifyConnectError('server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)')).toBe('server_certificate_untrusted');
    expect(classifyConnectError('The connection has been rejected by server: BadSecurityChecksFailed (0x80130000)')).toBe('client_certificate_refused');
    expect(classifyConnectError('BadUserAccessDenied (0x801f0000)')).toBe('user_refused');
    expect(classifyConnectError('Cannot find ANONYMOUS user token policy in end point description')).toBe('user_refused');
    expect(classifyConnectError('connect ECONNREFUSED 127.0.0.1:4840')).toBe('other');
  });

  it("SignAndEncrypt: the gateway's certificate is refused until trusted in the server's PKI, then values flow", async () => {
    const serverPki = tempDir('mw-server-pki-');
    const agentPki = tempDir('mw-agent-pki-');
    const server = await serve({ modes: ['Sign', 'SignAndEncrypt'], allowAnonymous: true, pkiDir: serverPki });
    // The gateway trusts this server explicitly: its certificate copied into the gateway's trust list.
    mkdirSync(join(agentPki, 'trusted', 'certs'), { recursive: true });
    copyFileSync(join(serverPki, 'server', 'own', 'certs', 'certificate.pem'), join(agentPki, 'trusted', 'certs', 'plc.pem'));
    const conn = await connect(server.endpointUrl, agentPki, { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' });
    await expectRefused(conn, /^the server refused this gateway's certificate \(BadSecurityChecksFailed\): trust .*client_certificate\.pem/);

    // The server filed the gateway's certificate under rejected/; the engineer moves it to trusted/.
    trustRejected(join(serverPki, 'server', 'rejected'), join(serverPki, 'server', 'trusted', 'certs'));
    expect(await flows(conn)).toBe(true);
  }, 60_000);

  it("Sign: the server's certificate is checked against the gateway's trust list", async () => {
    const agentPki = tempDir('mw-agent-pki-');
    const server = await serve({ modes: ['Sign'], allowAnonymous: true, trustUnknownClients: true });
    const conn = await connect(server.endpointUrl, agentPki, { securityMode: 'Sign', securityPolicy: 'Basic256Sha256' });
    await expectRefused(conn, /^server certificate not trusted \(BadCertificateUntrusted\): it was filed under .*rejected/);
    expect(readdirSync(join(agentPki, 'trusted', 'certs'))).toEqual([]);

    trustRejected(join(agentPki, 'rejected'), join(agentPki, 'trusted', 'certs'));
    expect(await flows(conn)).toBe(true);
  }, 60_000);

  it('serverTrust firstUse: the first certificate is pinned, a different one later is refused', async () => {
    const agentPki = tempDir('mw-agent-pki-');
    let server = await serve({ modes: ['Sign'], allowAnonymous: true, trustUnknownClients: true });
    const port = Number(new URL(server.endpointUrl.replace('opc.tcp', 'http')).port);
    const conn = await connect(server.endpointUrl, agentPki, { securityMode: 'Sign', securityPolicy: 'Basic256Sha256', serverTrust: 'firstUse' });
    expect(await flows(conn)).toBe(true);
    expect(existsSync(join(agentPki, 'first-use', 'plc.json'))).toBe(true);
    expect(readdirSync(join(agentPki, 'trusted', 'certs'))).toHaveLength(1);

    // The PLC is replaced (or someone sits in the middle): same address, a new certificate (the
    // simulator makes one at every start without a kept pkiDir).
    await server.stop();
    server = await serve({ modes: ['Sign'], allowAnonymous: true, trustUnknownClients: true }, port);
    const reason = /^server certificate not trusted.*differs from the certificate pinned on first use/;
    expect(await eventually(() => reason.test(conn.source.status().lastError ?? ''), 30_000)).toBe(true);
    expect(conn.source.status().state).not.toBe('connected');
    expect(readdirSync(join(agentPki, 'trusted', 'certs'))).toHaveLength(1);
  }, 90_000);

  it('user name and password: a wrong one is refused with a clear error, the right one reads', async () => {
    const server = await serve({ modes: ['None'], allowAnonymous: false, users: [USER] });
    const anonymous = await connect(server.endpointUrl, tempDir('mw-agent-pki-'), {});
    await expectRefused(anonymous, /^anonymous access refused by the server( \(Bad\w+\))?: set username and password$/);
    const wrong = await connect(server.endpointUrl, tempDir('mw-agent-pki-'), { username: USER.username, password: 'wrong' });
    await expectRefused(wrong, /^user "shift-a" refused by the server \(BadUserAccessDenied\): check username and password$/);
    const right = await connect(server.endpointUrl, tempDir('mw-agent-pki-'), { username: USER.username, password: USER.password });
    expect(await flows(right)).toBe(true);
  }, 60_000);
});

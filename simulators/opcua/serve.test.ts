import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributeIds, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, UserTokenType, type ClientSession, type UserIdentityInfo } from 'node-opcua';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { parseScenario } from '../scenario.js';
import { prepareSimulator, startSimulator, type PreparedSimulator } from '../serve.js';

/**
 * The simulator as `millwright sim` runs it (serve.ts): the scenario's `opcua` block reaches the
 * server, dropouts carry the step's time, and a publisher that cannot start leaves no port open.
 */

const USER = { username: 'operator', password: 'correct horse battery staple' };
const START_MS = Date.UTC(2026, 0, 5, 8, 0, 0);
const scenario = parseScenario({
  name: 'secure-line',
  machines: 1,
  opcua: { enabled: true, port: 0, historyCapacity: 5, security: { users: [USER], allowAnonymous: false, trustUnknownClients: true } },
});

let prepared: PreparedSimulator;
let dir: string;
let clientCertificates: OPCUACertificateManager;
const open: { client: OPCUAClient; session?: ClientSession }[] = [];

async function connect(identity: UserIdentityInfo): Promise<ClientSession> {
  const client = OPCUAClient.create({
    applicationName: 'millwright-test-client',
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 50 },
    clientCertificateManager: clientCertificates,
  });
  const entry: (typeof open)[number] = { client };
  open.push(entry);
  await client.connect(prepared.opcua!.endpointUrl);
  entry.session = await client.createSession(identity);
  return entry.session;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'millwright-sim-opcua-test-'));
  clientCertificates = new OPCUACertificateManager({ rootFolder: join(dir, 'client-pki'), automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
  const { host, port, security, historyCapacity } = scenario.opcua;
  prepared = await prepareSimulator({ scenario, startMs: START_MS, steps: 3, opcua: { host, port, security, historyCapacity }, log: silentLogger });
});

afterEach(async () => {
  for (const { client, session } of open.splice(0)) {
    await session?.close().catch(() => {});
    await client.disconnect().catch(() => {});
  }
});

afterAll(async () => {
  await prepared?.stop();
  await clientCertificates?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('simulator OPC-UA from the scenario', () => {
  it('serves on the scenario host, refusing anonymous sessions and admitting the scenario user', async () => {
    expect(prepared.opcua!.endpointUrl).toMatch(/^opc\.tcp:\/\/127\.0\.0\.1:\d+/);
    // Mode None only (the scenario default), yet the user can log in: the password is encrypted.
    const session0 = await connect({ type: UserTokenType.UserName, userName: USER.username, password: USER.password });
    const endpoints = await open[0]!.client.getEndpoints();
    expect(new Set(endpoints.map((e) => MessageSecurityMode[e.securityMode]))).toEqual(new Set(['None']));
    await session0.close();
    await expect(connect({ type: UserTokenType.Anonymous })).rejects.toThrow(/anonymous/i);
    const session = await connect({ type: UserTokenType.UserName, userName: USER.username, password: USER.password });
    const dv = await session.read({ nodeId: prepared.opcua!.nodeIdOf(prepared.simulation.plant.sensors[0]!.id), attributeId: AttributeIds.Value });
    expect(dv.statusCode.name).toBe('BadWaitingForInitialData');
  });

  it("dates a dropout with the step's time, not a clock-jumped reading's", async () => {
    const [jumped, dropped] = prepared.simulation.plant.sensors;
    const stepTs = START_MS + 1000;
    // The reading of another machine is 30 minutes ahead (clock-jump fault).
    prepared.opcua!.update([{ sensor: jumped!.id, ts: stepTs + 30 * 60_000, value: 1 }], [dropped!.id], stepTs);
    const session = await connect({ type: UserTokenType.UserName, userName: USER.username, password: USER.password });
    const dv = await session.read({ nodeId: prepared.opcua!.nodeIdOf(dropped!.id), attributeId: AttributeIds.Value });
    expect(dv.statusCode.name).toBe('BadNoCommunication');
    expect(dv.sourceTimestamp?.getTime()).toBe(stepTs);
  });
});

describe('startSimulator', () => {
  it('stops the OPC-UA server when the publisher cannot start, freeing the port', async () => {
    const port = await freePort();
    await expect(
      startSimulator({
        scenario,
        startMs: START_MS,
        steps: 1,
        opcua: { port, security: { modes: ['None'], allowAnonymous: true } },
        mqttUrl: 'not a broker url',
        realtime: false,
        speed: 1,
        mode: 'json',
        topicPrefix: 'factory/',
        log: silentLogger,
      }),
    ).rejects.toThrow(/url/);
    // The port can be bound again: nothing is listening on it any more.
    await expect(listenOnce(port)).resolves.toBe(port);
  });
});

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });
}

function freePort(): Promise<number> {
  return listenOnce(0);
}

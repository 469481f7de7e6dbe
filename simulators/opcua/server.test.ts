import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessLevelFlag,
  AttributeIds,
  BrowseDirection,
  ClientMonitoredItem,
  DataChangeFilter,
  DataChangeTrigger,
  DataType,
  DeadbandType,
  makeBrowsePath,
  MessageSecurityMode,
  NodeClass,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
} from 'node-opcua';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { generateReadings, type SimReading } from '../generate.js';
import { buildPlant, type PlantSensor } from '../plant.js';
import { startOpcuaServer, type OpcuaServer } from './server.js';

/**
 * One server for the file (node-opcua takes about 2 s to start), read by independent node-opcua
 * clients: browse, attributes, subscriptions, dropouts, history, users and SignAndEncrypt.
 */

const plant = buildPlant({ seed: 1, machines: 3 });
const START_MS = Date.UTC(2026, 0, 5, 8, 0, 0);
const PERIOD_MS = 1000;
const USER = { username: 'operator', password: 'correct horse battery staple' };
const HISTORY = 20;

let dir: string;
let server: OpcuaServer;
let clientCertificates: OPCUACertificateManager;
const steps = generateReadings(plant, { startMs: START_MS, periodMs: PERIOD_MS });
/** Every step pushed so far, by sensor: what a client should see. */
const pushed = new Map<string, SimReading[]>();
const open: { client: OPCUAClient; session?: ClientSession }[] = [];

function pushStep(missing: string[] = []): SimReading[] {
  const readings = steps.next().value as SimReading[];
  const served = readings.filter((r) => !missing.includes(r.sensor));
  for (const r of served) pushed.set(r.sensor, [...(pushed.get(r.sensor) ?? []), r]);
  server.update(served, missing);
  return served;
}

function sensorOfKind(kind: string): PlantSensor {
  const s = plant.sensors.find((x) => ((x as { kind?: string }).kind ?? 'analog') === kind);
  if (!s) throw new Error(`plant has no ${kind} sensor`);
  return s;
}

async function connect(
  identity: UserIdentityInfo = { type: UserTokenType.UserName, userName: USER.username, password: USER.password },
  securityMode = MessageSecurityMode.None,
  securityPolicy = SecurityPolicy.None,
  certificates = clientCertificates,
): Promise<ClientSession> {
  const client = OPCUAClient.create({
    applicationName: 'millwright-test-client',
    endpointMustExist: false,
    securityMode,
    securityPolicy,
    connectionStrategy: { maxRetry: 0, initialDelay: 50 },
    clientCertificateManager: certificates,
  });
  const entry: (typeof open)[number] = { client };
  open.push(entry);
  await client.connect(server.endpointUrl);
  entry.session = await client.createSession(identity);
  return entry.session;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'millwright-opcua-test-'));
  clientCertificates = new OPCUACertificateManager({
    rootFolder: join(dir, 'client-pki'),
    automaticallyAcceptUnknownCertificate: true,
    disableFileWatchers: true,
  });
  server = await startOpcuaServer({
    plant,
    port: 0,
    security: {
      modes: ['None', 'Sign', 'SignAndEncrypt'],
      users: [USER],
      allowAnonymous: false,
      pkiDir: join(dir, 'server-pki'),
      trustUnknownClients: true,
    },
    historyCapacity: HISTORY,
    log: silentLogger,
  });
  for (let i = 0; i < 3; i++) pushStep();
});

/** Each test's clients are closed after it: the server allows 10 connections per endpoint. */
async function closeClients(): Promise<void> {
  for (const { client, session } of open.splice(0)) {
    await session?.close().catch(() => {});
    await client.disconnect().catch(() => {});
  }
}

afterEach(closeClients);

afterAll(async () => {
  await closeClients();
  await server?.stop();
  await clientCertificates?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('OPC-UA server address space', () => {
  it('serves the plant under Objects, one browse name per UNS segment, node ids = sensor ids', async () => {
    const session = await connect();
    const machine = plant.machines[1]!;
    const segments = machine.path.split('/');

    // Objects → enterprise → site → line → machine, by browsing (what an edge does on discovery).
    let nodeId = 'i=85';
    for (const segment of segments) {
      const result = await session.browse({
        nodeId,
        browseDirection: BrowseDirection.Forward,
        referenceTypeId: 'HierarchicalReferences',
        includeSubtypes: true,
        resultMask: 63,
      });
      const child = result.references?.find((r) => r.browseName.name === segment);
      expect(child, `${segment} under ${nodeId}`).toBeDefined();
      nodeId = child!.nodeId.toString();
    }
    expect(nodeId).toBe(`ns=1;s=${machine.path}`);

    const vars = await session.browse({
      nodeId,
      browseDirection: BrowseDirection.Forward,
      referenceTypeId: 'HasComponent',
      includeSubtypes: true,
      nodeClassMask: 2, // Variable
      resultMask: 63,
    });
    const found = (vars.references ?? []).filter((r) => r.nodeClass === NodeClass.Variable);
    expect(found.map((r) => r.browseName.name).sort()).toEqual(machine.sensors.map((s) => s.name).sort());
    for (const s of machine.sensors) {
      expect(found.find((r) => r.browseName.name === s.name)?.nodeId.toString()).toBe(server.nodeIdOf(s.id));
    }

    const ns = await session.read({ nodeId: 'i=2255', attributeId: AttributeIds.Value }); // Server_NamespaceArray
    expect((ns.value.value as string[])[1]).toBe(server.namespaceUri);
  });

  it('gives analog items EngineeringUnits (UN/CEFACT) and EURange', async () => {
    const session = await connect();
    const sensor = plant.sensors.find((s) => s.unit === 'mm/s')!;
    const [eu, range, value] = await session.read([
      { nodeId: await propertyOf(session, server.nodeIdOf(sensor.id), 'EngineeringUnits'), attributeId: AttributeIds.Value },
      { nodeId: await propertyOf(session, server.nodeIdOf(sensor.id), 'EURange'), attributeId: AttributeIds.Value },
      { nodeId: server.nodeIdOf(sensor.id), attributeId: AttributeIds.Value },
    ]);
    const unit = eu!.value.value as { displayName: { text: string }; unitId: number; namespaceUri: string };
    expect(unit.displayName.text).toBe('mm/s');
    expect(unit.unitId).toBe(0x433136); // "C16", millimetre per second
    expect(unit.namespaceUri).toBe('http://www.opcfoundation.org/UA/units/un/cefact');
    expect(range!.value.value).toMatchObject({ low: sensor.range[0], high: sensor.range[1] });
    expect(value!.statusCode.equals(StatusCodes.Good)).toBe(true);
    expect(value!.value.dataType).toBe(DataType.Double);
    const last = pushed.get(sensor.id)!.at(-1)!;
    expect(value!.value.value).toBe(last.value);
    expect(value!.sourceTimestamp?.getTime()).toBe(last.ts);
  });

  it('serves the machine state as a MultiStateDiscrete whose EnumStrings name the index', async () => {
    const session = await connect();
    const sensor = sensorOfKind('state');
    const [strings, value] = await session.read([
      { nodeId: await propertyOf(session, server.nodeIdOf(sensor.id), 'EnumStrings'), attributeId: AttributeIds.Value },
      { nodeId: server.nodeIdOf(sensor.id), attributeId: AttributeIds.Value },
    ]);
    expect((strings!.value.value as { text: string }[]).map((t) => t.text)).toEqual(['running', 'idle', 'down', 'setup']);
    expect(value!.value.dataType).toBe(DataType.UInt32);
    expect(value!.value.value).toBe(pushed.get(sensor.id)!.at(-1)!.value);
    const definition = await session.read({ nodeId: server.nodeIdOf(sensor.id), attributeId: AttributeIds.DataType });
    expect(definition.statusCode.isGood()).toBe(true);
  });

  it('serves part counters as UInt64 with an EngineeringUnits property', async () => {
    const session = await connect();
    const sensor = plant.sensors.find((s) => (s as { kind?: string }).kind === 'counter' && s.decimals === 0)!;
    const [value, eu] = await session.read([
      { nodeId: server.nodeIdOf(sensor.id), attributeId: AttributeIds.Value },
      { nodeId: await propertyOf(session, server.nodeIdOf(sensor.id), 'EngineeringUnits'), attributeId: AttributeIds.Value },
    ]);
    expect(value!.value.dataType).toBe(DataType.UInt64);
    const [high, low] = value!.value.value as [number, number];
    expect(high * 2 ** 32 + low).toBe(pushed.get(sensor.id)!.at(-1)!.value);
    expect((eu!.value.value as { displayName: { text: string } }).displayName.text).toBe(sensor.unit);
  });
});

describe('OPC-UA server values', () => {
  it('delivers pushed values and source timestamps to monitored items', async () => {
    const session = await connect();
    const watched = [plant.sensors[0]!, plant.sensors[7]!, sensorOfKind('state')];
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: 50,
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      publishingEnabled: true,
    });
    const received = new Map<string, DataValue[]>();
    for (const s of watched) {
      const item = ClientMonitoredItem.create(
        subscription,
        { nodeId: server.nodeIdOf(s.id), attributeId: AttributeIds.Value },
        {
          samplingInterval: 0,
          queueSize: 100,
          discardOldest: true,
          // Every reading, even one whose value did not change (a state holds for hours).
          filter: new DataChangeFilter({ trigger: DataChangeTrigger.StatusValueTimestamp, deadbandType: DeadbandType.None }),
        },
        TimestampsToReturn.Both,
      );
      received.set(s.id, []);
      item.on('changed', (dv: DataValue) => received.get(s.id)!.push(dv));
    }
    // The initial value of each item, then three steps 150 ms apart (more than the 100 ms coalescing window).
    await until(() => [...received.values()].every((v) => v.length >= 1));
    for (let i = 0; i < 3; i++) {
      pushStep();
      await new Promise((r) => setTimeout(r, 150));
    }
    for (const s of watched) {
      const want = pushed.get(s.id)!.slice(-3);
      await until(() => received.get(s.id)!.length >= 4);
      const got = received.get(s.id)!.slice(-3);
      expect(got.map((dv) => dv.sourceTimestamp?.getTime())).toEqual(want.map((r) => r.ts));
      expect(got.map((dv) => numberOf(dv))).toEqual(want.map((r) => r.value));
      expect(got.every((dv) => dv.statusCode.equals(StatusCodes.Good))).toBe(true);
    }
    await subscription.terminate();
  });

  it('marks a dropped-out sensor BadNoCommunication, keeping its last value, and quality as status', async () => {
    const session = await connect();
    const [dropped, flaky] = [plant.sensors[2]!, plant.sensors[3]!];
    const before = pushed.get(dropped.id)!.at(-1)!;
    const step = pushStep([dropped.id]);
    const stepTs = step[0]!.ts;
    const [dv] = await session.read([{ nodeId: server.nodeIdOf(dropped.id), attributeId: AttributeIds.Value }]);
    expect(dv!.statusCode.equals(StatusCodes.BadNoCommunication)).toBe(true);
    expect(dv!.value.value).toBe(before.value);
    expect(dv!.sourceTimestamp?.getTime()).toBe(stepTs);

    server.update([{ sensor: flaky.id, ts: stepTs + 500, value: 1.5, quality: 'uncertain' }]);
    const uncertain = await session.read({ nodeId: server.nodeIdOf(flaky.id), attributeId: AttributeIds.Value });
    expect(uncertain.statusCode.equals(StatusCodes.Uncertain)).toBe(true);
    server.update([{ sensor: flaky.id, ts: stepTs + 600, value: 1.6, quality: 'bad' }]);
    const bad = await session.read({ nodeId: server.nodeIdOf(flaky.id), attributeId: AttributeIds.Value });
    expect(bad.statusCode.isBad()).toBe(true);
    expect(bad.value.value).toBe(1.6);
    pushed.set(flaky.id, [...pushed.get(flaky.id)!, { sensor: flaky.id, ts: stepTs + 500, value: 1.5 }, { sensor: flaky.id, ts: stepTs + 600, value: 1.6 }]);

    // Unknown sensors do not stop the others.
    expect(() => server.update([{ sensor: 'acme/nowhere/x', ts: stepTs, value: 1 }], ['acme/nowhere/y'])).not.toThrow();
    expect(() => server.nodeIdOf('acme/nowhere/x')).toThrow(/not in the plant/);
  });

  it('answers HistoryRead (raw) with the recent past, continuation points included', async () => {
    const session = await connect();
    const sensor = plant.sensors[2]!; // dropped out in the previous test
    const nodeId = server.nodeIdOf(sensor.id);
    const served = pushed.get(sensor.id)!;
    const [historizing, access] = await session.read([
      { nodeId, attributeId: AttributeIds.Historizing },
      { nodeId, attributeId: AttributeIds.AccessLevel },
    ]);
    expect(historizing!.value.value).toBe(true);
    expect((access!.value.value as number) & AccessLevelFlag.HistoryRead).toBeTruthy();
    const all = await session.readHistoryValue(nodeId, new Date(START_MS - 1), new Date(START_MS + 3_600_000));
    expect(all.statusCode.isGood()).toBe(true);
    const values = all.historyData as unknown as { dataValues: DataValue[] };
    const times = values.dataValues.map((dv) => dv.sourceTimestamp?.getTime());
    // Every step so far: the good ones, then the dropout with the last good value and a Bad status.
    expect(times.slice(0, served.length)).toEqual(served.map((r) => r.ts));
    const dropout = values.dataValues.at(-1)!;
    expect(dropout.statusCode.equals(StatusCodes.BadNoCommunication)).toBe(true);
    expect(dropout.value.value).toBe(served.at(-1)!.value);

    // Two at a time: the server hands out a continuation point for the rest.
    const first = await session.readHistoryValue(nodeId, new Date(START_MS - 1), new Date(START_MS + 3_600_000), { numValuesPerNode: 2 });
    expect((first.historyData as unknown as { dataValues: DataValue[] }).dataValues).toHaveLength(2);
    expect(first.continuationPoint?.length).toBeGreaterThan(0);
    const rest = await session.readHistoryValue(
      { nodeId, continuationPoint: first.continuationPoint },
      new Date(START_MS - 1),
      new Date(START_MS + 3_600_000),
      { numValuesPerNode: 2 },
    );
    expect((rest.historyData as unknown as { dataValues: DataValue[] }).dataValues.map((dv) => dv.sourceTimestamp?.getTime())).toEqual(times.slice(2, 4));

    const none = await session.readHistoryValue(nodeId, new Date(START_MS - 10_000), new Date(START_MS - 5_000));
    expect(none.statusCode.equals(StatusCodes.GoodNoData)).toBe(true);
  });
});

describe('OPC-UA server security', () => {
  it('rejects anonymous sessions and wrong passwords when only users are allowed, and admits the user', async () => {
    // Anonymous is not even offered: no endpoint lists an Anonymous token policy, so the client gives up.
    const probe = OPCUAClient.create({ applicationName: 'millwright-test-client', endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager: clientCertificates });
    open.push({ client: probe });
    await probe.connect(server.endpointUrl);
    const tokens = (await probe.getEndpoints()).flatMap((e) => (e.userIdentityTokens ?? []).map((t) => t.tokenType));
    expect(tokens).toContain(UserTokenType.UserName);
    expect(tokens).not.toContain(UserTokenType.Anonymous);
    await expect(connect({ type: UserTokenType.Anonymous })).rejects.toThrow(/anonymous/i);
    await expect(connect({ type: UserTokenType.UserName, userName: USER.username, password: 'wrong' })).rejects.toThrow(/Bad/);
    const session = await connect();
    const dv = await session.read({ nodeId: server.nodeIdOf(plant.sensors[0]!.id), attributeId: AttributeIds.Value });
    expect(dv.statusCode.isGood()).toBe(true);
  });

  it('serves Sign and SignAndEncrypt (Basic256Sha256, Aes128_Sha256_RsaOaep) with certificates from the PKI folder', async () => {
    const channels = [
      [MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256],
      [MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Aes128_Sha256_RsaOaep],
      [MessageSecurityMode.Sign, SecurityPolicy.Basic256Sha256],
    ] as const;
    for (const [mode, policy] of channels) {
      const session = await connect(undefined, mode, policy);
      const dv = await session.read({ nodeId: server.nodeIdOf(plant.sensors[0]!.id), attributeId: AttributeIds.Value });
      expect(dv.value.value).toBe(pushed.get(plant.sensors[0]!.id)!.at(-1)!.value);
    }
    // The server kept the client's certificate among the trusted ones (trustUnknownClients).
    expect((await readdir(join(dir, 'server-pki', 'server', 'trusted', 'certs'))).length).toBeGreaterThan(0);
  });

  it('refuses an unknown client certificate unless trusted, and accepts it once moved to trusted/', async () => {
    const strictPki = join(dir, 'strict-pki');
    const strict = await startOpcuaServer({
      plant: buildPlant({ seed: 1, machines: 1 }),
      port: 0,
      security: { modes: ['SignAndEncrypt'], allowAnonymous: true, pkiDir: strictPki },
      historyCapacity: 0,
      log: silentLogger,
    });
    const attempt = async () => {
      const client = OPCUAClient.create({
        applicationName: 'millwright-test-client',
        endpointMustExist: false,
        securityMode: MessageSecurityMode.SignAndEncrypt,
        securityPolicy: SecurityPolicy.Basic256Sha256,
        connectionStrategy: { maxRetry: 0, initialDelay: 50 },
        clientCertificateManager: clientCertificates,
      });
      try {
        await client.connect(strict.endpointUrl);
        const session = await client.createSession();
        await session.close();
      } finally {
        await client.disconnect();
      }
    };
    try {
      await expect(attempt()).rejects.toThrow();
      const rejected = join(strictPki, 'server', 'rejected');
      const [file] = await readdir(rejected);
      expect(file).toBeDefined();
      await rename(join(rejected, file!), join(strictPki, 'server', 'trusted', 'certs', file!));
      await until(async () => attempt().then(() => true, () => false), 10_000);
    } finally {
      await strict.stop();
    }
  });
});

async function propertyOf(session: ClientSession, nodeId: string, name: string): Promise<string> {
  const [result] = await session.translateBrowsePath([makeBrowsePath(nodeId, `.${name}`)]);
  const target = result?.targets?.[0];
  if (!target) throw new Error(`${nodeId} has no property ${name}`);
  return target.targetId.toString();
}

function numberOf(dv: DataValue): number {
  const v = dv.value.value as unknown;
  return Array.isArray(v) ? (v[0] as number) * 2 ** 32 + (v[1] as number) : (v as number);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

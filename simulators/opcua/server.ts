import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AccessLevelFlag,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
  VariantArrayType,
  type ContinuationData,
  type ISessionContext,
  type Namespace,
  type StatusCode,
  type UAObject,
  type UAVariable,
} from 'node-opcua';
import type { Logger } from '../../shared/log.js';
import { routeOpcuaLogs } from '../../shared/opcua/logs.js';
import type { Quality } from '../../shared/reading.js';
import type { Plant, PlantSensor } from '../plant.js';
import { HistoryRing, readRawHistory } from './history.js';
import { euInformationOf } from './units.js';

/**
 * Serves a simulated plant over OPC-UA (node-opcua). Address space, under Objects, one node per UNS
 * path segment, every NodeId the UNS path itself in namespace 1 (`urn:millwright:sim`):
 *
 *   Objects
 *   └─ acme                 Folder      ns=1;s=acme
 *      └─ plant1            Folder      ns=1;s=acme/plant1
 *         └─ press-line     Folder      ns=1;s=acme/plant1/press-line
 *            └─ press-1     Object      ns=1;s=acme/plant1/press-line/press-1
 *               └─ vibration_rms  AnalogItemType  ns=1;s=acme/plant1/press-line/press-1/vibration_rms
 *
 * Folders organise (Organizes) and machines hold their sensors as components (HasComponent), so
 * browse names joined by "/" give back the sensor id. Sensors by kind:
 * - analog: AnalogItemType, Double, with EngineeringUnits (UN/CEFACT codes, see units.ts) and EURange
 *   (the transmitter's measuring range);
 * - counter: BaseDataVariableType, UInt64 when the sensor has no decimals, Double otherwise, with an
 *   EngineeringUnits property;
 * - state: MultiStateDiscreteType, UInt32 index into the EnumStrings property (running, idle ...).
 *
 * Every value carries the reading's timestamp (simulated time) as its source timestamp. node-opcua's
 * `setValueFromSource` sets the server timestamp to the same instant, so do not read the server
 * timestamp as wall-clock time. Status codes: Good, Uncertain, Bad for the reading's quality;
 * BadNoCommunication (value kept) for a sensor in `missing` (dropout); BadWaitingForInitialData
 * before the first update.
 *
 * Not guaranteed: OPC-UA subscriptions report changes, not every reading. With the default
 * DataChangeTrigger (StatusValue) an unchanged value with a new timestamp is not reported, and
 * values that change faster than the sampling interval are coalesced. Clients that need every
 * reading ask for samplingInterval 0 (exception-based here, as MinimumSamplingInterval is 0),
 * trigger StatusValueTimestamp and a queue, and fill gaps with HistoryRead.
 */

export type OpcuaSecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';

export interface OpcuaUser {
  username: string;
  password: string;
}

export interface OpcuaSecurityOptions {
  /** Message security modes offered; Sign and SignAndEncrypt use Basic256Sha256 and Aes128_Sha256_RsaOaep. */
  modes: readonly OpcuaSecurityMode[];
  /** User name / password identities accepted. */
  users?: readonly OpcuaUser[];
  allowAnonymous: boolean;
  /**
   * Folder of the certificate stores, kept between runs: `<pkiDir>/server` holds the server's own
   * self-signed certificate (created on first start, `own/certs/certificate.pem`), `trusted/certs/`
   * (client certificates to accept) and `rejected/` (clients refused; move a file to
   * `trusted/certs/` to trust it). Omitted: a temporary folder, removed on stop, so the server
   * has a new certificate at every start.
   */
  pkiDir?: string;
  /** Accept any client certificate (and file it under trusted/). For tests and demos only. */
  trustUnknownClients?: boolean;
}

export interface OpcuaServerOptions {
  plant: Plant;
  /** TCP port; 0 picks a free one (see `endpointUrl`). */
  port: number;
  /** Interface to listen on, also the host name in the endpoint URL. */
  host?: string;
  /** Default: security None, anonymous allowed. */
  security?: OpcuaSecurityOptions;
  /** Values kept per variable for HistoryRead (raw); 0 turns history off. Default 100. */
  historyCapacity?: number;
  log: Logger;
}

export interface OpcuaReading {
  sensor: string;
  /** Source timestamp, ms since the epoch (simulated time). */
  ts: number;
  value: number;
  quality?: Quality;
}

export interface OpcuaServer {
  /** e.g. `opc.tcp://127.0.0.1:40123`, with the port actually bound. */
  readonly endpointUrl: string;
  /** Namespace URI of namespace 1, where every plant node lives. */
  readonly namespaceUri: string;
  /**
   * Publishes one step: every reading's value, source timestamp and status. Sensors in `missing`
   * keep their last value with status BadNoCommunication, timestamped with the newest reading
   * timestamp seen so far (this call's or an earlier one's; the wall clock before any reading).
   * Unknown sensors are skipped and logged once each.
   */
  update(readings: readonly OpcuaReading[], missing?: readonly string[]): void;
  /** `ns=1;s=<sensor id>`; throws for a sensor the plant does not have. */
  nodeIdOf(sensor: string): string;
  /** Closes sessions and the listener. Idempotent. */
  stop(): Promise<void>;
}

export const NAMESPACE_URI = 'urn:millwright:sim';
export const DEFAULT_HISTORY_CAPACITY = 100;

const QUALITY_STATUS: Readonly<Record<Quality, StatusCode>> = {
  good: StatusCodes.Good,
  uncertain: StatusCodes.Uncertain,
  bad: StatusCodes.Bad,
};

/** Read-only to clients; the simulator is the only writer. */
const READ_ONLY = AccessLevelFlag.CurrentRead;
const READ_WITH_HISTORY = AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead;

/** Sensors remembered for logging a problem once each; beyond this problems are counted only. */
const MAX_LOGGED = 100;

type Kind = 'analog' | 'counter' | 'state';

interface Served {
  readonly node: UAVariable;
  readonly toVariant: (value: number) => Variant | null;
  readonly ring: HistoryRing | undefined;
  /** NaN until the first value. */
  last: number;
}

export async function startOpcuaServer(opts: OpcuaServerOptions): Promise<OpcuaServer> {
  routeOpcuaLogs(opts.log);
  const { plant, port, host = '127.0.0.1', log } = opts;
  const security: OpcuaSecurityOptions = opts.security ?? { modes: ['None'], allowAnonymous: true };
  const historyCapacity = opts.historyCapacity ?? DEFAULT_HISTORY_CAPACITY;
  checkOptions(port, security, historyCapacity);
  const started = performance.now();

  const ownPki = security.pkiDir === undefined;
  const pkiDir = security.pkiDir ?? (await mkdtemp(join(tmpdir(), 'millwright-opcua-pki-')));
  await mkdir(pkiDir, { recursive: true });
  const certificateManager = (side: string) =>
    new OPCUACertificateManager({
      rootFolder: join(pkiDir, side),
      automaticallyAcceptUnknownCertificate: security.trustUnknownClients ?? false,
      // Watchers pick up certificates dropped into trusted/ while running; a throwaway store has none.
      disableFileWatchers: ownPki,
    });
  const serverCertificates = certificateManager('server');
  // X.509 user tokens are not offered, but node-opcua would otherwise create this store in ~/.config.
  const userCertificates = certificateManager('user');

  const secure = security.modes.some((m) => m !== 'None');
  let server: OPCUAServer | undefined;
  let served: Map<string, Served>;
  try {
    server = new OPCUAServer({
      port,
      host,
      hostname: host === '0.0.0.0' || host === '::' ? osHostname() : host,
      serverCertificateManager: serverCertificates,
      userCertificateManager: userCertificates,
      securityModes: security.modes.map((m) => MessageSecurityMode[m]),
      securityPolicies: [
        ...(security.modes.includes('None') ? [SecurityPolicy.None] : []),
        // Not Basic128Rsa15 / Basic256: they need PKCS#1 v1.5 decryption, which Node 20 refuses.
        ...(secure ? [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep] : []),
      ],
      allowAnonymous: security.allowAnonymous,
      userManager: { isValidUser: passwordChecker(security.users ?? []) },
      serverInfo: {
        applicationUri: NAMESPACE_URI,
        productUri: 'millwright-sim',
        applicationName: { text: 'millwright simulator', locale: 'en' },
      },
      buildInfo: { productName: 'millwright simulator', manufacturerName: 'millwright' },
    });
    await server.initialize();
    served = buildAddressSpace(server, plant, historyCapacity);
    await server.start();
  } catch (err) {
    await server?.shutdown(0).catch(() => {});
    await disposeStores();
    throw err;
  }
  const opcua = server;

  async function disposeStores(): Promise<void> {
    await serverCertificates.dispose().catch(() => {});
    await userCertificates.dispose().catch(() => {});
    if (ownPki) await rm(pkiDir, { recursive: true, force: true });
  }

  opcua.on('session_activated', (session) => {
    log.debug('opcua_session_activated', { session: session.sessionName });
  });
  opcua.on('connectionRefused', (socketData) => {
    log.warn('opcua_connection_refused', { remote: `${socketData.remoteAddress}:${socketData.remotePort}` });
  });

  const endpointUrl = opcua.getEndpointUrl();
  log.info('opcua_server_started', {
    endpointUrl,
    variables: served.size,
    startMs: Math.round(performance.now() - started),
    modes: security.modes,
    anonymous: security.allowAnonymous,
    users: security.users?.length ?? 0,
    historyCapacity,
    pkiDir: ownPki ? undefined : pkiDir,
  });

  // Bad input never stops the simulation: unknown sensors and values node-opcua refuses are
  // skipped, counted, and logged once per sensor (up to MAX_LOGGED sensors).
  const logged = new Set<string>();
  let unknownCount = 0;
  let failedCount = 0;
  const once = (event: string, sensor: string, fields: Record<string, unknown>) => {
    if (logged.has(sensor) || logged.size >= MAX_LOGGED) return;
    logged.add(sensor);
    log.warn(event, { sensor, ...fields });
  };
  const unknownSensor = (sensor: string) => {
    unknownCount++;
    once('opcua_unknown_sensor', sensor, { unknownSoFar: unknownCount });
  };
  const publish = (sensor: string, s: Served, variant: Variant | null, value: number, status: StatusCode, ts: number) => {
    try {
      s.node.setValueFromSource(variant ?? new Variant({ dataType: DataType.Null }), status, new Date(ts));
    } catch (err) {
      failedCount++;
      once('opcua_update_failed', sensor, { error: err, failedSoFar: failedCount });
      return;
    }
    if (variant) s.last = value;
    s.ring?.push(ts, variant ? value : Number.NaN, status);
  };

  let newestTs = Number.NaN;
  let stopping: Promise<void> | undefined;

  return {
    endpointUrl,
    namespaceUri: NAMESPACE_URI,
    update(readings, missing = []) {
      if (stopping) return;
      for (const r of readings) {
        const s = served.get(r.sensor);
        if (!s) {
          unknownSensor(r.sensor);
          continue;
        }
        if (Number.isNaN(newestTs) || r.ts > newestTs) newestTs = r.ts;
        const variant = s.toVariant(r.value);
        if (variant) {
          publish(r.sensor, s, variant, r.value, QUALITY_STATUS[r.quality ?? 'good'], r.ts);
        } else {
          // A value the variable cannot hold (state index out of range, negative count): keep the last.
          publish(r.sensor, s, s.toVariant(s.last), s.last, StatusCodes.BadOutOfRange, r.ts);
        }
      }
      if (missing.length === 0) return;
      const when = Number.isNaN(newestTs) ? Date.now() : newestTs;
      for (const sensor of missing) {
        const s = served.get(sensor);
        if (!s) unknownSensor(sensor);
        else publish(sensor, s, s.toVariant(s.last), s.last, StatusCodes.BadNoCommunication, when);
      }
    },
    nodeIdOf(sensor) {
      if (!served.has(sensor)) throw new RangeError(`no OPC-UA variable for sensor "${sensor}": not in the plant`);
      return nodeIdString(sensor);
    },
    stop() {
      stopping ??= (async () => {
        await opcua.shutdown(0);
        await disposeStores();
        log.info('opcua_server_stopped', { endpointUrl, unknownReadings: unknownCount, failedUpdates: failedCount });
      })();
      return stopping;
    },
  };
}

/** Namespace 1 is the server's own: its URI is the applicationUri (`NAMESPACE_URI`). */
function nodeIdString(path: string): string {
  return `ns=1;s=${path}`;
}

function buildAddressSpace(server: OPCUAServer, plant: Plant, historyCapacity: number): Map<string, Served> {
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('node-opcua server has no address space after initialize()');
  const ns = addressSpace.getOwnNamespace();
  const containers = new Map<string, UAObject>();

  /** Folder (or machine object) for a UNS path prefix, creating its ancestors first. */
  const container = (segments: readonly string[], machine?: { type: string }): UAObject => {
    const path = segments.join('/');
    const known = containers.get(path);
    if (known) return known;
    const parent = segments.length === 1 ? addressSpace.rootFolder.objects : container(segments.slice(0, -1));
    const options = { organizedBy: parent, browseName: segments[segments.length - 1] as string, nodeId: `s=${path}` };
    const node = machine
      ? ns.addObject({ ...options, description: machine.type })
      : ns.addFolder(parent, { browseName: options.browseName, nodeId: options.nodeId });
    containers.set(path, node);
    return node;
  };

  const served = new Map<string, Served>();
  for (const machine of plant.machines) {
    const machineNode = container(machine.path.split('/'), machine);
    for (const sensor of machine.sensors) {
      const ring = historyCapacity > 0 ? new HistoryRing(historyCapacity) : undefined;
      const { node, toVariant } = addSensor(ns, machineNode, sensor, ring !== undefined);
      const entry: Served = { node, toVariant, ring, last: Number.NaN };
      if (ring) serveHistory(node, ring, toVariant);
      node.setValueFromSource(new Variant({ dataType: DataType.Null }), StatusCodes.BadWaitingForInitialData);
      served.set(sensor.id, entry);
    }
  }
  return served;
}

/** The sensor's kind; sensors of plants built before kinds existed are analog. */
function kindOf(sensor: PlantSensor): Kind {
  const kind = (sensor as { kind?: unknown }).kind;
  return kind === 'counter' || kind === 'state' ? kind : 'analog';
}

function statesOf(sensor: PlantSensor): string[] {
  const states = (sensor as { states?: unknown }).states;
  if (!Array.isArray(states) || states.length === 0 || !states.every((s) => typeof s === 'string')) {
    throw new RangeError(`state sensor ${sensor.id} has no states list`);
  }
  return states as string[];
}

function addSensor(
  ns: Namespace,
  machine: UAObject,
  sensor: PlantSensor,
  historizing: boolean,
): { node: UAVariable; toVariant: (value: number) => Variant | null } {
  const common = {
    componentOf: machine,
    browseName: sensor.name,
    nodeId: `s=${sensor.id}`,
    description: sensor.description,
    accessLevel: historizing ? READ_WITH_HISTORY : READ_ONLY,
    userAccessLevel: historizing ? READ_WITH_HISTORY : READ_ONLY,
    historizing,
    // 0: the value changes by the simulator's push, so monitored items can be exception-based.
    minimumSamplingInterval: 0,
  };
  switch (kindOf(sensor)) {
    case 'state': {
      const states = statesOf(sensor);
      const node = ns.addMultiStateDiscrete({ ...common, enumStrings: states, value: 0 });
      return {
        node,
        toVariant: (v) => (Number.isInteger(v) && v >= 0 && v < states.length ? new Variant({ dataType: DataType.UInt32, value: v }) : null),
      };
    }
    case 'counter': {
      const integral = sensor.decimals === 0;
      const node = ns.addVariable({ ...common, typeDefinition: 'BaseDataVariableType', dataType: integral ? 'UInt64' : 'Double' });
      ns.addVariable({
        propertyOf: node,
        browseName: { name: 'EngineeringUnits', namespaceIndex: 0 },
        typeDefinition: 'PropertyType',
        dataType: 'EUInformation',
        accessLevel: READ_ONLY,
        userAccessLevel: READ_ONLY,
        value: { dataType: DataType.ExtensionObject, value: euInformationOf(sensor.unit) },
      });
      return { node, toVariant: integral ? uint64Variant : doubleVariant };
    }
    case 'analog': {
      const [low, high] = sensor.range;
      const node = ns.addAnalogDataItem({
        ...common,
        dataType: 'Double',
        engineeringUnits: euInformationOf(sensor.unit),
        engineeringUnitsRange: { low, high },
      });
      return { node, toVariant: doubleVariant };
    }
  }
}

function doubleVariant(v: number): Variant | null {
  return Number.isFinite(v) ? new Variant({ dataType: DataType.Double, value: v }) : null;
}

/** node-opcua carries a UInt64 as [high, low] 32-bit words. */
function uint64Variant(v: number): Variant | null {
  if (!Number.isSafeInteger(v) || v < 0) return null;
  return new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [Math.floor(v / 2 ** 32), v % 2 ** 32] });
}

/** Answers HistoryRead for `node` from the ring, through the variable's public `historyRead`. */
function serveHistory(node: UAVariable, ring: HistoryRing, toVariant: (value: number) => Variant | null): void {
  const historyRead = (
    context: ISessionContext,
    details: unknown,
    _indexRange: unknown,
    _dataEncoding: unknown,
    continuationData: ContinuationData,
    callback?: (err: Error | null, result?: ReturnType<typeof readRawHistory>) => void,
  ) => {
    const result = readRawHistory(ring, toVariant, context, details, continuationData);
    if (callback) return void callback(null, result);
    return Promise.resolve(result);
  };
  Object.assign(node, { historyRead });
}

/** Compares digests in constant time, so a wrong password takes as long as a right one. */
function passwordChecker(users: readonly OpcuaUser[]): (username: string, password: string) => boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const known = users.map((u) => ({ username: u.username, password: digest(u.password) }));
  return (username, password) => {
    const given = digest(password ?? '');
    let ok = false;
    for (const u of known) if (timingSafeEqual(u.password, given) && u.username === username) ok = true;
    return ok;
  };
}

function checkOptions(port: number, security: OpcuaSecurityOptions, historyCapacity: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`);
  if (security.modes.length === 0) throw new RangeError('security.modes must name at least one of None, Sign, SignAndEncrypt');
  for (const m of security.modes) {
    if (m !== 'None' && m !== 'Sign' && m !== 'SignAndEncrypt') throw new RangeError(`unknown security mode "${String(m)}": use None, Sign or SignAndEncrypt`);
  }
  if (!security.allowAnonymous && !(security.users?.length ?? 0)) {
    throw new RangeError('security: anonymous access is off and no users are configured, so nobody could connect');
  }
  for (const u of security.users ?? []) {
    if (!u.username || !u.password) throw new RangeError('security.users: every user needs a non-empty username and password');
  }
  if (!Number.isInteger(historyCapacity) || historyCapacity < 0) {
    throw new RangeError(`historyCapacity must be a non-negative integer, got ${historyCapacity}`);
  }
}

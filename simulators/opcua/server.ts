import { hostname as osHostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { OPCUAServer } from 'node-opcua';
import type { Logger } from '../../shared/log.js';
import { routeOpcuaLogs } from '../../shared/opcua/logs.js';
import type { Plant } from '../plant.js';
import { buildAddressSpace, nodeIdString, type Served } from './address-space.js';
import { createOpcuaHistory, type OpcuaHistory } from './history.js';
import { checkSecurity, DEFAULT_SECURITY, openCertificateStores, serverSecurityOptions, type OpcuaSecurityOptions } from './security.js';
import { createValueUpdater, type OpcuaReading } from './value-updates.js';

/**
 * Serves a simulated plant over OPC-UA (node-opcua). The pieces:
 * - `address-space.ts`: the nodes (UNS path = NodeId, in namespace 1 `urn:millwright:sim`);
 * - `value-updates.ts`: `update`, writing values, source timestamps and status codes;
 * - `security.ts`: security modes, certificate stores and the user manager;
 * - `history.ts`: HistoryRead (raw) from a ring of recent values, optionally kept across restarts.
 *
 * Not guaranteed: OPC-UA subscriptions report changes, not every reading. With the default
 * DataChangeTrigger (StatusValue) an unchanged value with a new timestamp is not reported, and
 * values that change faster than the sampling interval are coalesced. Clients that need every
 * reading ask for samplingInterval 0 (exception-based here, as MinimumSamplingInterval is 0),
 * trigger StatusValueTimestamp and a queue, and fill gaps with HistoryRead.
 */

export type { OpcuaHistory } from './history.js';
export { createOpcuaHistory } from './history.js';
export type { OpcuaSecurityMode, OpcuaSecurityOptions, OpcuaUser } from './security.js';
export type { OpcuaReading } from './value-updates.js';

export interface OpcuaServerOptions {
  plant: Plant;
  /** TCP port; 0 picks a free one (see `endpointUrl`). */
  port: number;
  /** Interface to listen on, also the host name in the endpoint URL. Default 127.0.0.1. */
  host?: string | undefined;
  /** Default: security None, anonymous allowed. */
  security?: OpcuaSecurityOptions | undefined;
  /** Values kept per variable for HistoryRead (raw); 0 turns history off. Default 100. Ignored with `history`. */
  historyCapacity?: number | undefined;
  /** History that outlives this server (see `createOpcuaHistory`): a restarted server answers for the time it was down. */
  history?: OpcuaHistory | undefined;
  /** OperationLimits the server enforces, like a PLC's (node-opcua's defaults otherwise). */
  operationLimits?: { maxMonitoredItemsPerCall?: number; maxNodesPerBrowse?: number } | undefined;
  log: Logger;
}

export interface OpcuaServer {
  /** e.g. `opc.tcp://127.0.0.1:40123`, with the port actually bound. */
  readonly endpointUrl: string;
  /** Namespace URI of namespace 1, where every plant node lives. */
  readonly namespaceUri: string;
  /**
   * Publishes one step: every reading's value, source timestamp and status. Sensors in `missing`
   * keep their last value with status BadNoCommunication, timestamped `stepTs` (the step's own
   * time); without it, the newest reading timestamp seen so far (the wall clock before any
   * reading), which a clock-jumped sensor elsewhere can put in the future.
   * Unknown sensors are skipped and logged once each.
   */
  update(readings: readonly OpcuaReading[], missing?: readonly string[], stepTs?: number): void;
  /** `ns=1;s=<sensor id>`; throws for a sensor the plant does not have. */
  nodeIdOf(sensor: string): string;
  /** Closes sessions and the listener. Idempotent. */
  stop(): Promise<void>;
}

export const NAMESPACE_URI = 'urn:millwright:sim';
export const DEFAULT_HISTORY_CAPACITY = 100;

export async function startOpcuaServer(opts: OpcuaServerOptions): Promise<OpcuaServer> {
  routeOpcuaLogs(opts.log);
  const { plant, port, host = '127.0.0.1', log } = opts;
  const security = opts.security ?? DEFAULT_SECURITY;
  const historyCapacity = opts.history?.capacity ?? opts.historyCapacity ?? DEFAULT_HISTORY_CAPACITY;
  checkOptions(port, historyCapacity);
  const history = opts.history ?? (historyCapacity > 0 ? createOpcuaHistory(historyCapacity) : undefined);
  checkSecurity(security);
  const started = performance.now();

  const stores = await openCertificateStores(security);
  let server: OPCUAServer | undefined;
  let served: Map<string, Served>;
  try {
    server = new OPCUAServer({
      port,
      host,
      hostname: host === '0.0.0.0' || host === '::' ? osHostname() : host,
      ...serverSecurityOptions(security, stores),
      serverInfo: {
        applicationUri: NAMESPACE_URI,
        productUri: 'millwright-sim',
        applicationName: { text: 'millwright simulator', locale: 'en' },
      },
      buildInfo: { productName: 'millwright simulator', manufacturerName: 'millwright' },
      ...(opts.operationLimits ? { serverCapabilities: { operationLimits: opts.operationLimits } } : {}),
    });
    await server.initialize();
    served = buildAddressSpace(server, plant, history);
    await server.start();
  } catch (err) {
    await server?.shutdown(0).catch(() => {});
    await stores.dispose();
    throw err;
  }
  const opcua = server;

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
    pkiDir: stores.kept ? stores.pkiDir : undefined,
  });

  const updater = createValueUpdater(served, log);
  let stopping: Promise<void> | undefined;

  return {
    endpointUrl,
    namespaceUri: NAMESPACE_URI,
    update(readings, missing, stepTs) {
      if (!stopping) updater.update(readings, missing, stepTs);
    },
    nodeIdOf(sensor) {
      if (!served.has(sensor)) throw new RangeError(`no OPC-UA variable for sensor "${sensor}": not in the plant`);
      return nodeIdString(sensor);
    },
    stop() {
      stopping ??= (async () => {
        await opcua.shutdown(0);
        await stores.dispose();
        log.info('opcua_server_stopped', { endpointUrl, ...updater.counts });
      })();
      return stopping;
    },
  };
}

function checkOptions(port: number, historyCapacity: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`);
  if (!Number.isInteger(historyCapacity) || historyCapacity < 0) {
    throw new RangeError(`historyCapacity must be a non-negative integer, got ${historyCapacity}`);
  }
}

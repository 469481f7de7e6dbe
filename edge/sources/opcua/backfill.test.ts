import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusCodes } from 'node-opcua';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../../shared/log.js';
import { createOpcuaHistory, startOpcuaServer, type OpcuaServer } from '../../../simulators/opcua/server.js';
import { buildPlant } from '../../../simulators/plant.js';
import { eventually } from '../../../test/helpers/mqtt.js';
import { createTelemetry } from '../../telemetry/events.js';
import { classifyHistoryStatus } from './backfill.js';
import { OpcuaSourceConfig } from './config.js';
import { createOpcuaSource } from './source.js';
import { publishing, startRelay, tempStore, toServer } from './testing.js';

const plant = buildPlant({ seed: 11, machines: 1 });
// The simulated device's clock runs an hour ahead of the wall clock (it runs 10x fast from T). It
// was a fixed date, and these tests broke when the wall clock passed it: the server stamps its
// variables' initial values with its own clock, and device values behind one already seen were
// taken for old (source.ts now compares with each node's last value for that). The backfill
// window still starts at each node's newest value, which a server-clock value ahead of the
// device's would push past the gap: that case is not handled, so the clock stays ahead here.
const T = Date.now() + 3_600_000 - (Date.now() % 1000);
const SENSORS = plant.sensors.slice(0, 2).map((s) => s.id);
/** The monitored items' queue: far fewer values than a gap holds, so only HistoryRead can fill it. */
const QUEUE = 3;
/** One gateway PKI for the file (security None: nothing in it is checked), removed at the end. */
const PKI = mkdtempSync(join(tmpdir(), 'mw-pki-'));
afterAll(() => rmSync(PKI, { recursive: true, force: true }));

function config(endpointUrl: string, backfill: Record<string, unknown> = {}) {
  return OpcuaSourceConfig.parse({
    type: 'opcua',
    name: 'plc',
    endpointUrl,
    pkiDir: PKI,
    nodes: SENSORS.map((s) => ({ nodeId: `ns=1;s=${s}`, sensor: s })),
    samplingIntervalMs: 0,
    publishingIntervalMs: 50,
    queueSize: QUEUE,
    flushMs: 20,
    staleAfterMs: 60_000,
    reconnect: { baseMs: 100, capMs: 300 },
    // Small pages: the gap comes back through several continuation points.
    backfill: { valuesPerRequest: 4, ...backfill },
  });
}

/** Logs as objects, to read the backfill summary the source writes. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger({}, { level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

describe('OPC-UA source backfills gaps with HistoryRead', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('classifies HistoryRead statuses: values, history unsupported, failed', () => {
    expect(classifyHistoryStatus(StatusCodes.Good)).toBe('values');
    expect(classifyHistoryStatus(StatusCodes.GoodNoData)).toBe('values');
    expect(classifyHistoryStatus(StatusCodes.BadHistoryOperationUnsupported)).toBe('unsupported');
    expect(classifyHistoryStatus(StatusCodes.BadNotReadable)).toBe('unsupported');
    expect(classifyHistoryStatus(StatusCodes.BadContinuationPointInvalid)).toBe('failed');
  });

  /**
   * Runs a source through a relay, cuts the network for `cutMs` while the server goes on
   * publishing (and historizing), restores it, and returns the steps missing from SQLite.
   */
  async function cutAndRestore(backfill: Record<string, unknown>, cutMs = 2500, refuseMsAfterGap = 0) {
    const server = await startOpcuaServer({ plant, port: 0, log: silentLogger, historyCapacity: 1000 });
    cleanup.push(() => server.stop());
    const relay = await startRelay(server.endpointUrl);
    cleanup.push(() => relay.close());
    const db = tempStore();
    cleanup.push(() => db.close());
    const { lines, log } = capturingLog();
    const source = createOpcuaSource(config(relay.url, backfill), { gatewayId: 'gw', telemetry: createTelemetry(log), log });
    // The store may refuse commits for a while (a busy disk) from the moment the gap closes, which
    // is when the backfill starts: the source must keep the values and retry.
    let refuseUntil = 0;
    let refused = 0;
    await source.start({
      ...db.sink,
      closeGap(name, end) {
        refuseUntil = Date.now() + refuseMsAfterGap;
        db.sink.closeGap!(name, end);
      },
      async commit(name, readings) {
        if (Date.now() < refuseUntil) {
          refused++;
          throw new Error('SQLITE_BUSY: database is locked');
        }
        await db.sink.commit(name, readings);
      },
    });
    cleanup.push(() => source.stop());
    const pub = publishing(plant, T, toServer(() => server));
    cleanup.push(() => pub.stop());
    expect(await eventually(() => source.status().state === 'connected' && db.readings(SENSORS[0]!).length >= 3, 15_000)).toBe(true);

    relay.cut();
    const cutAt = pub.published.length;
    expect(await eventually(() => db.store.gaps.list({ source: 'plc' }).length === 1, 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, cutMs));
    const duringCut = pub.published.slice(cutAt);
    relay.restore();
    expect(await eventually(() => db.store.gaps.list({ source: 'plc' })[0]!.endMs !== null, 15_000)).toBe(true);
    // Let the backfill run (it logs a summary when done), then stop publishing and let the last values land.
    if (backfill.enabled !== false) expect(await eventually(() => lines.some((l) => l.event === 'opcua_backfill'), 10_000)).toBe(true);
    else await new Promise((r) => setTimeout(r, 1000));
    pub.stop();
    await new Promise((r) => setTimeout(r, 500));
    // Missing: published after the source's first value (earlier ones predate the subscription) and not stored.
    const missing = SENSORS.map((s) => {
      const stored = new Set(db.readings(s).map((r) => r.ts));
      const first = Math.min(...stored);
      return pub.published.filter((ts) => ts >= first && !stored.has(ts));
    });
    return { db, lines, duringCut, missing, refused };
  }

  it('after a network cut the gap is marked and every value the server kept of it is in SQLite', async () => {
    const { db, lines, duringCut, missing } = await cutAndRestore({});
    // The cut was long enough that the subscription's queue could not have carried it.
    expect(duringCut.length).toBeGreaterThan(4 * QUEUE);
    expect(missing).toEqual([[], []]);
    const gaps = db.store.gaps.list({ source: 'plc' });
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ reason: 'connection lost' });
    // The summary line reports what was read back: at least the values of the cut, per node.
    const summary = lines.find((l) => l.event === 'opcua_backfill')!;
    expect(summary).toMatchObject({ source: 'plc', nodes: 2, unsupported: 0, failed: 0, truncated: 0 });
    expect(summary.values as number).toBeGreaterThanOrEqual(2 * (duringCut.length - QUEUE));
    // The gap marker says it was filled, so it does not read like a loss.
    expect(db.store.gaps.list({ source: 'plc' })[0]!.backfill).toEqual({ outcome: 'complete', values: summary.values });
  }, 60_000);

  it('without backfill the same cut leaves values missing (what the test above proves is the backfill)', async () => {
    const { missing, duringCut } = await cutAndRestore({ enabled: false });
    // Measured: 25 values cut, 18 missing per node; the queue and node-opcua's republish bring back the rest.
    for (const m of missing) expect(m.length).toBeGreaterThan(duringCut.length / 2);
  }, 60_000);

  it('keeps and retries backfilled values while the store refuses them', async () => {
    const { missing, refused, lines } = await cutAndRestore({}, 1500, 800);
    expect(refused).toBeGreaterThan(1);
    expect(lines.some((l) => l.event === 'store_write_failed')).toBe(true);
    expect(missing).toEqual([[], []]);
    // The backfill began 100 ms after the gap closed and waited out the refusals.
    const summary = lines.find((l) => l.event === 'opcua_backfill')!;
    expect(summary).toMatchObject({ failed: 0 });
    expect(summary.durationMs as number).toBeGreaterThanOrEqual(400);
  }, 60_000);

  it('caps the values read per node and releases the continuation points', async () => {
    const { lines } = await cutAndRestore({ maxValuesPerNode: 5 }, 1500);
    const summary = lines.find((l) => l.event === 'opcua_backfill')!;
    expect(summary).toMatchObject({ nodes: 2, values: 10, truncated: 2, failed: 0 });
  }, 60_000);

  it('skips nodes whose server keeps no history, and says so once', async () => {
    const server = await startOpcuaServer({ plant, port: 0, log: silentLogger, historyCapacity: 0 });
    cleanup.push(() => server.stop());
    const relay = await startRelay(server.endpointUrl);
    cleanup.push(() => relay.close());
    const db = tempStore();
    cleanup.push(() => db.close());
    const { lines, log } = capturingLog();
    const source = createOpcuaSource(config(relay.url), { gatewayId: 'gw', telemetry: createTelemetry(silentLogger), log });
    await source.start(db.sink);
    cleanup.push(() => source.stop());
    const pub = publishing(plant, T, toServer(() => server));
    cleanup.push(() => pub.stop());
    expect(await eventually(() => source.status().state === 'connected' && db.readings(SENSORS[0]!).length > 0, 15_000)).toBe(true);
    for (let round = 1; round <= 2; round++) {
      relay.cut();
      expect(await eventually(() => db.store.gaps.list({ source: 'plc' }).length === round, 5000)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      relay.restore();
      expect(await eventually(() => db.store.gaps.list({ source: 'plc' })[round - 1]!.endMs !== null, 15_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 500)); // the backfill runs two publishing intervals after the gap closes
    }
    const unsupported = lines.filter((l) => l.event === 'opcua_history_unsupported');
    expect(unsupported).toHaveLength(1);
    expect(unsupported[0]).toMatchObject({ source: 'plc', nodes: 2 });
    expect(lines.filter((l) => l.event === 'opcua_backfill_failed')).toEqual([]);
    expect(source.status().state).toBe('connected');
  }, 60_000);

  it('after a server restart, reads back what the PLC historized while its server was down', async () => {
    // The PLC's historian outlives its OPC-UA server: values measured while the server is down
    // are recorded and served by the restarted one.
    const history = createOpcuaHistory(1000);
    let server: OpcuaServer = await startOpcuaServer({ plant, port: 0, log: silentLogger, history });
    const port = Number(new URL(server.endpointUrl.replace('opc.tcp', 'http')).port);
    cleanup.push(() => server.stop());
    const db = tempStore();
    cleanup.push(() => db.close());
    const { lines, log } = capturingLog();
    const source = createOpcuaSource(config(server.endpointUrl), { gatewayId: 'gw', telemetry: createTelemetry(silentLogger), log });
    await source.start(db.sink);
    cleanup.push(() => source.stop());
    let up = true;
    const pub = publishing(plant, T, (step) => (up ? server.update(step) : history.record(step)));
    cleanup.push(() => pub.stop());
    expect(await eventually(() => source.status().state === 'connected' && db.readings(SENSORS[0]!).length >= 3, 15_000)).toBe(true);

    up = false;
    const downFrom = pub.published.length;
    await server.stop();
    expect(await eventually(() => db.store.gaps.list({ source: 'plc' }).length === 1, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    server = await startOpcuaServer({ plant, port, log: silentLogger, history });
    up = true;
    const whileDown = pub.published.slice(downFrom);
    expect(whileDown.length).toBeGreaterThan(10);
    expect(await eventually(() => db.store.gaps.list({ source: 'plc' })[0]!.endMs !== null, 20_000)).toBe(true);
    expect(await eventually(() => whileDown.every((ts) => SENSORS.every((s) => db.readings(s).some((r) => r.ts === ts))), 10_000)).toBe(true);
    expect(db.store.gaps.list({ source: 'plc' })).toEqual([expect.objectContaining({ reason: 'connection lost' })]);
    expect(lines.find((l) => l.event === 'opcua_backfill')).toMatchObject({ nodes: 2, failed: 0 });
  }, 60_000);
});

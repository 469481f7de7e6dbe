import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker } from '../simulators/testing/broker.js';
import { createRng } from '../simulators/random.js';
import { spawnEdge, waitConnected, writeConfig, type EdgeProcess } from './helpers/edge-process.js';
import { auditHistorian, readingCount, storedReadings, untilStalled } from './helpers/historian.js';
import { freePort, hasMosquitto, startMosquitto } from './helpers/mosquitto.js';
import { startTrackedPublisher, type TrackedPublisher } from './helpers/tracked-publisher.js';

/**
 * DESIGN guarantee 1, "nothing acknowledged is lost", the hard way: the agent runs as an operator
 * runs it (the built CLI), a device publishes unique readings at QoS 1 without pause, and the
 * agent is killed with SIGKILL at random moments, 20 times, and restarted on the same data
 * directory each time. Every reading whose PUBACK the device saw must be in historian.sqlite,
 * exactly once and with its value.
 *
 * Two ways a reading travels, two tests:
 * - The agent's embedded broker (no `url`): the broker dies with the agent, so the PUBACK comes
 *   from the agent itself and must mean "committed". Checked after every single kill, before the
 *   restart: whatever was acknowledged up to the kill is already in the file.
 * - An external broker (`url:`): the PUBACK the device sees is the broker's; the agent must
 *   acknowledge to the broker only what it has committed, and its persistent session makes the
 *   broker redeliver the rest. Checked at the end, once the restarted agent has drained the
 *   broker. The broker is a private Mosquitto with the shipped settings (the in-process aedes test
 *   broker when no mosquitto is installed) — never the one in MILLWRIGHT_TEST_MQTT_URL: CI's is
 *   Debian's default Mosquitto, whose max_queued_messages (1000) silently drops QoS 1 messages
 *   queued for an offline session, and a killed agent's session queues rate × downtime (1,000
 *   messages/s × 0.6–1.2 s here). That loss would be the broker's (README, "What a broker drops
 *   is out of reach"), not the agent's, and this test would blame the agent for it.
 */

const KILLS = 20;
/**
 * Messages per second, readings per message (a JSON array, as batching devices send), and
 * unacknowledged messages at most: a steady 10,000 readings/s keeps the agent committing much of
 * the time, so that kills land inside commits. Tried with a build that sends the PUBACKs of a
 * batch before committing it: with one reading per message at 1,500/s the agent idled between
 * messages and 20 kills missed the bug; with this load every run caught it (6 of 6).
 */
const RATE = 1000;
const PER_MESSAGE = 10;
const WINDOW = 100;
/** A kill comes this long after the agent is ready, uniformly; every 4th comes while it is still starting. */
const KILL_AFTER_READY_MS: [number, number] = [0, 600];
const KILL_DURING_START_MS: [number, number] = [0, 600];

const SENSORS = Array.from({ length: 10 }, (_, i) => `acme/plant1/crash-line/m-${i}/vibration_rms`);
const PREFIX = 'crash/';
// Recent source times: age retention (rawDays, run at every start) would rightly delete readings
// from months ago, and this test would take that for loss.
const TS_START = Date.now() - 60 * 60_000;
const seed = Math.floor(Math.random() * 2 ** 31);
const rng = createRng(seed);
const after = (range: [number, number]) => new Promise((r) => setTimeout(r, rng.uniform(range[0], range[1])));

interface Broker {
  kind: string;
  url: string;
  stop(): Promise<void>;
}

async function externalBroker(): Promise<Broker> {
  if (hasMosquitto()) {
    const m = await startMosquitto();
    return { kind: 'Mosquitto (shipped settings)', url: m.url, stop: () => m.stop() };
  }
  const b = await startTestBroker();
  return { kind: 'aedes in the test process', url: b.url, stop: () => b.close() };
}

function edgeYaml(dataDir: string, mcpPort: number, source: string): string {
  return `gateway: { id: crash-gw, site: plant1 }
dataDir: ${dataDir}
sources:
  - type: mqtt
    name: line
${source}
    subscribe: ["${PREFIX}#"]
    topicPrefix: ${PREFIX}
mcp:
  http: { host: 127.0.0.1, port: ${mcpPort} }
log: { level: warn }
`;
}

/** What ran, for the failure message: enough to see which kill lost what. */
interface KillLog {
  kill: number;
  during: 'start' | 'load';
  committedThisRun: number;
}

let agent: EdgeProcess | undefined;
let publisher: TrackedPublisher | undefined;
let broker: Broker | undefined;
afterEach(async () => {
  await agent?.kill('SIGKILL');
  await publisher?.close();
  await broker?.stop();
  agent = publisher = broker = undefined;
});

/**
 * Starts the agent and SIGKILLs it at a random moment, KILLS times, on the same data directory.
 * `afterKill` runs after each kill, with the agent dead, before the next start.
 */
async function killRepeatedly(config: string, healthzUrl: string, dataDir: string, afterKill: (kill: number) => void): Promise<KillLog[]> {
  const log: KillLog[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    // Before the first start there may be no historian file yet.
    const before = kill === 1 ? 0 : readingCount(dataDir);
    agent = spawnEdge(config);
    const during = kill % 4 === 0 ? 'start' : 'load';
    if (during === 'start') await after(KILL_DURING_START_MS);
    else {
      await waitConnected(agent, healthzUrl);
      await after(KILL_AFTER_READY_MS);
    }
    await agent.kill('SIGKILL');
    const exit = await agent.exited;
    // A kill that lands after the agent exited on its own would hide a crash.
    expect(exit.signal, `agent exited by itself before kill ${kill}:\n${agent.stderr()}`).toBe('SIGKILL');
    afterKill(kill);
    log.push({ kill, during, committedThisRun: readingCount(dataDir) - before });
  }
  return log;
}

describe('kill -9 of the agent under MQTT load loses nothing acknowledged', () => {
  it(`embedded broker: after each of ${KILLS} kills, every reading PUBACKed so far is in SQLite, once`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-crash-embedded-'));
    const [brokerPort, mcpPort] = [await freePort(), await freePort()];
    const config = writeConfig(dataDir, edgeYaml(dataDir, mcpPort, `    embeddedBroker: { host: 127.0.0.1, port: ${brokerPort} }`));
    const healthzUrl = `http://127.0.0.1:${mcpPort}/healthz`;
    // The device connects (and reconnects) to the agent's own broker, which is down between a
    // kill and the next start: unacknowledged messages wait in MQTT.js's store and go again.
    publisher = startTrackedPublisher({
      url: `mqtt://127.0.0.1:${brokerPort}`, clientId: 'crash-device', topicPrefix: PREFIX, sensors: SENSORS,
      tsStart: TS_START, readingsPerMessage: PER_MESSAGE, ratePerSec: RATE, window: WINDOW, reconnectMs: 50,
    });
    const p = publisher;

    const log = await killRepeatedly(config, healthzUrl, dataDir, (kill) => {
      // The agent is dead, so no PUBACK can come from it any more: what the device holds as
      // acknowledged now must already be committed.
      const audit = auditHistorian(storedReadings(dataDir), p.sent, [...p.acked]);
      expect(audit.missing.slice(0, 20), `kill ${kill} (seed ${seed}): acknowledged but not in SQLite (${audit.missing.length})`).toEqual([]);
      expect(audit.duplicates.slice(0, 20), `kill ${kill}: stored twice (${audit.duplicates.length})`).toEqual([]);
    });

    agent = spawnEdge(config);
    await waitConnected(agent, healthzUrl);
    p.pause();
    expect(await p.drained(30_000), 'the device still has unacknowledged readings after the last restart').toBe(true);
    await expectCleanStop(agent);
    expectExactHistorian(dataDir, p, log);
    // The device lost its broker with every agent it had reached, and came back each time.
    expect(p.connects()).toBeGreaterThan(log.filter((k) => k.committedThisRun > 0).length);
    rmSync(dataDir, { recursive: true, force: true }); // kept when the test fails, to look at
  }, 90_000);

  it(`external broker: after ${KILLS} kills, every reading the broker PUBACKed reaches SQLite, once`, async () => {
    broker = await externalBroker();
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-crash-external-'));
    const mcpPort = await freePort();
    // A short reconnect backoff: a restarted agent should not sit out a long jittered delay
    // (it connects at start, so this only matters if the broker refuses it once).
    const source = `    url: ${broker.url}\n    clientId: crash-agent\n    reconnect: { baseMs: 50, capMs: 500 }`;
    const config = writeConfig(dataDir, edgeYaml(dataDir, mcpPort, source));
    const healthzUrl = `http://127.0.0.1:${mcpPort}/healthz`;

    // The agent's persistent session (and its subscription) must exist before the first
    // reading, or the broker has nobody to keep it for.
    agent = spawnEdge(config);
    await waitConnected(agent, healthzUrl);
    await agent.kill('SIGKILL');

    publisher = startTrackedPublisher({
      url: broker.url, clientId: 'crash-device', topicPrefix: PREFIX, sensors: SENSORS,
      tsStart: TS_START, readingsPerMessage: PER_MESSAGE, ratePerSec: RATE, window: WINDOW,
    });
    const p = publisher;
    const log = await killRepeatedly(config, healthzUrl, dataDir, () => {});

    agent = spawnEdge(config);
    await waitConnected(agent, healthzUrl);
    p.pause();
    expect(await p.drained(30_000), 'the broker did not acknowledge every reading').toBe(true);
    // The broker has them all; the agent drains its session (stop waiting once it stalls).
    await untilStalled(() => readingCount(dataDir), p.acked.size);
    await expectCleanStop(agent);
    expectExactHistorian(dataDir, p, log, broker.kind);
    rmSync(dataDir, { recursive: true, force: true });
  }, 90_000);
});

/** SIGTERM after all that: the agent drains and exits 0. */
async function expectCleanStop(a: EdgeProcess): Promise<void> {
  const timer = setTimeout(() => void a.kill('SIGKILL'), 15_000);
  await a.kill('SIGTERM');
  clearTimeout(timer);
  expect(await a.exited, `the agent did not stop cleanly:\n${a.stderr()}`).toEqual({ code: 0, signal: null });
}

/**
 * At the end everything the device sent was acknowledged, so the historian must hold exactly
 * that: none missing, none twice, none that was never sent, each with its value.
 */
function expectExactHistorian(dataDir: string, p: TrackedPublisher, log: KillLog[], broker = 'embedded'): void {
  const audit = auditHistorian(storedReadings(dataDir), p.sent, [...p.acked]);
  const context = `${dataDir}, seed ${seed}, ${broker}, ${p.acked.size} acknowledged, ${audit.stored} stored, ${p.retries()} publishes made again; kills: ${JSON.stringify(log)}`;
  expect(p.acked.size, context).toBe(p.sent.size);
  expect(audit.missing.slice(0, 20), `acknowledged but not stored (${audit.missing.length}); ${context}`).toEqual([]);
  expect(audit.duplicates.slice(0, 20), `stored twice (${audit.duplicates.length}); ${context}`).toEqual([]);
  expect(audit.unknown.slice(0, 20), `stored but never sent; ${context}`).toEqual([]);
  expect(audit.wrongValue.slice(0, 20), `stored with another value; ${context}`).toEqual([]);
  expect(audit.stored, context).toBe(p.sent.size);
  // The kills hit a working agent: most runs under load committed readings before they died.
  const loaded = log.filter((k) => k.during === 'load');
  expect(loaded.filter((k) => k.committedThisRun > 0).length, context).toBeGreaterThanOrEqual(loaded.length / 2);
  expect(p.sent.size, context).toBeGreaterThan(20_000);
}

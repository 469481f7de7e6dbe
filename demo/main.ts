import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { registerGateway } from '../cloud/db/gateways.js';
import { acquireLockFile, DataDirInUseError, type LockFile } from '../cloud/db/lockfile.js';
import { startCloud } from '../cloud/service.js';
import { startAgent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { CloudConfig } from '../shared/config.js';
import { createLogger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import { loadScenario } from '../simulators/scenario.js';
import { prepareSimulator } from '../simulators/serve.js';

export interface DemoOptions {
  /** Bundled scenario name or scenario file. */
  scenario: string;
  dataDir: string;
}

/** The line the edge reads over OPC-UA; every other line comes over MQTT. */
const OPCUA_LINE = 'machining';

const GATEWAY = { id: 'demo-gw1', site: 'plant1' };

/** ./data/demo if free, else ./data/demo-2, -3…: a second copy of the demo gets its own data. */
function claimDataDir(base: string): { dir: string; lock: LockFile } {
  for (let n = 1; n < 100; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    mkdirSync(dir, { recursive: true });
    try {
      return { dir, lock: acquireLockFile(join(dir, 'demo.lock')) };
    } catch (err) {
      if (!(err instanceof DataDirInUseError)) throw err;
    }
  }
  throw new Error(`every data directory from ${base} to ${base}-99 is in use by a running demo`);
}

/**
 * `npm start`: the cloud (embedded TimescaleDB), an edge agent syncing to it, and the simulator
 * playing a scenario: one line over OPC-UA (the simulator's server, the agent's OPC-UA source),
 * every other line over MQTT (into the agent's embedded broker), all on free ports. The only demo
 * file that touches the process.
 */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const { dir, lock } = claimDataDir(opts.dataDir);
  const log = createLogger({}, { level: 'warn' });
  const say = (line: string) => process.stdout.write(line + '\n');
  say(`millwright ${VERSION} demo · data in ${dir} · starting the cloud (embedded TimescaleDB, a few seconds)…`);

  const cloud = await startCloud(CloudConfig.parse({ http: { port: 0 }, database: { dataDir: join(dir, 'cloud', 'pglite') } }), {
    log: log.child({ part: 'cloud' }),
  });
  // A fresh token each run: only its hash is kept, so last run's token cannot be recovered.
  const token = `mwg_${randomBytes(32).toString('base64url')}`;
  await registerGateway(cloud.db.pool, { ...GATEWAY, token });

  const scenario = loadScenario(opts.scenario);
  const site = `${scenario.enterprise}/${scenario.site}`;
  const sim = await prepareSimulator({
    scenario,
    startMs: Math.floor(Date.now() / scenario.periodMs) * scenario.periodMs,
    opcua: { port: 0 },
    log: log.child({ part: 'sim' }),
  });
  const lines = [...new Set(sim.simulation.plant.machines.map((m) => m.line))];
  const edge = await startAgent(
    EdgeConfig.parse({
      gateway: GATEWAY,
      dataDir: join(dir, 'edge'),
      sources: [
        {
          type: 'mqtt',
          name: 'plant-broker',
          embeddedBroker: { port: 0 },
          subscribe: lines.filter((l) => l !== OPCUA_LINE).map((l) => `${scenario.mqtt.topicPrefix}${site}/${l}/#`),
          topicPrefix: scenario.mqtt.topicPrefix,
        },
        {
          type: 'opcua',
          name: `${OPCUA_LINE}-plc`,
          endpointUrl: sim.opcua!.endpointUrl,
          pkiDir: join(dir, 'edge', 'pki'),
          browse: { root: `ns=1;s=${site}/${OPCUA_LINE}`, sensorPrefix: `${site}/${OPCUA_LINE}/` },
          samplingIntervalMs: 0,
          queueSize: 100,
        },
      ],
      sync: { url: cloud.url, token, intervalMs: 500 },
      mcp: { http: { port: 0 } },
    }),
    { log: log.child({ part: 'edge' }), version: VERSION },
  );
  const brokerUrl = edge.status().sources[0]!.endpoint;
  const running = sim.publish({ mqttUrl: brokerUrl, realtime: true, speed: scenario.speed, mode: scenario.mqtt.mode, topicPrefix: scenario.mqtt.topicPrefix });

  say('');
  say(`  scenario     ${scenario.name}: ${sim.simulation.plant.machines.length} machines, ${sim.simulation.plant.sensors.length} sensors, every ${scenario.periodMs} ms`);
  say(`  MQTT broker  ${brokerUrl}   (simulator → edge: every line but ${OPCUA_LINE})`);
  say(`  OPC-UA       ${sim.opcua!.endpointUrl}   (simulator → edge: ${OPCUA_LINE})`);
  say(`  edge MCP     ${edge.mcpUrl}   (floor staff, works offline: list_sensors, get_sensor_history)`);
  say(`  cloud MCP    ${cloud.mcpUrl}   (managers: fleet_overview, get_sensor_history)`);
  say(`  cloud ingest ${cloud.ingestUrl}`);
  say('');
  say('Ctrl-C stops everything cleanly.');

  const statusLine = () => {
    const s = edge.status();
    const lag = s.sync ? `${s.sync.lagSeconds.toFixed(1)} s` : '-';
    const err = s.sync?.lastError ? ` · last error: ${s.sync.lastError}` : '';
    const perSource = s.sources.map((x) => `${x.type} ${x.state}`).join(', ');
    const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    const full = s.disk.secondsUntilFull === null ? '' : `, full in ${formatDuration(s.disk.secondsUntilFull)}`;
    const disk = `disk ${mib(s.disk.usedBytes)} of ${mib(s.disk.maxBytes)}${full}${s.disk.overBudget ? ' OVER BUDGET' : ''}`;
    return `ingested ${s.storedReadings} · synced ${s.sync?.ackedSeq ?? 0} · lag ${lag} · dead-lettered ${s.deadLetters} · ${disk} · ${perSource}${err}`;
  };
  const timer = setInterval(() => say(statusLine()), 3000);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    clearInterval(timer);
    say(`\n${signal}: stopping the simulator, draining the outbox (up to 10 s), then the edge and the cloud…`);
    await running.publisher.stop();
    const drained = (await edge.sync?.drained(10_000)) ?? true;
    say(statusLine() + (drained ? '' : ' (not fully drained: the rest is sent on the next start)'));
    await edge.stop();
    await sim.stop();
    await cloud.stop();
    lock.release();
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** 90061 s -> "1 d 1 h": the order of magnitude an operator plans by. */
function formatDuration(seconds: number): string {
  const units: [string, number][] = [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [name, size] of units) {
    if (rest >= size || (parts.length === 0 && size === 1)) {
      parts.push(`${Math.floor(rest / size)} ${name}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

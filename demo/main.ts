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
import { startPublisher } from '../simulators/mqtt-publisher.js';

export interface DemoOptions {
  machines: number;
  periodMs: number;
  dataDir: string;
}

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
 * `npm start`: the cloud (embedded TimescaleDB), an edge agent (embedded MQTT broker) syncing to
 * it, and the simulator publishing into the agent's broker, all on free ports. The only demo file
 * that touches the process.
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

  const edge = await startAgent(
    EdgeConfig.parse({
      gateway: GATEWAY,
      dataDir: join(dir, 'edge'),
      sources: [{ type: 'mqtt', name: 'plant-broker', embeddedBroker: { port: 0 } }],
      sync: { url: cloud.url, token, batchSize: 5000, intervalMs: 500 },
      mcp: { http: { port: 0 } },
    }),
    { log: log.child({ part: 'edge' }), version: VERSION },
  );
  const brokerUrl = edge.status().sources[0]!.endpoint;
  const sim = startPublisher({ url: brokerUrl, seed: 1, machines: opts.machines, periodMs: opts.periodMs, realtime: true, log: log.child({ part: 'sim' }) });

  say('');
  say(`  MQTT broker  ${brokerUrl}   (simulator → edge; publish JSON to factory/<sensor id>)`);
  say(`  edge MCP     ${edge.mcpUrl}   (floor staff, works offline: list_sensors, get_sensor_history)`);
  say(`  cloud MCP    ${cloud.mcpUrl}   (managers: fleet_overview, get_sensor_history)`);
  say(`  cloud ingest ${cloud.ingestUrl}`);
  say('');
  say('Ctrl-C stops everything cleanly.');

  const statusLine = () => {
    const s = edge.status();
    const lag = s.sync ? `${s.sync.lagSeconds.toFixed(1)} s` : '-';
    const err = s.sync?.lastError ? ` · last error: ${s.sync.lastError}` : '';
    return `ingested ${s.storedReadings} · synced ${s.sync?.ackedSeq ?? 0} · lag ${lag} · dead-lettered ${s.deadLetters}${err}`;
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
    await sim.stop();
    const drained = (await edge.sync?.drained(10_000)) ?? true;
    say(statusLine() + (drained ? '' : ' (not fully drained: the rest is sent on the next start)'));
    await edge.stop();
    await cloud.stop();
    lock.release();
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

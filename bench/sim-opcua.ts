/**
 * The simulator's OPC-UA server at scale: how long 10,000 variables take to build and serve, and
 * what 1 Hz updates of all of them cost in CPU, first with no client, then with one client (a
 * separate process, so its CPU is not counted) subscribed to every variable. Prints its figures;
 * it asserts nothing.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/sim-opcua.js [tags] [seconds] [historyCapacity]
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../shared/log.js';
import { generateReadings, type SimReading } from '../simulators/generate.js';
import { buildPlant } from '../simulators/plant.js';
import { startOpcuaServer, DEFAULT_HISTORY_CAPACITY } from '../simulators/opcua/server.js';

const SEED = 1;

if (process.argv[2] === 'client') await runClient(process.argv[3]!, Number(process.argv[4]));
else await runServer();

async function runServer(): Promise<void> {
  const tags = Number(process.argv[2] ?? 10_000);
  const seconds = Number(process.argv[3] ?? 10);
  const historyCapacity = Number(process.argv[4] ?? DEFAULT_HISTORY_CAPACITY);
  const perMachine = buildPlant({ seed: SEED, machines: 1 }).sensors.length;
  const machines = Math.ceil(tags / perMachine);
  const plant = buildPlant({ seed: SEED, machines });

  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const cpuStart = process.cpuUsage();
  const server = await startOpcuaServer({ plant, port: 0, historyCapacity, log: silentLogger });
  const startSec = (performance.now() - t0) / 1000;
  const startCpu = process.cpuUsage(cpuStart);
  const steps = generateReadings(plant, { startMs: Date.UTC(2026, 0, 5), periodMs: 1000 });
  console.log(`plant: ${machines} machines, ${plant.sensors.length} variables; history ${historyCapacity} values per variable`);
  console.log(
    `start: ${startSec.toFixed(2)} s wall, ${((startCpu.user + startCpu.system) / 1e6).toFixed(2)} s CPU ` +
      `(node-opcua initialise + address space + listen), RSS +${mb(process.memoryUsage().rss - rss0)} MB`,
  );

  const run = async (label: string) => {
    const gen: number[] = [];
    const upd: number[] = [];
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const w0 = performance.now();
    for (let i = 0; i < seconds; i++) {
      const tick = w0 + (i + 1) * 1000;
      const g = performance.now();
      const readings = steps.next().value as SimReading[];
      const u = performance.now();
      server.update(readings);
      upd.push(performance.now() - u);
      gen.push(u - g);
      await new Promise((r) => setTimeout(r, Math.max(0, tick - performance.now())));
    }
    const wall = (performance.now() - w0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    console.log(
      `${label}: ${seconds} s at 1 Hz, ${plant.sensors.length} updates/s — process CPU ${pct((cpu.user + cpu.system) / 1e6 / wall)} of one core, ` +
        `event loop busy ${pct(elu.utilization)}; update() ${stats(upd)} per step; generator ${stats(gen)} per step`,
    );
  };

  await run('no client');

  const child = fork(fileURLToPath(import.meta.url), ['client', server.endpointUrl, String(machines)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ items: number; ms: number }>((resolve) => child.once('message', (m) => resolve(m as { items: number; ms: number })));
  console.log(`client: subscribed to ${ready.items} items (samplingInterval 0, trigger StatusValueTimestamp) in ${(ready.ms / 1000).toFixed(2)} s`);
  child.send('reset');
  await run('one client subscribed to all');
  child.send('report');
  const received = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  console.log(`client received ${received} notifications (${(received / seconds).toFixed(0)}/s)`);
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  await server.stop();
}

async function runClient(endpointUrl: string, machines: number): Promise<void> {
  const { OPCUAClient, ClientMonitoredItemGroup, AttributeIds, TimestampsToReturn, DataChangeFilter, DataChangeTrigger, DeadbandType, OPCUACertificateManager } = await import('node-opcua');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const pki = await mkdtemp(join(tmpdir(), 'mw-bench-opcua-client-'));
  const certificates = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
  const plant = buildPlant({ seed: SEED, machines });
  const t0 = performance.now();
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager: certificates });
  await client.connect(endpointUrl);
  const session = await client.createSession();
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 500,
    requestedLifetimeCount: 600,
    requestedMaxKeepAliveCount: 20,
    maxNotificationsPerPublish: 0,
    publishingEnabled: true,
  });
  let received = 0;
  const ids = plant.sensors.map((s) => `ns=1;s=${s.id}`);
  for (let i = 0; i < ids.length; i += 1000) {
    const group = ClientMonitoredItemGroup.create(
      subscription,
      ids.slice(i, i + 1000).map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
      {
        samplingInterval: 0,
        queueSize: 4,
        discardOldest: true,
        filter: new DataChangeFilter({ trigger: DataChangeTrigger.StatusValueTimestamp, deadbandType: DeadbandType.None }),
      },
      TimestampsToReturn.Both,
    );
    await new Promise((resolve) => group.once('initialized', resolve));
    group.on('changed', () => received++);
  }
  process.send!({ items: ids.length, ms: performance.now() - t0 });
  process.on('message', async (m) => {
    if (m === 'reset') received = 0;
    if (m === 'report') process.send!(received);
    if (m === 'stop') {
      await subscription.terminate().catch(() => {});
      await session.close().catch(() => {});
      await client.disconnect();
      await certificates.dispose();
      await rm(pki, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return `mean ${mean.toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`;
}

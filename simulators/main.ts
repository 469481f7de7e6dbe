import { z } from 'zod';
import { LogLevel } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/log.js';
import { exportScenario, type ExportSummary } from './export/export.js';
import { writeGroundTruth } from './ground-truth.js';
import type { PublisherSummary } from './mqtt-publisher.js';
import { startSimulator } from './serve.js';
import { MAX_MACHINES } from './plant.js';
import { defaultStartMs } from './publisher-options.js';
import { listScenarios, loadScenario, parseScenario, type Scenario, type ScenarioInfo } from './scenario.js';
import { MQTT_MODES } from './scenario-schema.js';

/**
 * `millwright sim` and `millwright sim export`: play a scenario over MQTT until its steps are done
 * or a signal arrives, list the bundled scenarios, or export a scenario's streams and ground truth
 * to files. The only simulator file that touches the process (signals, exit code, stdout/stderr).
 * Numbers are coerced, so the CLI can pass its strings straight in.
 *
 * Precedence: an option given here overrides the scenario's value; the scenario's overrides the
 * default. With no scenario the plant is `machines` machines round robin, without faults.
 */
const int = () => z.coerce.number<number | string>().int();

export const SimOptions = z
  .strictObject({
    list: z.boolean().default(false).describe('print the bundled scenarios and return'),
    scenario: z.string().min(1).optional().describe('bundled scenario name (see list) or path to a scenario file, YAML or JSON'),
    url: z.string().min(1).optional().describe('MQTT broker URL, e.g. mqtt://127.0.0.1:1883 (required unless list)'),
    seed: int().optional().describe('seed of all randomness (default: the scenario\'s, else 1)'),
    machines: int().min(1).max(MAX_MACHINES).optional().describe('machines, round robin (default: the scenario\'s, else 3)'),
    periodMs: int().min(1).optional().describe('time between two readings of a sensor, simulated ms (default: the scenario\'s, else 1000)'),
    speed: z.coerce
      .number<number | string>()
      .positive()
      .optional()
      .describe('simulated time per real time when realtime: 1 real time, 1440 a day per minute (default: the scenario\'s, else 1)'),
    mode: z.enum(MQTT_MODES).optional().describe('MQTT payloads: json, json-batch or sparkplug (default: the scenario\'s, else json)'),
    steps: int().min(0).optional().describe('stop after this many periods; omitted, run until SIGINT/SIGTERM'),
    realtime: z.boolean().default(true).describe('pace steps by the wall clock (at `speed`); false: as fast as the broker acknowledges'),
    startMs: int().optional().describe('timestamp of the first step, ms since the epoch'),
    topicPrefix: z.string().optional().describe('prepended to each sensor id to make the topic (default: the scenario\'s, else factory/)'),
    groundTruthOut: z.string().min(1).optional().describe('write the ground truth (JSON) to this file when the run ends'),
    opcuaPort: int().min(0).max(65535).optional().describe('serve OPC-UA on this port (0: a free one); default: as the scenario says'),
    opcuaHost: z.string().min(1).optional().describe('interface the OPC-UA server listens on, e.g. 0.0.0.0 (default: the scenario\'s, else 127.0.0.1)'),
    logLevel: LogLevel,
  })
  .refine((o) => o.list || o.url !== undefined, { path: ['url'], message: 'the MQTT broker URL is required (unless listing scenarios)' });
export type SimOptions = z.input<typeof SimOptions>;

export interface SimDeps {
  log?: Logger;
  /** Where `list` prints; default stdout. */
  print?: (line: string) => void;
}

/** Plays a scenario over MQTT; with `list`, prints the bundled scenarios and resolves undefined. */
export async function runSim(input: SimOptions, deps: SimDeps = {}): Promise<PublisherSummary | undefined> {
  const parsed = SimOptions.safeParse(input);
  if (!parsed.success) throw new Error(`invalid simulator options:\n${z.prettifyError(parsed.error)}`);
  const opts = parsed.data;
  const print = deps.print ?? ((line: string) => process.stdout.write(line + '\n'));
  if (opts.list) {
    for (const line of scenarioTable(listScenarios())) print(line);
    return undefined;
  }
  const log = deps.log ?? createLogger({ service: 'sim' }, { level: opts.logLevel });
  const scenario = resolveScenario(opts);
  const speed = opts.speed ?? scenario.speed;
  const startMs = opts.startMs ?? defaultStartMs(Date.now(), scenario.periodMs, opts.realtime, opts.steps, speed);
  const opcuaPort = opts.opcuaPort ?? (scenario.opcua.enabled ? scenario.opcua.port : undefined);
  const running = await startSimulator({
    scenario,
    mqttUrl: opts.url as string,
    startMs,
    steps: opts.steps,
    realtime: opts.realtime,
    speed,
    mode: opts.mode ?? scenario.mqtt.mode,
    topicPrefix: opts.topicPrefix ?? scenario.mqtt.topicPrefix,
    // The ground truth grows with simulated time: kept only when it will be written.
    recordTruth: opts.groundTruthOut !== undefined,
    opcua:
      opcuaPort === undefined
        ? undefined
        : { port: opcuaPort, host: opts.opcuaHost ?? scenario.opcua.host, security: scenario.opcua.security, historyCapacity: scenario.opcua.historyCapacity },
    log,
  });
  const sim = running.simulation;
  const publisher = running.publisher;
  log.info('sim_scenario', {
    scenario: scenario.name, seed: scenario.seed, machines: sim.plant.machines.length, sensors: sim.plant.sensors.length,
    periodMs: scenario.periodMs, speed, faults: scenario.faults ? scenario.faults.kinds : [], opcua: running.opcua?.endpointUrl ?? null,
  });
  if (running.opcua) process.stderr.write(`sim: OPC-UA at ${running.opcua.endpointUrl}\n`);

  // First signal: stop gracefully (drain the outstanding PUBACKs). A second one: leave now.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn('sim_forced_exit', { signal });
      process.exit(130);
    }
    log.info('sim_stopping', { signal });
    void publisher.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await publisher.done;
    await running.opcua?.stop();
    if (opts.groundTruthOut) {
      if (!sim.groundTruth) throw new Error('sim: the simulation recorded no ground truth (startSimulator did not pass recordTruth on)');
      writeGroundTruth(opts.groundTruthOut, sim.groundTruth.snapshot());
      log.info('sim_ground_truth_written', { file: opts.groundTruthOut });
    }
    process.stderr.write(summaryLine(summary) + '\n');
    if (summary.ended === 'failed') process.exitCode = 1;
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The scenario with the options that override it applied; without one, a plain round-robin plant. */
function resolveScenario(opts: z.output<typeof SimOptions>): Scenario {
  const base: Scenario = opts.scenario
    ? loadScenario(opts.scenario)
    : parseScenario({ name: 'adhoc', description: 'plant from command-line options', machines: opts.machines ?? 3 }, '(command line)');
  return {
    ...base,
    seed: opts.seed ?? base.seed,
    machines: opts.machines !== undefined ? { by: 'count', count: opts.machines } : base.machines,
    periodMs: opts.periodMs ?? base.periodMs,
  };
}

/** One line for people, e.g. "sim completed: 1800 readings from 18 sensors in 2.1 s ...". */
export function summaryLine(s: PublisherSummary): string {
  const parts = [
    `sim ${s.ended}: ${s.total} readings from ${s.sensors} sensors over ${s.steps} steps in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `max lag ${Math.round(s.maxLagMs)} ms`,
    `reconnects ${s.reconnects}`,
    `unacknowledged ${s.unacknowledged}`,
    `rejected ${s.rejected}`,
  ];
  if (s.error) parts.push(`error: ${s.error}`);
  return parts.join('; ');
}

/** `millwright sim --list`: name, tags, period and description, aligned. */
export function scenarioTable(list: readonly ScenarioInfo[]): string[] {
  if (list.length === 0) return ['no bundled scenarios found'];
  const rows = list.map((s) => [s.name, s.tags === undefined ? '-' : String(s.tags), s.periodMs === undefined ? '-' : `${s.periodMs} ms`, s.error ? `ERROR ${s.error.split('\n').join(' ')}` : s.description]);
  const head = ['scenario', 'tags', 'period', 'description'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i] as number))).join('  ');
  return [line(head), ...rows.map(line)];
}

// --- export --------------------------------------------------------------------------------

export const SimExportOptions = z.strictObject({
  scenario: z.string().min(1).describe('bundled scenario name or path to a scenario file'),
  days: z.coerce.number<number | string>().positive().max(3660).describe('simulated days to export'),
  out: z.string().min(1).describe('output directory: new, empty, or an earlier export'),
  startMs: int().optional().describe('timestamp of the first step (default 2025-01-06T00:00:00Z)'),
  cycleMs: int().min(1).optional().describe('length of a C-MAPSS cycle (default one hour)'),
  lookaheadDays: z.coerce.number<number | string>().min(0).optional().describe('how far past the end to look for the failures of lives cut short (default: days)'),
  seed: int().optional().describe('override the scenario\'s seed'),
  logLevel: LogLevel,
});
export type SimExportOptions = z.input<typeof SimExportOptions>;

/**
 * `millwright sim export`. Progress goes to `deps.onProgress` (the CLI draws it); by default a
 * percentage on stderr when it is a terminal.
 */
export async function runSimExport(input: SimExportOptions, deps: { onProgress?: (fraction: number) => void } = {}): Promise<ExportSummary> {
  const parsed = SimExportOptions.safeParse(input);
  if (!parsed.success) throw new Error(`invalid export options:\n${z.prettifyError(parsed.error)}`);
  const opts = parsed.data;
  const loaded = loadScenario(opts.scenario);
  const scenario = opts.seed === undefined ? loaded : { ...loaded, seed: opts.seed };
  const tty = process.stderr.isTTY === true;
  // A terminal gets a line redrawn in place; a log (not a TTY) gets a line every 10 %.
  let lastTenth = -1;
  const onProgress =
    deps.onProgress ??
    (tty
      ? (f: number) => process.stderr.write(`\rexport ${scenario.name}: ${(f * 100).toFixed(0).padStart(3)}%`)
      : (f: number) => {
          const tenth = Math.floor(f * 10);
          if (tenth > lastTenth) process.stderr.write(`export ${scenario.name}: ${tenth * 10}%\n`);
          lastTenth = tenth;
        });
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('export interrupted'));
  process.once('SIGINT', onSignal);
  try {
    const summary = await exportScenario({
      scenario,
      days: opts.days,
      outDir: opts.out,
      startMs: opts.startMs,
      cycleMs: opts.cycleMs,
      lookaheadDays: opts.lookaheadDays,
      onProgress,
      signal: controller.signal,
    });
    if (!deps.onProgress && tty) process.stderr.write('\n');
    process.stderr.write(exportLine(summary) + '\n');
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

export function exportLine(s: ExportSummary): string {
  return [
    `exported ${s.scenario} to ${s.outDir}: ${s.steps} steps of ${s.sensors} sensors in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `NAB ${s.nab.files} files, ${s.nab.rows} rows, ${s.nab.windows} label windows`,
    `C-MAPSS ${s.cmapss.trainUnits} train and ${s.cmapss.testUnits} test units`,
    `ground truth ${s.groundTruth.anomalies} anomalies, ${s.groundTruth.clockJumps} clock jumps, ${s.groundTruth.failures} failures`,
  ].join('; ');
}

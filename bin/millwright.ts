#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { VERSION } from '../shared/version.js';

/**
 * The `millwright` command. Each subcommand imports its part lazily, so `millwright sim` does not
 * load the cloud's database engine and `--help` answers at once. Usage errors exit with 2.
 */
const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

const program = new Command()
  .name('millwright')
  .description('Edge-first factory runtime: edge agent, cloud service, simulator.')
  .version(VERSION)
  .showHelpAfterError('(add --help for usage)')
  // `sim` and `sim export` share option names: options belong to the command they follow.
  .enablePositionalOptions()
  .exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
    process.exit(2);
  });

program
  .command('edge')
  .description('Run an edge agent: sources → SQLite historian → sync to the cloud, with an MCP server.')
  .requiredOption('-c, --config <file>', 'edge config file (YAML)')
  .option('--stdio', 'also serve MCP on stdin/stdout (for an MCP client that launches the agent)', false)
  .addHelpText('after', '\nExample config: see README.md, "Configuration".')
  .action(async (o: { config: string; stdio: boolean }) => {
    const { runEdge } = await import('../edge/main.js');
    await runEdge({ configPath: o.config, stdio: o.stdio });
  });

const cloud = program
  .command('cloud')
  .description('Run the cloud service: ingest from gateways into TimescaleDB, fleet MCP server.')
  .option('-c, --config <file>', 'cloud config file (YAML); absent: defaults (embedded database, 127.0.0.1:8810)')
  .option('--stdio', 'also serve MCP on stdin/stdout', false)
  .action(async (o: { config?: string; stdio: boolean }) => {
    const { runCloud } = await import('../cloud/main.js');
    process.exitCode = await runCloud({ configPath: o.config, stdio: o.stdio });
  });

const gateway = cloud.command('gateway').description('Manage gateway tokens (each gateway has its own, stored hashed).');
gateway
  .command('add')
  .description('Add a gateway and print its token (shown once).')
  .requiredOption('--id <id>', 'gateway id, e.g. plant1-gw1')
  .requiredOption('--site <site>', 'site the gateway belongs to')
  .option('-c, --config <file>', 'cloud config file (YAML)')
  .action(async (o: { id: string; site: string; config?: string }) => {
    const { gatewayAdd } = await import('../cloud/main.js');
    process.exitCode = await gatewayAdd({ configPath: o.config, id: o.id, site: o.site });
  });
gateway
  .command('list')
  .description('List gateways, their status and last contact.')
  .option('-c, --config <file>', 'cloud config file (YAML)')
  .option('--json', 'machine-readable output', false)
  .action(async (o: { config?: string; json: boolean }) => {
    const { gatewayList } = await import('../cloud/main.js');
    process.exitCode = await gatewayList({ configPath: o.config, json: o.json });
  });
gateway
  .command('revoke')
  .description('Revoke a gateway\'s token; its data stays.')
  .requiredOption('--id <id>', 'gateway id')
  .option('-c, --config <file>', 'cloud config file (YAML)')
  .action(async (o: { id: string; config?: string }) => {
    const { gatewayRevoke } = await import('../cloud/main.js');
    process.exitCode = await gatewayRevoke({ configPath: o.config, id: o.id });
  });

gateway
  .command('config')
  .description('Push settings to a running gateway (the next version; it applies them at its next contact).')
  .requiredOption('--id <id>', 'gateway id')
  .option('--set <key=value>', 'a setting: sync.batchSize, sync.intervalMs or sync.maxBytesPerSecond (repeat for more)', (v: string, all: string[]) => [...all, v], [])
  .option('-c, --config <file>', 'cloud config file (YAML)')
  .action(async (o: { id: string; set: string[]; config?: string }) => {
    const { gatewayConfig } = await import('../cloud/pushback-cli.js');
    process.exitCode = await gatewayConfig({ configPath: o.config, id: o.id, set: o.set });
  });

cloud
  .command('model')
  .description('Trained models for the gateways.')
  .command('publish')
  .description('Store a model file as the next version of its name; gateways of the site (or all) fetch it.')
  .requiredOption('--name <name>', 'model name, e.g. rul-pump')
  .requiredOption('--file <file>', 'the model file (from "millwright train")')
  .option('--site <site>', 'only for this site; absent: every site')
  .option('-c, --config <file>', 'cloud config file (YAML)')
  .action(async (o: { name: string; file: string; site?: string; config?: string }) => {
    const { modelPublish } = await import('../cloud/pushback-cli.js');
    process.exitCode = await modelPublish({ configPath: o.config, name: o.name, file: o.file, ...(o.site ? { site: o.site } : {}) });
  });

cloud
  .command('alarm')
  .description('Alarms raised on the gateways.')
  .command('ack')
  .description('Acknowledge an alarm; the gateway that raised it applies the acknowledgement and reports it back.')
  .requiredOption('--gateway <id>', 'gateway that raised the alarm')
  .requiredOption('--alarm <id>', 'alarm id (32 hex digits)')
  .requiredOption('--by <who>', 'who acknowledges')
  .option('--note <text>', 'a note for the floor')
  .option('-c, --config <file>', 'cloud config file (YAML)')
  .action(async (o: { gateway: string; alarm: string; by: string; note?: string; config?: string }) => {
    const { alarmAck } = await import('../cloud/pushback-cli.js');
    process.exitCode = await alarmAck({ configPath: o.config, gateway: o.gateway, alarm: o.alarm, by: o.by, ...(o.note ? { note: o.note } : {}) });
  });

const evalCommand = program.command('eval').description('Evaluate the analysis on public benchmarks.');
evalCommand
  .command('nab')
  .description('Run the anomaly detector over a NAB-layout corpus (causally), write NAB results files, print the NAB scores.')
  .requiredOption('--data <dir>', 'data directory: <group>/<file>.csv with timestamp,value (e.g. ../shared/datasets/nab/data)')
  .requiredOption('--labels <file>', 'windows per file (e.g. ../shared/datasets/nab/labels/combined_windows.json)')
  .option('--out <dir>', 'where the results files go', './nab-results')
  .action(async (o: { data: string; labels: string; out: string }) => {
    const { evalNab } = await import('../edge/analysis/eval/cli.js');
    process.exitCode = await evalNab(o);
  });

evalCommand
  .command('cmapss')
  .description('Train the remaining-life model on C-MAPSS train data and score it on the test units (RMSE, PHM08 score).')
  .option('--subset <name>', 'FD001, FD002, FD003, FD004 or all', 'all')
  .option('--data <dir>', 'the C-MAPSS files (train_FD00x.txt.gz, test_, RUL_)', '../shared/datasets/cmapss')
  .option('--model <file>', 'evaluate this model file (from "millwright train") instead of training one')
  .action(async (o: { subset: string; data: string; model?: string }) => {
    const { evalCmapssCommand } = await import('../edge/analysis/eval/cmapss-eval.js');
    process.exitCode = await evalCmapssCommand(o);
  });

program
  .command('train')
  .description('Train the remaining-life model on run-to-failure histories (C-MAPSS layout) and write a versioned model file.')
  .requiredOption('--subset <name>', 'FD001, FD002, FD003 or FD004 (the train_ file to learn from)')
  .requiredOption('--out <file>', 'model file to write (publish it with "millwright cloud model publish")')
  .option('--data <dir>', 'the C-MAPSS files', '../shared/datasets/cmapss')
  .action(async (o: { subset: string; out: string; data: string }) => {
    const { trainCommand } = await import('../edge/analysis/eval/cmapss-eval.js');
    process.exitCode = await trainCommand(o);
  });

const sim = program
  .command('sim')
  .description('Run the factory simulator: a scenario over MQTT (JSON, batched JSON or Sparkplug B) and OPC-UA.')
  .option('--url <url>', 'MQTT broker URL, e.g. mqtt://127.0.0.1:1883 (required unless --list)')
  .option('--scenario <name|file>', 'bundled scenario (see --list) or a scenario file, YAML or JSON')
  .option('--list', 'list the bundled scenarios', false)
  .option('--speed <x>', 'simulated time per real time: 1 real time, 1440 a day per minute (default: the scenario\'s)')
  .option('--mode <mode>', 'MQTT payloads: json, json-batch or sparkplug (default: the scenario\'s)')
  .option('--opcua-port <n>', 'serve OPC-UA on this port, 0 for a free one (default: as the scenario says)', int('--opcua-port'))
  .option('--opcua-host <h>', 'interface the OPC-UA server listens on, e.g. 0.0.0.0 (default: the scenario\'s, else 127.0.0.1)')
  .option('--seed <n>', 'seed of all randomness (default: the scenario\'s, else 1)', int('--seed'))
  .option('--machines <n>', 'machines, types dealt round robin (overrides the scenario)', int('--machines'))
  .option('--period-ms <n>', 'simulated time between two readings of a sensor', int('--period-ms'))
  .option('--steps <n>', 'stop after this many periods (default: run until Ctrl-C)', int('--steps'))
  .option('--fast', 'do not pace by the wall clock: publish as fast as the broker acknowledges', false)
  .option('--start-ms <n>', 'timestamp of the first step, ms since the epoch', int('--start-ms'))
  .option('--topic-prefix <p>', 'prepended to each sensor id to make the topic (default: the scenario\'s)')
  .option('--ground-truth <file>', 'write the ground truth (JSON) here when the run ends')
  .addHelpText('after', '\nScenario format and fault kinds: see README.md, "Simulator".')
  .action(
    async (o: {
      url?: string;
      scenario?: string;
      list: boolean;
      speed?: string;
      mode?: string;
      opcuaPort?: number;
      opcuaHost?: string;
      seed?: number;
      machines?: number;
      periodMs?: number;
      steps?: number;
      fast: boolean;
      startMs?: number;
      topicPrefix?: string;
      groundTruth?: string;
    }) => {
      const { runSim } = await import('../simulators/main.js');
      try {
        await runSim({
          url: o.url,
          scenario: o.scenario,
          list: o.list,
          speed: o.speed,
          mode: o.mode as 'json' | undefined,
          opcuaPort: o.opcuaPort,
          opcuaHost: o.opcuaHost,
          seed: o.seed,
          machines: o.machines,
          periodMs: o.periodMs,
          steps: o.steps,
          realtime: !o.fast,
          startMs: o.startMs,
          topicPrefix: o.topicPrefix,
          groundTruthOut: o.groundTruth,
        });
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    },
  );

sim
  .command('export')
  .description('Write a scenario\'s streams and ground truth as files: NAB layout CSV + labels, C-MAPSS-like run-to-failure tables.')
  .requiredOption('--scenario <name|file>', 'bundled scenario or scenario file')
  .requiredOption('--days <n>', 'simulated days to export')
  .requiredOption('--out <dir>', 'output directory (new, empty, or an earlier export)')
  .option('--seed <n>', 'override the scenario\'s seed', int('--seed'))
  .option('--start-ms <n>', 'timestamp of the first step, ms since the epoch', int('--start-ms'))
  .option('--cycle-ms <n>', 'C-MAPSS cycle length in ms (default one hour)', int('--cycle-ms'))
  .option('--lookahead-days <n>', 'keep simulating past the end to learn the true remaining life of unfinished lives')
  .action(async (o: { scenario: string; days: string; out: string; seed?: number; startMs?: number; cycleMs?: number; lookaheadDays?: string }) => {
    const { runSimExport } = await import('../simulators/main.js');
    try {
      await runSimExport({ scenario: o.scenario, days: o.days, out: o.out, seed: o.seed, startMs: o.startMs, cycleMs: o.cycleMs, lookaheadDays: o.lookaheadDays });
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('demo')
  .description('Simulator + edge + cloud in one process, no external service (what npm start runs).')
  .option('--scenario <name|file>', 'simulator scenario (see millwright sim --list)', 'small-plant')
  .option('--data <dir>', 'data directory (a free ./data/demo-N is picked when in use)', './data/demo')
  .action(async (o: { scenario: string; data: string }) => {
    const { runDemo } = await import('../demo/main.js');
    await runDemo({ scenario: o.scenario, dataDir: o.data });
  });

await program.parseAsync(process.argv);

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

program
  .command('sim')
  .description('Run the factory simulator, publishing readings over MQTT (JSON, QoS 1).')
  .requiredOption('--url <url>', 'MQTT broker URL, e.g. mqtt://127.0.0.1:1883')
  .option('--seed <n>', 'seed of all randomness; the same seed replays the same readings', int('--seed'), 1)
  .option('--machines <n>', 'number of machines', int('--machines'), 3)
  .option('--period-ms <n>', 'time between two readings of a sensor', int('--period-ms'), 1000)
  .option('--steps <n>', 'stop after this many periods (default: run until Ctrl-C)', int('--steps'))
  .option('--fast', 'do not pace by the wall clock: publish as fast as the broker acknowledges', false)
  .option('--topic-prefix <p>', 'prepended to each sensor id to make the topic', 'factory/')
  .action(async (o: { url: string; seed: number; machines: number; periodMs: number; steps?: number; fast: boolean; topicPrefix: string }) => {
    const { runSim } = await import('../simulators/main.js');
    try {
      await runSim({ url: o.url, seed: o.seed, machines: o.machines, periodMs: o.periodMs, steps: o.steps, realtime: !o.fast, topicPrefix: o.topicPrefix });
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('demo')
  .description('Simulator + edge + cloud in one process, no external service (what npm start runs).')
  .option('--machines <n>', 'simulated machines', int('--machines'), 4)
  .option('--period-ms <n>', 'time between two readings of a sensor', int('--period-ms'), 500)
  .option('--data <dir>', 'data directory (a free ./data/demo-N is picked when in use)', './data/demo')
  .action(async (o: { machines: number; periodMs: number; data: string }) => {
    const { runDemo } = await import('../demo/main.js');
    await runDemo({ machines: o.machines, periodMs: o.periodMs, dataDir: o.data });
  });

await program.parseAsync(process.argv);

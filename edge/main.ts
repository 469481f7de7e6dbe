import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ConfigError, loadConfigFile } from '../shared/config-load.js';
import { createLogger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import { startAgent } from './agent.js';
import { EdgeConfig } from './config.js';

/** `millwright edge --config f.yaml [--stdio]`. The only edge file that touches the process. */
export async function runEdge(opts: { configPath: string; stdio: boolean }): Promise<void> {
  let cfg: EdgeConfig;
  try {
    cfg = loadConfigFile(EdgeConfig, opts.configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ part: 'edge' }, { level: cfg.log.level });
  const agent = await startAgent(cfg, { log, version: VERSION });
  process.stderr.write(`millwright edge ${VERSION}: gateway ${cfg.gateway.id}, MCP ${agent.mcpUrl}${opts.stdio ? ' and stdio' : ''}\n`);
  if (opts.stdio) await agent.buildMcpServer().connect(new StdioServerTransport());

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('signal', { signal });
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

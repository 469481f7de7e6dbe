import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ConfigError, loadConfigFile } from '../shared/config-load.js';
import { createLogger } from '../shared/log.js';
import { VERSION } from '../shared/version.js';
import { startAgent, type Agent } from './agent.js';
import { EdgeConfig } from './config.js';

/**
 * `millwright edge --config f.yaml [--stdio]`. The only edge file that touches the process:
 * exit codes (2 for a bad config), signals, stdin.
 */
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
  let agent: Agent;
  try {
    agent = await startAgent(cfg, { log, version: VERSION });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    const why = e.code === 'EADDRINUSE' ? `port ${e.port ?? ''} on ${e.address ?? ''} is in use (mcp.http.port or a source's embeddedBroker.port)` : e.message;
    process.stderr.write(`millwright edge: cannot start: ${why}\n`);
    process.exit(1);
  }
  process.stderr.write(`millwright edge ${VERSION}: gateway ${cfg.gateway.id}, MCP ${agent.mcpUrl}${opts.stdio ? ' and stdio' : ''}\n`);
  if (opts.stdio) await agent.buildMcpServer().connect(new StdioServerTransport());

  let stopping = false;
  const stop = async (reason: string) => {
    // A second Ctrl-C while draining means "now".
    if (stopping) process.exit(130);
    stopping = true;
    log.info('edge_stopping', { reason });
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // An MCP client that launched us ends the session by closing our stdin.
  if (opts.stdio) process.stdin.once('end', () => void stop('stdin closed'));
}

import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type pg from 'pg';
import { buildCloudMcpServer, type CloudMcpOptions } from './server.js';

export interface StdioMcp {
  close(): Promise<void>;
}

/**
 * Serves the cloud MCP tools over stdio. The streams are arguments (main passes process.stdin and
 * process.stdout) so that only main touches the process; stdout then carries nothing but MCP.
 */
export async function serveCloudMcpStdio(
  pool: pg.Pool,
  streams: { stdin: Readable; stdout: Writable },
  opts: CloudMcpOptions = {},
): Promise<StdioMcp> {
  const server = buildCloudMcpServer(pool, opts);
  const transport = new StdioServerTransport(streams.stdin, streams.stdout);
  await server.connect(transport);
  return { close: () => server.close() };
}

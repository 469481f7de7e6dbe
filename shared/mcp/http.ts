import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from '../log.js';
import { readBody, sendJson, BodyTooLargeError } from '../http.js';

export interface McpHttpOptions {
  /** Builds a fresh server per request: tools keep no per-session state (stateless transport). */
  buildServer: () => McpServer;
  /** Host names (no port) that may appear in Host and Origin besides the loopback names. */
  extraHosts?: readonly string[];
  maxBodyBytes?: number;
  log: Logger;
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]', '::1'];

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0] ?? '';
}

/**
 * DNS-rebinding protection: a browser page on another site can reach a server on localhost, but
 * it cannot forge Host or Origin. The SDK v1 checks only Host; this checks both (403 otherwise).
 */
export function checkHostAndOrigin(req: IncomingMessage, allowed: readonly string[]): string | undefined {
  const host = req.headers.host;
  if (!host || !allowed.includes(hostnameOf(host).toLowerCase())) return `Host "${host ?? ''}" is not allowed`;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).hostname.toLowerCase();
    } catch {
      return `Origin "${origin}" is not a URL`;
    }
    if (originHost.includes(':')) originHost = `[${originHost.replace(/^\[|\]$/g, '')}]`;
    if (!allowed.includes(originHost)) return `Origin "${origin}" is not allowed`;
  }
  return undefined;
}

/** Streamable HTTP (MCP 2025-06-18), stateless: one server and transport per POST. */
export function createMcpHttpHandler(opts: McpHttpOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const allowed = [...LOOPBACK, ...(opts.extraHosts ?? []).map((h) => h.toLowerCase())];
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  return async (req, res) => {
    const refusal = checkHostAndOrigin(req, allowed);
    if (refusal) {
      sendJson(res, 403, { jsonrpc: '2.0', error: { code: -32000, message: `Forbidden: ${refusal}` }, id: null });
      return;
    }
    if (req.method !== 'POST') {
      // Stateless servers offer no standalone SSE stream and no sessions to delete.
      res.setHeader('Allow', 'POST');
      sendJson(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: use POST' }, id: null });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, maxBody)).toString('utf8'));
    } catch (err) {
      const tooLarge = err instanceof BodyTooLargeError;
      sendJson(res, tooLarge ? 413 : 400, {
        jsonrpc: '2.0',
        error: { code: -32700, message: tooLarge ? `Request body over ${maxBody} bytes` : 'Parse error: body is not JSON' },
        id: null,
      });
      return;
    }
    const server = opts.buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (err) {
      opts.log.error('mcp_http_error', { err });
      if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
    }
  };
}

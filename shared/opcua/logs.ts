import { setDebugLogger, setErrorLogger, setWarningLogger } from 'node-opcua';
import type { Logger } from '../log.js';

/**
 * node-opcua prints its warnings and errors with console.log, on stdout, which belongs to MCP
 * over stdio (and to the demo's status line). This sends them to our logger, on stderr.
 * Process-wide: node-opcua has one set of loggers per process.
 */
export function routeOpcuaLogs(log: Logger): void {
  const text = (args: unknown[]) =>
    args
      .filter((a) => !(a && typeof a === 'object' && 'filename' in a && 'callerline' in a))
      .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a)))
      .join(' ')
      .trim();
  // node-opcua's warnings are mostly notes (a certificate being created, a Node.js CVE flag for a
  // policy we do not use); its errors are what we would call warnings. Ours come from our events.
  setWarningLogger((...args: unknown[]) => log.info('opcua_library', { message: text(args) }));
  setErrorLogger((...args: unknown[]) => log.warn('opcua_library', { message: text(args) }));
  setDebugLogger((...args: unknown[]) => log.debug('opcua_library', { message: text(args) }));
}

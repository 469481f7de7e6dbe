import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * An in-process MQTT broker (aedes) for gateways without one. Its sessions and queued QoS 1
 * messages live in memory: they survive a reconnect of the agent's client but not a restart of
 * the agent, so publishers must keep unacknowledged messages (QoS 1 does) and resend them.
 */
export async function startEmbeddedBroker(opts: { host: string; port: number }): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('embedded broker did not bind a TCP port');
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `mqtt://${host}:${addr.port}`,
    port: addr.port,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

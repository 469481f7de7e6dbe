import { createServer, type Server } from 'node:net';
import { Aedes, type PublishPacket } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /**
   * Called for every PUBLISH from a client before the broker routes it or acknowledges it:
   * aedes sends the PUBACK only after this resolves, and refuses the message (closing the
   * publisher's connection, which makes it resend) if this rejects.
   */
  onPublish?: (packet: PublishPacket) => Promise<void>;
}

/**
 * An in-process MQTT broker (aedes) for gateways without one. Its sessions live in memory, so
 * an agent that ingests through it must commit in `onPublish`: a PUBACK sent on receipt would
 * acknowledge what a crash could still lose.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const onPublish = opts.onPublish;
  const broker = await Aedes.createBroker(
    onPublish
      ? {
          authorizePublish: (client, packet, callback) => {
            // client is null for the broker's own messages ($SYS, wills of the broker).
            if (client === null) return callback(null);
            onPublish(packet).then(
              () => callback(null),
              (err: Error) => callback(err),
            );
          },
        }
      : {},
  );
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

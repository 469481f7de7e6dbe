import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { redactUrl } from '../../shared/url.js';

/**
 * An embedded aedes broker on 127.0.0.1 and a free port, for tests. It can cut a client's
 * connection (the network dropping) and close and reopen its listener on the same port (the broker
 * restarting while its sessions, kept in memory, survive).
 */
export interface TestBroker {
  url: string;
  /** Destroys the TCP connection of every client whose id starts with `clientIdPrefix`. */
  dropClients(clientIdPrefix: string): number;
  /** Stops accepting connections and cuts every connection; `resume()` listens again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** `options` go to aedes, e.g. an `authenticate` hook to test refused connections. */
export async function startTestBroker(options: AedesOptions = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const clients = new Map<string, Socket>();
  broker.on('client', (client) => clients.set(client.id, client.conn as Socket));
  broker.on('clientDisconnect', (client) => clients.delete(client.id));

  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };

  return {
    url: `mqtt://127.0.0.1:${port}`,
    dropClients(prefix) {
      let n = 0;
      for (const [id, socket] of clients) {
        if (id.startsWith(prefix)) {
          socket.destroy();
          n++;
        }
      }
      return n;
    },
    async pause() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cutAll();
      await closed;
    },
    async resume() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
      cutAll();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** A broker a test suite runs against: started per suite, closed after it. */
export interface BrokerTarget {
  name: string;
  start(): Promise<{ url: string; close(): Promise<void> }>;
}

/**
 * The embedded aedes broker, plus the real broker in MILLWRIGHT_TEST_MQTT_URL when it is set,
 * for `describe.each`.
 */
export function brokerTargets(): BrokerTarget[] {
  const targets: BrokerTarget[] = [
    {
      name: 'embedded aedes',
      start: async () => {
        const broker = await startTestBroker();
        return { url: broker.url, close: () => broker.close() };
      },
    },
  ];
  const real = process.env.MILLWRIGHT_TEST_MQTT_URL;
  if (real) targets.push({ name: `real broker ${redactUrl(real)}`, start: async () => ({ url: real, close: async () => {} }) });
  return targets;
}

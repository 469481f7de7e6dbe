import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { backoffDelay, type BackoffOptions } from '../../../shared/backoff.js';

export interface Message {
  topic: string;
  payload: Buffer;
}

export interface SessionOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  keepaliveSec: number;
  subscribe: readonly string[];
  /** Most QoS 1 messages received and not yet acknowledged; beyond it the socket is paused. */
  maxInFlight: number;
  reconnect: BackoffOptions;
  /** Connect and CONNACK must come within this; default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Commits a batch of messages in arrival order. The PUBACKs go out only after it resolves; if it
   * rejects, nothing of the batch is acknowledged and the broker redelivers it on the next session.
   */
  commit(messages: readonly Message[]): Promise<void>;
  onConnected(detail: { sessionPresent: boolean }): void;
  onOffline(detail: { error?: string }): void;
  onReconnecting(detail: { attempt: number; nextDelayMs: number }): void;
}

export interface Session {
  /** Messages received and not yet acknowledged (the cap's subject). */
  inFlight(): number;
  /** Stops reading, lets the commit under way finish and acknowledges it, then disconnects. */
  stop(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;

const CONNACK_REFUSED: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client id rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/**
 * An MQTT 3.1.1 subscriber that acknowledges in batches after the commit. MQTT.js sends each
 * PUBACK when its message handler calls back and reads the next packet only then, so it can
 * hold one message in flight: one commit round trip per message. This session reads every
 * packet that arrives, commits what has arrived as one batch while the next batch arrives, and
 * then sends the batch's PUBACKs in order (MQTT 3.1.1 §4.6). Backpressure is the TCP socket:
 * with `maxInFlight` unacknowledged messages it stops reading, and the broker holds the rest.
 *
 * QoS: subscriptions ask for QoS 1 (the broker downgrades QoS 2 publishes to it); QoS 0 messages
 * are committed like the rest with nothing to acknowledge.
 */
export function startSession(opts: SessionOptions): Session {
  const url = new URL(opts.url);
  const secure = url.protocol === 'mqtts:' || url.protocol === 'ssl:';
  const port = Number(url.port || (secure ? 8883 : 1883));
  const host = url.hostname.replace(/^\[|\]$/g, '');

  let stopping = false;
  let attempt = 0;
  let socket: Socket | null = null;
  let reconnectTimer: NodeJS.Timeout | undefined;
  // Messages of the current connection not yet handed to commit, and how many are unacked.
  let queue: { message: Message; id: number | undefined }[] = [];
  let unacked = 0;
  let committing: Promise<void> | null = null;

  function send(s: Socket, packet: Packet): void {
    if (!s.destroyed) s.write(mqttPacket.generate(packet));
  }

  function open(): void {
    const s = secure ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    socket = s;
    // A host that drops packets leaves a connect (or a CONNACK) pending for minutes; give up and
    // retry instead. Cleared once the broker has accepted the session.
    const connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    s.setTimeout(connectTimeoutMs, () => {
      lastError = `no answer from the broker within ${connectTimeoutMs / 1000} s`;
      s.destroy();
    });
    queue = [];
    unacked = 0;
    s.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let pingTimer: NodeJS.Timeout | undefined;
    let awaitingPong = false;
    let lastError: string | undefined;
    let sessionPresent = false;

    parser.on('packet', (packet: Packet) => onPacket(s, packet));
    parser.on('error', (err: Error) => {
      lastError = `protocol error: ${err.message}`;
      s.destroy();
    });
    s.on(secure ? 'secureConnect' : 'connect', () => {
      send(s, {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: false,
        clientId: opts.clientId,
        keepalive: opts.keepaliveSec,
        ...(opts.username !== undefined ? { username: opts.username } : {}),
        ...(opts.password !== undefined ? { password: Buffer.from(opts.password) } : {}),
      });
      // A broker that stops answering pings is gone even if TCP has not noticed yet.
      pingTimer = setInterval(() => {
        if (awaitingPong) {
          lastError = `no PINGRESP within ${opts.keepaliveSec} s`;
          s.destroy();
          return;
        }
        awaitingPong = true;
        send(s, { cmd: 'pingreq' });
      }, opts.keepaliveSec * 1000);
    });
    s.on('data', (chunk: Buffer) => {
      parser.parse(chunk);
      if (queue.length > 0) pump();
    });
    s.on('error', (err) => (lastError = err.message));
    s.on('close', () => {
      clearInterval(pingTimer);
      if (socket === s) socket = null;
      // What was read but not committed is dropped: the broker redelivers it to the session.
      queue = [];
      unacked = 0;
      if (stopping) return;
      opts.onOffline(lastError !== undefined ? { error: lastError } : {});
      const delay = backoffDelay(attempt++, opts.reconnect);
      opts.onReconnecting({ attempt, nextDelayMs: delay });
      reconnectTimer = setTimeout(open, delay);
    });

    function onPacket(s: Socket, packet: Packet): void {
      switch (packet.cmd) {
        case 'connack':
          if (packet.returnCode !== 0) {
            lastError = `connection refused: ${CONNACK_REFUSED[packet.returnCode ?? -1] ?? `code ${packet.returnCode}`}`;
            s.destroy();
            return;
          }
          attempt = 0;
          s.setTimeout(0);
          // Subscribing again with a session present is harmless and covers a broker that lost it.
          send(s, { cmd: 'subscribe', messageId: 1, subscriptions: opts.subscribe.map((topic) => ({ topic, qos: 1 as const })) });
          sessionPresent = packet.sessionPresent;
          return;
        case 'suback': {
          const refused = (packet.granted as number[]).flatMap((g, i) => (g === 128 ? [opts.subscribe[i]] : []));
          if (refused.length > 0) {
            lastError = `subscription refused by the broker: ${refused.join(', ')}`;
            s.destroy();
            return;
          }
          opts.onConnected({ sessionPresent });
          return;
        }
        case 'publish':
          onPublish(s, packet);
          return;
        case 'pingresp':
          awaitingPong = false;
          return;
        default:
          return;
      }
    }
  }

  function onPublish(s: Socket, packet: IPublishPacket): void {
    if (packet.qos === 2) {
      // Never granted (we subscribe with QoS 1); acknowledging it as QoS 1 would break the flow.
      s.destroy(new Error('broker sent a QoS 2 message on a QoS 1 subscription'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    queue.push({ message: { topic: packet.topic, payload }, id: packet.qos === 1 ? packet.messageId : undefined });
    if (packet.qos === 1) unacked++;
    if (unacked >= opts.maxInFlight) s.pause();
  }

  /** Commits what has arrived, one batch at a time so that PUBACKs leave in arrival order. */
  function pump(): void {
    if (committing || queue.length === 0 || socket === null) return;
    const s = socket;
    const batch = queue;
    queue = [];
    committing = opts
      .commit(batch.map((b) => b.message))
      .then(
        () => {
          if (s !== socket || s.destroyed) return; // the session moved on; the broker redelivers
          const ids = batch.flatMap((b) => (b.id === undefined ? [] : [b.id]));
          if (ids.length > 0) s.write(Buffer.concat(ids.map((messageId) => mqttPacket.generate({ cmd: 'puback', messageId }))));
          unacked -= ids.length;
          if (unacked < opts.maxInFlight && s.isPaused()) s.resume();
        },
        () => {
          // Not committed (the source is stopping): left unacknowledged, redelivered next session.
        },
      )
      .finally(() => {
        committing = null;
        if (!stopping) pump();
      });
  }

  open();
  return {
    inFlight: () => unacked,
    async stop() {
      stopping = true;
      clearTimeout(reconnectTimer);
      const s = socket;
      s?.pause();
      await committing;
      if (s && !s.destroyed) {
        send(s, { cmd: 'disconnect' });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => s.destroy(), 2000);
          s.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          s.end();
        });
      }
    },
  };
}

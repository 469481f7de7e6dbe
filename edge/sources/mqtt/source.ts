import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { backoffDelay } from '../../../shared/backoff.js';
import type { Telemetry } from '../../telemetry/events.js';
import type { Sink, Source, SourceStatus } from '../types.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import type { MqttSourceConfig } from './config.js';
import { decodeMessage } from './decode.js';

export interface MqttSourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
}

/**
 * MQTT source, QoS 1 with a persistent session (clean: false). The PUBACK for a message is sent
 * only after its readings (or its dead letter) are committed: MQTT.js sends PUBACK when
 * `handleMessage` calls back, and processes the next packet only then, so at most one message
 * is in flight and a slow disk pushes back on the broker instead of growing memory.
 * Not guaranteed: messages the broker itself drops (e.g. Mosquitto's max_queued_messages for an
 * offline client) never reach us; see the install docs.
 */
export function createMqttSource(cfg: MqttSourceConfig, deps: MqttSourceDeps): Source & { brokerUrl(): string | undefined } {
  let client: MqttClient | undefined;
  let broker: EmbeddedBroker | undefined;
  let url = cfg.url;
  let attempt = 0;
  let stopping = false;
  const st: SourceStatus = {
    name: cfg.name,
    type: 'mqtt',
    state: 'starting',
    endpoint: '',
    messages: 0,
    lastMessageAt: null,
    lastError: null,
  };
  const { telemetry } = deps;

  /** Commits (or dead-letters) then resolves; retried while the store refuses, so nothing is acked unwritten. */
  async function handle(sink: Sink, packet: IPublishPacket): Promise<void> {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const receivedAt = Date.now();
    const decoded = decodeMessage(packet.topic, payload, { topicPrefix: cfg.topicPrefix, maxPayloadBytes: cfg.maxPayloadBytes, receivedAt });
    for (let tries = 0; ; tries++) {
      try {
        if (decoded.ok) {
          sink.commit(cfg.name, decoded.readings);
        } else {
          sink.deadLetter(cfg.name, { topic: packet.topic, reason: decoded.reason, raw: payload });
          telemetry.deadLettered(cfg.name, decoded.reason, packet.topic);
        }
        st.messages++;
        st.lastMessageAt = receivedAt;
        return;
      } catch (err) {
        if (stopping) throw err;
        const delay = backoffDelay(tries, { baseMs: 100, capMs: 5000 });
        st.lastError = `store: ${(err as Error).message}`;
        telemetry.storeWriteFailed(cfg.name, err, delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  return {
    name: cfg.name,
    brokerUrl: () => url,
    async start(sink) {
      if (!url) {
        broker = await startEmbeddedBroker(cfg.embeddedBroker);
        url = broker.url;
      }
      st.endpoint = url;
      const c = mqtt.connect(url, {
        clientId: cfg.clientId ?? `millwright-${deps.gatewayId}-${cfg.name}`,
        clean: false,
        keepalive: cfg.keepaliveSec,
        username: cfg.username,
        password: cfg.password,
        reconnectPeriod: backoffDelay(0, cfg.reconnect),
        connectTimeout: 10_000,
        resubscribe: true,
      });
      client = c;
      // Replaces MQTT.js's default (which acks at once) before any packet can arrive.
      c.handleMessage = (packet, done) => {
        handle(sink, packet).then(
          () => done(),
          (err: Error) => done(err),
        );
      };
      c.on('connect', (connack) => {
        attempt = 0;
        st.state = 'connected';
        c.options.reconnectPeriod = backoffDelay(0, cfg.reconnect);
        telemetry.sourceConnected(cfg.name, { url, sessionPresent: connack.sessionPresent });
        // Subscribing again with a session present is harmless and covers a broker that lost it.
        c.subscribe(cfg.subscribe, { qos: 1 }, (err) => {
          if (err) st.lastError = `subscribe: ${err.message}`;
        });
      });
      c.on('reconnect', () => {
        st.state = 'reconnecting';
        // MQTT.js waits options.reconnectPeriod before each attempt; set the next one's delay.
        c.options.reconnectPeriod = backoffDelay(++attempt, cfg.reconnect);
        telemetry.sourceReconnecting(cfg.name, { url, attempt, nextDelayMs: c.options.reconnectPeriod });
      });
      c.on('offline', () => {
        if (stopping) return;
        st.state = 'offline';
        telemetry.sourceOffline(cfg.name, { url });
      });
      c.on('error', (err) => {
        st.lastError = err.message;
      });
    },
    async stop() {
      stopping = true;
      // end(false) waits for the in-flight message's handler and PUBACK before closing.
      if (client) await client.endAsync(false);
      if (broker) await broker.stop();
      st.state = 'stopped';
    },
    status: () => ({ ...st }),
  };
}

import mqtt, { type MqttClient } from 'mqtt';
import { backoffDelay } from '../../../shared/backoff.js';
import type { Reading } from '../../../shared/reading.js';
import type { Telemetry } from '../../telemetry/events.js';
import type { Sink, Source, SourceStatus } from '../types.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { subscriptions, type MqttSourceConfig } from './config.js';
import { decodeMessage, parseTopicTemplate, topicMatches, type JsonDecodeOptions } from './decode.js';
import { createSparkplugDecoder } from './sparkplug.js';

export interface MqttSourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
}

/** How long stop() lets a clean DISCONNECT take before it cuts the socket. */
const END_TIMEOUT_MS = 2000;

/**
 * MQTT source. Acknowledged means committed, in both modes:
 * - with a broker URL: a QoS 1 subscription with a persistent session (clean: false). MQTT.js
 *   sends the PUBACK when `handleMessage` calls back, and handles the next packet only then, so
 *   we call back after the commit; one message is in flight and a slow disk pushes back on the
 *   broker instead of growing memory.
 * - with the embedded broker: readings are committed in the broker's publish hook, before the
 *   broker sends the publisher its PUBACK, so the publisher keeps (and resends) anything a
 *   crash could lose.
 * Not guaranteed: messages an external broker itself drops (e.g. Mosquitto's
 * max_queued_messages for an offline client) never reach us; see the install docs.
 */
export function createMqttSource(cfg: MqttSourceConfig, deps: MqttSourceDeps): Source {
  let client: MqttClient | undefined;
  let broker: EmbeddedBroker | undefined;
  let attempt = 0;
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  const st: SourceStatus = { name: cfg.name, type: 'mqtt', state: 'starting', endpoint: '', messages: 0, lastMessageAt: null, lastError: null };
  const { telemetry } = deps;
  const subscribe = subscriptions(cfg);
  const jsonOptions = jsonDecodeOptions(cfg);

  /**
   * The one step that differs by format: a message's readings, and why (part of) it could not be
   * read. Sparkplug keeps session state (aliases, bdSeq), one decoder per source instance.
   */
  const decode: (topic: string, payload: Uint8Array, receivedAt: number) => { readings: Reading[]; reasons: string[] } =
    cfg.format === 'sparkplug'
      ? createSparkplugDecoder({ sensorPrefix: cfg.sparkplug.sensorPrefix, maxPayloadBytes: cfg.maxPayloadBytes }).decode
      : (topic, payload, receivedAt) => {
          const d = decodeMessage(topic, payload, { ...jsonOptions, receivedAt });
          return d.ok ? { readings: d.readings, reasons: [] } : { readings: [], reasons: [d.reason] };
        };

  /** Commits (or dead-letters) one message; retried while the store refuses, so nothing is acked unwritten. */
  async function commit(sink: Sink, topic: string, payload: Uint8Array): Promise<void> {
    const receivedAt = Date.now();
    const { readings, reasons } = decode(topic, payload, receivedAt);
    const reason = reasons.join('; ');
    // A message can give both (a Sparkplug DATA with one unknown alias): the readings are
    // committed and the message is dead-lettered with the reasons, each once across retries.
    let committed = readings.length === 0;
    for (let tries = 0; ; tries++) {
      if (stopping && tries > 0) throw new Error('source stopping: message left unacknowledged for redelivery');
      try {
        if (!committed) {
          await sink.commit(cfg.name, readings);
          committed = true;
        }
        if (reason) {
          await sink.deadLetter(cfg.name, { topic, reason, raw: payload });
          telemetry.deadLettered(cfg.name, reason, topic);
        }
        st.messages++;
        st.lastMessageAt = receivedAt;
        return;
      } catch (err) {
        const delay = backoffDelay(tries, { baseMs: 100, capMs: 5000 });
        st.lastError = `store: ${(err as Error).message}`;
        telemetry.storeWriteFailed(cfg.name, err, delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Runs a commit so that stop() can wait for it. Refuses new work once stopping. */
  function track(sink: Sink, topic: string, payload: Uint8Array): Promise<void> {
    if (stopping) return Promise.reject(new Error('source stopping'));
    const p = commit(sink, topic, payload).finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  }

  const wanted = (topic: string) => subscribe.some((f) => topicMatches(f, topic));

  async function startEmbedded(sink: Sink): Promise<void> {
    broker = await startEmbeddedBroker({
      ...cfg.embeddedBroker,
      // Topics outside `subscribe` pass through the broker untouched, as with an external one.
      onPublish: (packet) => (wanted(packet.topic) ? track(sink, packet.topic, packet.payload as Buffer) : Promise.resolve()),
    });
    st.endpoint = broker.url;
    st.state = 'connected';
    telemetry.sourceConnected(cfg.name, { url: broker.url, embedded: true });
  }

  function startClient(sink: Sink, url: string): void {
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
    // Replaces MQTT.js's default (which acks at once) before any packet can arrive. Once
    // stopping, a message is neither committed nor acked: the broker redelivers it next time.
    c.handleMessage = (packet, done) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      track(sink, packet.topic, payload).then(
        () => done(),
        () => {},
      );
    };
    c.on('connect', (connack) => {
      attempt = 0;
      c.options.reconnectPeriod = backoffDelay(0, cfg.reconnect);
      // Subscribing again with a session present is harmless and covers a broker that lost it.
      c.subscribe(subscribe, { qos: 1 }, (err, granted) => {
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (err || refused.length) {
          st.lastError = err ? `subscribe: ${err.message}` : `subscription refused by the broker: ${refused.join(', ')}`;
          st.state = 'offline';
          telemetry.sourceOffline(cfg.name, { url, error: st.lastError });
          return;
        }
        st.state = 'connected';
        telemetry.sourceConnected(cfg.name, { url, sessionPresent: connack.sessionPresent });
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
  }

  return {
    name: cfg.name,
    async start(sink) {
      if (cfg.url) startClient(sink, cfg.url);
      else await startEmbedded(sink);
    },
    async stop() {
      stopping = true;
      // Let the commits under way finish so that their acknowledgements still go out.
      await Promise.allSettled([...inFlight]);
      if (client) {
        const c = client;
        const timer = setTimeout(() => c.end(true), END_TIMEOUT_MS);
        await c.endAsync(false).catch(() => c.end(true));
        clearTimeout(timer);
      }
      if (broker) await broker.stop();
      st.state = 'stopped';
    },
    status: () => ({ ...st }),
  };
}

/** format json: the template parsed once (the schema has already checked it). */
function jsonDecodeOptions(cfg: MqttSourceConfig): Omit<JsonDecodeOptions, 'receivedAt'> {
  const opts: Omit<JsonDecodeOptions, 'receivedAt'> = { topicPrefix: cfg.topicPrefix, maxPayloadBytes: cfg.maxPayloadBytes, json: cfg.json };
  if (cfg.topicTemplate !== undefined && cfg.sensorId !== undefined) {
    const t = parseTopicTemplate(cfg.topicTemplate);
    if (!t.ok) throw new Error(`mqtt source ${cfg.name}: topicTemplate: ${t.reason}`);
    opts.topic = { template: t.template, sensorId: cfg.sensorId };
  }
  return opts;
}

import { backoffDelay } from '../../../shared/backoff.js';
import type { Reading } from '../../../shared/reading.js';
import type { Telemetry } from '../../telemetry/events.js';
import type { Sink, Source, SourceStatus } from '../types.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { subscriptions, type MqttSourceConfig } from './config.js';
import { decodeMessage, parseTopicTemplate, topicMatches, type JsonDecodeOptions } from './decode.js';
import { startSession, type Message, type Session } from './session.js';
import { createSparkplugDecoder } from './sparkplug.js';

export interface MqttSourceDeps {
  gatewayId: string;
  telemetry: Telemetry;
}

/**
 * MQTT source. Acknowledged means committed, in both modes:
 * - with a broker URL: a QoS 1 subscription with a persistent session (clean: false), read by
 *   session.ts, which commits what has arrived as one batch and then sends its PUBACKs; at
 *   `maxInFlight` unacknowledged messages it stops reading, so a slow disk pushes back on the
 *   broker instead of growing memory.
 * - with the embedded broker: readings are committed in the broker's publish hook, before the
 *   broker sends the publisher its PUBACK, so the publisher keeps (and resends) anything a
 *   crash could lose.
 * Not guaranteed: messages an external broker itself drops (e.g. Mosquitto's
 * max_queued_messages for an offline client) never reach us; see the install docs.
 */
export function createMqttSource(cfg: MqttSourceConfig, deps: MqttSourceDeps): Source {
  let session: Session | undefined;
  let broker: EmbeddedBroker | undefined;
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

  /**
   * Commits (or dead-letters) a batch of messages: all their readings in one commit, then one
   * dead letter per message that could not be (wholly) read. Retried while the store refuses, so
   * nothing is acknowledged unwritten; each part is written once across retries.
   */
  async function commit(sink: Sink, messages: readonly Message[]): Promise<void> {
    const receivedAt = Date.now();
    const readings: Reading[] = [];
    const letters: { topic: string; reason: string; raw: Uint8Array }[] = [];
    for (const m of messages) {
      const d = decode(m.topic, m.payload, receivedAt);
      for (const r of d.readings) readings.push(r);
      // A message can give both (a Sparkplug DATA with one unknown alias).
      if (d.reasons.length > 0) letters.push({ topic: m.topic, reason: d.reasons.join('; '), raw: m.payload });
    }
    let committed = readings.length === 0;
    let lettered = letters.length === 0;
    for (let tries = 0; ; tries++) {
      if (stopping && tries > 0) throw new Error('source stopping: messages left unacknowledged for redelivery');
      try {
        if (!committed) {
          await sink.commit(cfg.name, readings);
          committed = true;
        }
        if (!lettered) {
          await Promise.all(letters.map((l) => sink.deadLetter(cfg.name, l)));
          lettered = true;
          for (const l of letters) telemetry.deadLettered(cfg.name, l.reason, l.topic);
        }
        st.messages += messages.length;
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
  function track(sink: Sink, messages: readonly Message[]): Promise<void> {
    if (stopping) return Promise.reject(new Error('source stopping'));
    const p = commit(sink, messages).finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  }

  const wanted = (topic: string) => subscribe.some((f) => topicMatches(f, topic));

  async function startEmbedded(sink: Sink): Promise<void> {
    broker = await startEmbeddedBroker({
      ...cfg.embeddedBroker,
      // Topics outside `subscribe` pass through the broker untouched, as with an external one.
      onPublish: (packet) =>
        wanted(packet.topic) ? track(sink, [{ topic: packet.topic, payload: packet.payload as Buffer }]) : Promise.resolve(),
    });
    st.endpoint = broker.url;
    st.state = 'connected';
    telemetry.sourceConnected(cfg.name, { url: broker.url, embedded: true });
  }

  function startClient(sink: Sink, url: string): void {
    st.endpoint = url;
    session = startSession({
      url,
      clientId: cfg.clientId ?? `millwright-${deps.gatewayId}-${cfg.name}`,
      username: cfg.username,
      password: cfg.password,
      keepaliveSec: cfg.keepaliveSec,
      subscribe,
      maxInFlight: cfg.maxInFlight,
      reconnect: cfg.reconnect,
      commit: (messages) => track(sink, messages),
      onConnected: ({ sessionPresent }) => {
        st.state = 'connected';
        telemetry.sourceConnected(cfg.name, { url, sessionPresent });
      },
      onOffline: ({ error }) => {
        if (error !== undefined) st.lastError = error;
        st.state = 'offline';
        telemetry.sourceOffline(cfg.name, { url, error: error ?? null });
      },
      onReconnecting: ({ attempt, nextDelayMs }) => {
        st.state = 'reconnecting';
        telemetry.sourceReconnecting(cfg.name, { url, attempt, nextDelayMs });
      },
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
      await session?.stop();
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

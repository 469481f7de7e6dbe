import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { Logger } from '../../shared/log.js';
import type { OutMessage } from './framer.js';
import type { SparkplugEdgeNode } from './sparkplug.js';

/**
 * Sparkplug session control for the publisher: the NDEATH will of each CONNECT, the NCMD
 * subscription, the births of each session, and the NDEATH a clean stop says itself. The
 * messages themselves are built by ./sparkplug.ts; ../mqtt-publisher.ts sends them.
 *
 * A birth belongs to its session. mqtt.js keeps every unacknowledged QoS 1 message in its outgoing
 * store and, after a reconnect, sends it again [MQTT-4.4.0-1] — an NBIRTH with the old bdSeq and
 * seq would then reach the host next to the new session's. mqtt.js has no publish option to keep a
 * QoS 1 message out of that replay, so the session removes its unacknowledged control messages
 * (`retry: false`: the NBIRTH and the DBIRTHs that repeat values) from the store when the
 * connection closes (`MqttClient.removeOutgoingMessage`); their callbacks then fail with "Message
 * removed" and the next session sends its own births.
 *
 * Not guaranteed: a DBIRTH at a machine's first step carries readings for the first time and is
 * retried like a DDATA, so it can still reach the host after a reconnect with its old seq (and a
 * host may ask for a rebirth). The message id is read in mqtt.js's store callback, which the
 * default in-memory store calls synchronously after allocating it; a custom asynchronous store
 * would break that (the publisher does not configure one).
 */

export interface SparkplugSession {
  /** CONNACK arrived: the node opens a session; the will of the next CONNECT carries the next bdSeq. */
  onConnected(first: boolean): void;
  /** The connection closed: the session ends, and its unacknowledged births leave the outgoing store. */
  onConnectionLost(): void;
  /** The publish options for `message`: a control message is tracked until it settles. */
  publishOptions(message: OutMessage): IClientPublishOptions;
  /** `message` was acknowledged, refused or failed. */
  settled(message: OutMessage): void;
  /**
   * A clean disconnect does not release the will, so the node says NDEATH itself first; waits at
   * most `timeoutMs` for it, and calls `acknowledged` when its PUBACK arrives.
   */
  sayDeath(timeoutMs: number, acknowledged: () => void): Promise<void>;
}

export interface SparkplugSessionOptions {
  node: SparkplugEdgeNode;
  client: MqttClient;
  log: Logger;
  /** The publisher is ending: errors are expected, not worth a warning. */
  closing(): boolean;
  onRebirthRequested(): void;
}

export function createSparkplugSession({ node, client, log, closing, onRebirthRequested }: SparkplugSessionOptions): SparkplugSession {
  /** Control messages handed to the client and not yet settled, by their MQTT packet id. */
  const births = new Map<OutMessage, number>();

  client.on('message', (topic, payload) => {
    if (topic !== node.commandTopic) return;
    try {
      if (node.onCommand(payload)) onRebirthRequested();
    } catch (err) {
      onBadCommand(topic, err);
    }
  });

  function onBadCommand(topic: string, err: unknown): void {
    log.warn('sparkplug_command_ignored', { topic, reason: err instanceof Error ? err.message : String(err) });
  }

  return {
    onConnected(first) {
      node.onConnect();
      // The will of the next CONNECT carries the next bdSeq; mqtt.js reads it from its options.
      client.options.will = node.will();
      // Rebirth requests. mqtt.js subscribes again by itself after a reconnect.
      if (first) client.subscribe(node.commandTopic, { qos: 1 }, (err) => err && !closing() && log.warn('sparkplug_ncmd_subscribe_failed', { error: err }));
    },

    onConnectionLost() {
      node.onClose();
      for (const [message, id] of [...births]) {
        births.delete(message);
        client.removeOutgoingMessage(id);
      }
    },

    publishOptions(message) {
      if (message.retry) return { qos: 1 };
      return { qos: 1, cbStorePut: () => births.set(message, client.getLastMessageId()) };
    },

    settled(message) {
      births.delete(message);
    },

    async sayDeath(timeoutMs, acknowledged) {
      if (!node.open || !client.connected) return;
      const death = node.death();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.publishAsync(death.topic, death.payload, { qos: 1 }).then(
          () => acknowledged(),
          (err: unknown) => log.warn('sparkplug_ndeath_failed', { error: err }),
        ),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    },
  };
}

import type { Logger } from '../shared/log.js';
import { DEFAULT_TOPIC_PREFIX } from '../shared/mqtt-json.js';

/**
 * The MQTT publisher's options, their defaults and their checks. A bad option throws before any
 * connection is made, with a message that names the option and what it expects.
 */

export interface PublisherOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883; user and password may be given in it. */
  url: string;
  seed: number;
  machines: number;
  periodMs: number;
  /** true: step i starts i·periodMs of wall time after the start; false: as fast as the window allows. */
  realtime: boolean;
  log: Logger;
  topicPrefix?: string;
  /** Stop after this many steps; omitted, run until stop(). */
  steps?: number;
  /**
   * Timestamp of the first step. Default: now (aligned to the period) when realtime or endless;
   * for a fast run with `steps`, a history that ends now.
   */
  startMs?: number;
  /** Only QoS 1: QoS 0 cannot be counted and QoS 2 buys nothing a (sensor, ts) key does not. */
  qos?: 1;
  /** Keep every published value in the summary (memory grows with the run: for tests). */
  keepValues?: boolean;
  /** Readings sent and not yet acknowledged, at most. Default 1000. */
  maxInFlight?: number;
  enterprise?: string;
  site?: string;
  clientId?: string;
  /** Delay between reconnect attempts. Default 1000 ms. */
  reconnectPeriodMs?: number;
  /** How long stop() waits for outstanding PUBACKs. Default 5 s. */
  drainTimeoutMs?: number;
}

/** The options with every default filled in. */
export type ResolvedPublisherOptions = PublisherOptions &
  Required<Pick<PublisherOptions, 'topicPrefix' | 'maxInFlight' | 'drainTimeoutMs' | 'reconnectPeriodMs'>>;

export function resolvePublisherOptions(opts: PublisherOptions): ResolvedPublisherOptions {
  const resolved = {
    ...opts,
    topicPrefix: opts.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    maxInFlight: opts.maxInFlight ?? 1000,
    drainTimeoutMs: opts.drainTimeoutMs ?? 5000,
    reconnectPeriodMs: opts.reconnectPeriodMs ?? 1000,
  };
  checkUrl(resolved.url);
  if (/[+#\u0000]/.test(resolved.topicPrefix)) {
    // Wildcards are for topic filters only [MQTT-4.7.1-1]; NUL is banned in any topic [MQTT-4.7.3-2].
    throw new RangeError(`topicPrefix must not contain "+", "#" or NUL, got "${resolved.topicPrefix}"`);
  }
  // Packet identifiers are 16-bit [MQTT-2.3.1-1]: more unacknowledged messages cannot be told apart.
  if (!Number.isInteger(resolved.maxInFlight) || resolved.maxInFlight < 1 || resolved.maxInFlight > 60_000) {
    throw new RangeError(`maxInFlight must be an integer from 1 to 60000, got ${resolved.maxInFlight}`);
  }
  if ((resolved.qos ?? 1) !== 1) throw new RangeError('qos must be 1');
  // The generator checks it too, but the default startMs divides by it first.
  if (!Number.isInteger(resolved.periodMs) || resolved.periodMs < 1) {
    throw new RangeError(`periodMs must be a positive integer, got ${resolved.periodMs}`);
  }
  if (!Number.isInteger(resolved.drainTimeoutMs) || resolved.drainTimeoutMs < 0) {
    throw new RangeError(`drainTimeoutMs must be a non-negative integer, got ${resolved.drainTimeoutMs}`);
  }
  // 0 would switch mqtt.js reconnection off, and the publisher promises to reconnect.
  if (!Number.isInteger(resolved.reconnectPeriodMs) || resolved.reconnectPeriodMs < 1) {
    throw new RangeError(`reconnectPeriodMs must be a positive integer, got ${resolved.reconnectPeriodMs}`);
  }
  return resolved;
}

/**
 * Default first timestamp, aligned to the period so that timestamps read well. Realtime or
 * endless: now. A fast run of n steps: the n steps before now, so that it replays a history and no
 * reading is stamped in the future (a gateway may rightly distrust those).
 */
export function defaultStartMs(nowMs: number, periodMs: number, realtime: boolean, steps: number | undefined): number {
  const aligned = Math.floor(nowMs / periodMs) * periodMs;
  return realtime || steps === undefined ? aligned : aligned - steps * periodMs;
}

const PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

function checkUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Not echoed: an unparseable URL may still carry a password.
    throw new RangeError('url must be a broker URL such as mqtt://127.0.0.1:1883 (the one given does not parse)');
  }
  if (!PROTOCOLS.has(protocol)) throw new RangeError(`url must start with mqtt://, mqtts://, ws:// or wss:// (got "${protocol}")`);
}


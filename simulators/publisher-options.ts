import type { Logger } from '../shared/log.js';
import { DEFAULT_TOPIC_PREFIX } from '../shared/mqtt-json.js';
import { sparkplugIdProblem } from '../shared/sparkplug/topic.js';
import type { SimReading } from './generate.js';
import type { Plant } from './plant.js';

/**
 * The MQTT publisher's options, their defaults and their checks. A bad option throws before any
 * connection is made, with a message that names the option and what it expects.
 */

/**
 * - json: one message per reading, topic `<topicPrefix><sensor id>`, payload `{"ts":…,"value":…}`.
 * - json-batch: one message per sensor per `batchSteps` steps, same topic, payload an array of
 *   those readings (the form shared/mqtt-json.ts and the edge's MQTT source accept today).
 * - sparkplug: Sparkplug B; see simulators/mqtt/sparkplug.ts.
 */
export const PUBLISH_MODES = ['json', 'json-batch', 'sparkplug'] as const;
export type PublishMode = (typeof PUBLISH_MODES)[number];

/** Steps made elsewhere (a scenario with faults): the plant they belong to and its readings, step by step. */
export interface StepSource {
  plant: Plant;
  /** Each item is one step: the readings of one timestamp (a sensor in dropout is simply absent). */
  steps: Iterator<readonly SimReading[]>;
}

export interface PublisherOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883; user and password may be given in it. */
  url: string;
  /** With no `source`: the plant and its readings are built from these (required then, ignored otherwise). */
  seed?: number;
  machines?: number;
  /** Steps made elsewhere; when absent, the base generator on `buildPlant({ seed, machines })`. */
  source?: StepSource;
  /** Simulated time between steps. Readings keep their simulated timestamps whatever the pace. */
  periodMs: number;
  /**
   * true: step i starts i·periodMs/speed of wall time after the start; false: as fast as the
   * in-flight window allows (and `speed` does not apply).
   */
  realtime: boolean;
  /** Simulated time per wall time when realtime: 1 real time, 1440 a simulated day per minute. Default 1. */
  speed?: number;
  log: Logger;
  /** Default 'json'. */
  mode?: PublishMode;
  /** json-batch: steps per message. Default 10. */
  batchSteps?: number;
  sparkplug?: {
    /** Default: the plant's site. */
    groupId?: string;
    /** Default 'simulator'. */
    edgeNodeId?: string;
  };
  topicPrefix?: string;
  /** Stop after this many steps; omitted, run until stop() (or until the source ends). */
  steps?: number;
  /**
   * Timestamp of the first step (with a `source`, only reported: the source has its own). Default:
   * now (aligned to the period) when realtime at speed ≤ 1 or endless; for a fast or sped-up run
   * with `steps`, a history that ends now.
   */
  startMs?: number;
  /** Only QoS 1: QoS 0 cannot be counted and QoS 2 buys nothing a (sensor, ts) key does not. */
  qos?: 1;
  /** Keep every published value in the summary (memory grows with the run: for tests). */
  keepValues?: boolean;
  /**
   * Messages sent and not yet acknowledged, at most (in json mode a message is a reading).
   * Default 1000. When full the publisher waits: nothing is dropped.
   */
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
  Required<Pick<PublisherOptions, 'topicPrefix' | 'maxInFlight' | 'drainTimeoutMs' | 'reconnectPeriodMs' | 'mode' | 'speed' | 'batchSteps'>>;

/** json-batch arrays are capped there by shared/mqtt-json.ts. */
export const MAX_BATCH_STEPS = 10_000;

export function resolvePublisherOptions(opts: PublisherOptions): ResolvedPublisherOptions {
  const resolved = {
    ...opts,
    topicPrefix: opts.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    maxInFlight: opts.maxInFlight ?? 1000,
    drainTimeoutMs: opts.drainTimeoutMs ?? 5000,
    reconnectPeriodMs: opts.reconnectPeriodMs ?? 1000,
    mode: opts.mode ?? 'json',
    speed: opts.speed ?? 1,
    batchSteps: opts.batchSteps ?? 10,
  };
  checkUrl(resolved.url);
  if (!opts.source && (opts.seed === undefined || opts.machines === undefined)) {
    throw new RangeError('seed and machines are required when no step source is given');
  }
  if (!(PUBLISH_MODES as readonly string[]).includes(resolved.mode)) {
    throw new RangeError(`mode must be one of ${PUBLISH_MODES.join(', ')}, got "${resolved.mode}"`);
  }
  if (resolved.steps !== undefined && (!Number.isInteger(resolved.steps) || resolved.steps < 0)) {
    throw new RangeError(`steps must be a non-negative integer, got ${resolved.steps}`);
  }
  if (!Number.isFinite(resolved.speed) || resolved.speed <= 0) throw new RangeError(`speed must be a positive number, got ${resolved.speed}`);
  if (!Number.isInteger(resolved.batchSteps) || resolved.batchSteps < 1 || resolved.batchSteps > MAX_BATCH_STEPS) {
    throw new RangeError(`batchSteps must be an integer from 1 to ${MAX_BATCH_STEPS}, got ${resolved.batchSteps}`);
  }
  for (const [what, id] of [['sparkplug.groupId', opts.sparkplug?.groupId], ['sparkplug.edgeNodeId', opts.sparkplug?.edgeNodeId]] as const) {
    const problem = id === undefined ? undefined : sparkplugIdProblem(id);
    if (problem) throw new RangeError(`${what} "${id}" cannot be a Sparkplug id: ${problem}`);
  }
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
 * Default first timestamp, aligned to the period so that timestamps read well. Real time (speed
 * ≤ 1) or endless: now. A fast or sped-up run of n steps: the n steps before now, so that it
 * replays a history and no reading is stamped in the future (a gateway may rightly distrust those).
 */
export function defaultStartMs(nowMs: number, periodMs: number, realtime: boolean, steps: number | undefined, speed = 1): number {
  const aligned = Math.floor(nowMs / periodMs) * periodMs;
  return (realtime && speed <= 1) || steps === undefined ? aligned : aligned - steps * periodMs;
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


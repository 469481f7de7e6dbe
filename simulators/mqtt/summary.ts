import type { SensorId } from '../../shared/reading.js';
import type { Plant } from '../plant.js';
import type { PublishMode } from '../publisher-options.js';
import type { OutMessage } from './framer.js';

/**
 * The publisher's accounting: what the broker acknowledged, refused or never answered, and the
 * summary and status built from it. Re-exported by ../mqtt-publisher.ts.
 *
 * Counting contract: a reading counts as published only once the broker's PUBACK for the message
 * carrying it arrived, and at most once, however often it was sent (the publisher settles each
 * message once).
 */

export interface PublisherSummary {
  /** completed: all steps published; stopped: stop() was called; failed: see `error`. */
  ended: 'completed' | 'stopped' | 'failed';
  error?: string;
  mode: PublishMode;
  /** Timestamp of the first step (with a step source: of its first reading, if any). */
  startMs: number;
  periodMs: number;
  /**
   * Steps taken from the generator. Their readings were handed to the client, except, in a stopped
   * json-batch run, the batch being filled.
   */
  steps: number;
  sensors: number;
  /** Readings acknowledged by the broker. */
  total: number;
  /** Messages acknowledged by the broker, control messages (NBIRTH, NDEATH) included. */
  messages: number;
  perSensor: Record<SensorId, number>;
  /** With keepValues: per sensor, the acknowledged values in timestamp order ... */
  values?: Record<SensorId, number[]>;
  /** ... and their timestamps, index for index. */
  timestamps?: Record<SensorId, number[]>;
  /** Sent but never acknowledged when the publisher ended (possibly delivered: the ack was lost). */
  unacknowledged: number;
  /** Refused by the broker with a reason code (MQTT 5 only); not retried. */
  rejected: number;
  /** Sends repeated because the client failed one before it reached the broker. */
  retries: number;
  reconnects: number;
  /** Realtime only: the latest any step started. */
  maxLagMs: number;
  elapsedMs: number;
  sparkplug?: {
    groupId: string;
    edgeNodeId: string;
    /** bdSeq of the last session. */
    bdSeq: number;
    /** Birth sequences sent: one per connection and per rebirth request. */
    births: number;
  };
}

export interface PublisherStatus {
  state: 'running' | 'stopping' | 'ended';
  connected: boolean;
  steps: number;
  /** Readings acknowledged. */
  published: number;
  /** Messages acknowledged. */
  messages: number;
  /** Messages sent and not yet acknowledged. */
  inFlight: number;
  rejected: number;
  retries: number;
  reconnects: number;
  /** Realtime only: how late the last step started. */
  lagMs: number;
}

/** What the summary takes from outside the ledger. */
export type SummaryContext = Pick<PublisherSummary, 'ended' | 'error' | 'mode' | 'startMs' | 'periodMs' | 'steps' | 'maxLagMs' | 'elapsedMs' | 'sparkplug'>;

export interface Ledger {
  readonly counts: { published: number; messages: number; rejected: number; retries: number; reconnects: number; connects: number };
  /** Messages sent and not yet settled. */
  readonly inFlight: number;
  /** A message handed to the client for the first time. */
  sent(message: OutMessage): void;
  /** Its PUBACK arrived: it and its readings count. */
  acknowledged(message: OutMessage): void;
  /** Refused by the broker; returns the readings refused so far. */
  rejected(message: OutMessage): number;
  /** Settled one way or another: it leaves the window. */
  released(message: OutMessage): void;
  summary(context: SummaryContext): PublisherSummary;
}

export function createLedger(plant: Plant, keepValues: boolean): Ledger {
  const perSensor = new Map<SensorId, number>(plant.sensors.map((s) => [s.id, 0]));
  const kept = keepValues ? new Map<SensorId, Array<[ts: number, value: number]>>(plant.sensors.map((s) => [s.id, []])) : undefined;
  const counts = { published: 0, messages: 0, rejected: 0, retries: 0, reconnects: 0, connects: 0 };
  let inFlight = 0;
  let unacknowledged = 0; // readings in messages not yet settled

  return {
    counts,
    get inFlight() {
      return inFlight;
    },
    sent(message) {
      inFlight++;
      unacknowledged += message.readings.length;
    },
    acknowledged(message) {
      counts.messages++;
      for (const reading of message.readings) {
        counts.published++;
        perSensor.set(reading.sensor, (perSensor.get(reading.sensor) ?? 0) + 1);
        kept?.get(reading.sensor)?.push([reading.ts, reading.value]);
      }
    },
    rejected(message) {
      counts.rejected += message.readings.length;
      return counts.rejected;
    },
    released(message) {
      inFlight--;
      unacknowledged -= message.readings.length;
    },
    summary(context) {
      const { ended, error, mode, startMs, periodMs, steps, maxLagMs, elapsedMs, sparkplug } = context;
      const summary: PublisherSummary = {
        ended,
        ...(error !== undefined && { error }),
        mode,
        startMs,
        periodMs,
        steps,
        sensors: plant.sensors.length,
        total: counts.published,
        messages: counts.messages,
        perSensor: Object.fromEntries(perSensor),
        unacknowledged,
        rejected: counts.rejected,
        retries: counts.retries,
        reconnects: counts.reconnects,
        maxLagMs,
        elapsedMs,
        ...(sparkplug && { sparkplug }),
      };
      if (kept) {
        summary.values = {};
        summary.timestamps = {};
        for (const [sensor, pairs] of kept) {
          // Retries after a reconnect can be acknowledged out of order; report in timestamp order.
          pairs.sort((a, b) => a[0] - b[0]);
          summary.timestamps[sensor] = pairs.map((pair) => pair[0]);
          summary.values[sensor] = pairs.map((pair) => pair[1]);
        }
      }
      return summary;
    },
  };
}

import type { SimReading } from '../generate.js';

/**
 * How a publish mode turns steps of readings into MQTT messages. The publisher pulls messages one
 * at a time and only when it may send (window not full, session open), so a framer can number
 * and encode each message at the moment it goes out.
 */

export interface OutMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  /**
   * The readings this message delivers for the first time: the publisher counts them when its
   * PUBACK arrives. Empty for control messages (NBIRTH, NDEATH) and for births that repeat values
   * already sent.
   */
  readonly readings: readonly SimReading[];
  /**
   * Send it again when the client fails it before the broker acknowledged it. Control messages
   * are not resent: the next session sends its own.
   */
  readonly retry: boolean;
}

export interface Framer {
  /** The messages for one step of readings. */
  frame(step: readonly SimReading[]): Iterator<OutMessage>;
  /** Messages still held back when the steps end (a partial batch). */
  flush(): Iterator<OutMessage>;
}

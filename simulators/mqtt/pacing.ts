import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/log.js';
import type { SimReading } from '../generate.js';
import type { Framer, OutMessage } from './framer.js';
import type { SparkplugEdgeNode } from './sparkplug.js';

/**
 * The publisher's run loop: takes steps from the generator, paces them by the wall clock when
 * realtime, frames them and sends each message only when the in-flight window has room, then
 * drains. Used by ../mqtt-publisher.ts, which owns the client and the accounting.
 *
 * Pacing: realtime step i is due i·periodMs/speed after the start. A step that starts late does
 * not shift the schedule: the following steps run back to back until they are on time again.
 */

/** sim_falling_behind is logged at most this often; the lag itself is kept in `maxLagMs`. */
export const FALLING_BEHIND_LOG_INTERVAL_MS = 10_000;

/**
 * The run loop is the only waiter: it parks until a condition holds, and everything that can
 * change one (an ack, stop, a failure, a connection) nudges it.
 */
export interface Waiter {
  nudge(): void;
  /** Resolves once `ready()` holds, or after `maxWaitMs`. */
  park(ready: () => boolean, maxWaitMs?: number): Promise<void>;
}

export function createWaiter(): Waiter {
  let wake: (() => void) | undefined;
  return {
    nudge() {
      const w = wake;
      wake = undefined;
      w?.();
    },
    async park(ready, maxWaitMs = Infinity) {
      const deadline = performance.now() + maxWaitMs;
      while (!ready() && performance.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (Number.isFinite(deadline)) timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        });
        clearTimeout(timer);
      }
    },
  };
}

export interface RunLoopOptions {
  /** Stop after this many steps; undefined: until stopped or the steps end. */
  steps: number | undefined;
  realtime: boolean;
  periodMs: number;
  speed: number;
  drainTimeoutMs: number;
  stepIterator: Iterator<readonly SimReading[]>;
  framer: Framer;
  /** Sparkplug: its birth sequences go out before any further device message. */
  node: SparkplugEdgeNode | undefined;
  waiter: Waiter;
  log: Logger;
  /** Room in the window, and for Sparkplug an open session. */
  maySend(): boolean;
  /** Hands a message to the client; it counts as in flight until settled. */
  transmit(message: OutMessage): void;
  /** Called with each step taken, before it is framed. */
  onStep(step: readonly SimReading[]): void;
  stopRequested(): boolean;
  failed(): boolean;
  inFlight(): number;
  connected(): boolean;
}

export interface RunLoop {
  /** Resolves when the steps are sent and drained, or when stopped; rejects only on a bug. */
  run(): Promise<void>;
  readonly stepsTaken: number;
  /** Realtime only: how late the last step started. */
  readonly lagMs: number;
  /** Realtime only: the latest any step started. */
  readonly maxLagMs: number;
}

export function createRunLoop(o: RunLoopOptions): RunLoop {
  const { node, framer, waiter, log } = o;
  const stepMs = o.periodMs / o.speed;
  let stepsTaken = 0;
  let lagMs = 0;
  let maxLagMs = 0;
  let lastBehindLogAt = -Infinity;
  let lateStepsUnlogged = 0;
  let births: Iterator<OutMessage> | undefined;

  /**
   * A realtime step started more than one period late: the broker, the window or the CPU cannot
   * keep up with this speed. Logged at most once per FALLING_BEHIND_LOG_INTERVAL_MS, with how many
   * late steps the message stands for.
   */
  function onFallingBehind(lateByMs: number): void {
    lateStepsUnlogged++;
    const now = performance.now();
    if (now - lastBehindLogAt < FALLING_BEHIND_LOG_INTERVAL_MS) return;
    lastBehindLogAt = now;
    log.warn('sim_falling_behind', {
      lagMs: Math.round(lateByMs), stepsBehind: Math.floor(lateByMs / stepMs), lateSteps: lateStepsUnlogged,
      step: stepsTaken, inFlight: o.inFlight(), connected: o.connected(),
    });
    lateStepsUnlogged = 0;
  }

  /**
   * Sends `messages`, pulling each only when it may go out. A Sparkplug birth sequence that falls
   * due (a new session, a rebirth request) goes first, whole, before any further device message.
   * Returns false when stopped.
   */
  async function pump(messages: Iterator<OutMessage>): Promise<boolean> {
    for (;;) {
      if (!o.maySend()) await waiter.park(() => o.stopRequested() || o.maySend());
      if (o.stopRequested()) return false;
      if (node?.birthDue) births = node.birth();
      if (births) {
        const b = births.next();
        if (!b.done) {
          o.transmit(b.value);
          continue;
        }
        births = undefined;
      }
      const next = messages.next();
      if (next.done) return true;
      o.transmit(next.value);
    }
  }

  async function run(): Promise<void> {
    const t0 = performance.now();
    const nothing: Iterator<OutMessage> = [][Symbol.iterator]();
    while (!o.stopRequested() && (o.steps === undefined || stepsTaken < o.steps)) {
      if (o.realtime) {
        const due = t0 + stepsTaken * stepMs;
        // Births owed while waiting for the next step go out now, not at the step.
        for (;;) {
          await waiter.park(() => o.stopRequested() || (node?.birthDue === true && o.maySend()), due - performance.now());
          if (o.stopRequested() || !(node?.birthDue && o.maySend())) break;
          await pump(nothing);
        }
        if (o.stopRequested()) break;
        const lateByMs = performance.now() - due;
        lagMs = Math.max(0, Math.round(lateByMs));
        maxLagMs = Math.max(maxLagMs, lagMs);
        if (lateByMs > stepMs) onFallingBehind(lateByMs);
      }
      const step = o.stepIterator.next();
      if (step.done) break;
      o.onStep(step.value);
      stepsTaken++;
      if (!(await pump(framer.frame(step.value)))) break;
    }
    if (!o.stopRequested()) await pump(framer.flush());
    // Drain: a completed run waits for every PUBACK however long the broker is away; a stopped
    // one waits at most drainTimeoutMs, and a failed one not at all.
    await waiter.park(() => o.inFlight() === 0 || o.stopRequested());
    if (o.inFlight() > 0 && !o.failed()) {
      log.info('sim_draining', { inFlight: o.inFlight(), connected: o.connected(), timeoutMs: o.drainTimeoutMs });
      await waiter.park(() => o.inFlight() === 0, o.drainTimeoutMs);
    }
  }

  return {
    run,
    get stepsTaken() {
      return stepsTaken;
    },
    get lagMs() {
      return lagMs;
    },
    get maxLagMs() {
      return maxLagMs;
    },
  };
}

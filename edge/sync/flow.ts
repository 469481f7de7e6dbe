/**
 * Flow control for the sync loop, as plain state machines on an injected clock so that tests
 * drive them without waiting.
 */

/**
 * A bandwidth cap: after sending `bytes`, the next send may start once those bytes would have
 * taken at the capped rate. Allows one batch of burst (the first send is never held), so the
 * average over any window longer than a batch's time stays at or under the cap.
 */
export interface Pacer {
  /** Milliseconds to wait before the next send may start. */
  delay(now: number): number;
  sent(bytes: number, now: number): void;
}

export function createPacer(bytesPerSecond: number | undefined): Pacer {
  let nextAt = 0;
  if (!bytesPerSecond) return { delay: () => 0, sent: () => undefined };
  return {
    delay: (now) => Math.max(0, nextAt - now),
    sent(bytes, now) {
      nextAt = Math.max(nextAt, now) + (bytes / bytesPerSecond) * 1000;
    },
  };
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failed deliveries (network errors, 5xx) that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one probe is let through. */
  openMs: number;
}

export interface BreakerStatus {
  state: BreakerState;
  consecutiveFailures: number;
  /** When the circuit last opened (ms since epoch), while it is open or half-open. */
  openedAt: number | null;
}

/**
 * A circuit breaker (Nygard, "Release It!"): after `failures` failures in a row the cloud is
 * taken as down and only probed once per `openMs`, instead of each backoff step hammering a
 * cloud that is restarting or a link that is gone. One success closes it.
 */
export interface Breaker {
  /** Milliseconds until a request may go out (0 when closed or half-open). */
  wait(now: number): number;
  success(): void;
  failure(now: number): void;
  status(): BreakerStatus;
}

export function createBreaker(opts: BreakerOptions): Breaker {
  let failures = 0;
  let openedAt: number | null = null;
  let state: BreakerState = 'closed';
  return {
    wait(now) {
      if (state !== 'open' || openedAt === null) return 0;
      const left = openedAt + opts.openMs - now;
      if (left > 0) return left;
      state = 'half-open';
      return 0;
    },
    success() {
      failures = 0;
      openedAt = null;
      state = 'closed';
    },
    failure(now) {
      failures++;
      // A failed probe opens it again for a full period; so does reaching the threshold.
      if (state === 'half-open' || failures >= opts.failures) {
        state = 'open';
        openedAt = now;
      }
    },
    status: () => ({ state, consecutiveFailures: failures, openedAt }),
  };
}

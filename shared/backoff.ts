/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * a random delay in [0, min(cap, base * 2^attempt)], so that a fleet of gateways coming back
 * after an outage does not reconnect in lockstep.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  const r = (opts.random ?? Math.random)();
  return Math.max(opts.baseMs / 2, Math.round(ceiling * r));
}

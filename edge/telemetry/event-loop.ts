import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Length of the window these figures cover (the last complete one). */
  windowSec: number;
}

export interface EventLoopMonitor {
  /** The last complete window, or null during the first. */
  last(): EventLoopDelay | null;
  stop(): void;
}

/**
 * Event-loop delay in fixed windows: a stalled loop is what a slow MCP answer or a late PUBACK
 * looks like from inside, and the store's promise (issue 4) is a p99 under 20 ms at full load.
 */
export function monitorEventLoop(windowSec = 10): EventLoopMonitor {
  const resolutionMs = 10;
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  let last: EventLoopDelay | null = null;
  // The histogram holds the time between its timer's ticks, which is the resolution on an idle
  // loop: the delay is what exceeds it.
  const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - resolutionMs * 100) / 100);
  const timer = setInterval(() => {
    last = { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), windowSec };
    h.reset();
  }, windowSec * 1000);
  timer.unref();
  return {
    last: () => last,
    stop() {
      clearInterval(timer);
      h.disable();
    },
  };
}

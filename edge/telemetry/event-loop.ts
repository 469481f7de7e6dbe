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
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let last: EventLoopDelay | null = null;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
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

import { describe, expect, it } from 'vitest';
import { createBreaker, createPacer } from './flow.js';

describe('bandwidth cap', () => {
  it('holds each send until the bytes before it would have taken at the capped rate', () => {
    const p = createPacer(10_000);
    expect(p.delay(0)).toBe(0);
    p.sent(5_000, 0);
    expect(p.delay(0)).toBe(500);
    expect(p.delay(400)).toBe(100);
    // A send that starts late does not earn credit for the idle time beyond one batch.
    p.sent(5_000, 2_000);
    expect(p.delay(2_000)).toBe(500);
  });

  it('over a long run, bytes sent never exceed the cap plus one batch', () => {
    const cap = 20_000;
    const p = createPacer(cap);
    let now = 0;
    let sent = 0;
    for (let i = 0; i < 1000; i++) {
      now += p.delay(now);
      const bytes = 1_000 + ((i * 7919) % 9_000);
      p.sent(bytes, now);
      sent += bytes;
      expect(sent).toBeLessThanOrEqual((cap * now) / 1000 + 10_000);
    }
  });

  it('without a cap never waits', () => {
    const p = createPacer(undefined);
    p.sent(1e9, 0);
    expect(p.delay(0)).toBe(0);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, lets one probe through after the period, closes on success', () => {
    const b = createBreaker({ failures: 3, openMs: 60_000 });
    b.failure(0);
    b.failure(1);
    expect(b.wait(2)).toBe(0);
    b.failure(2);
    expect(b.status()).toEqual({ state: 'open', consecutiveFailures: 3, openedAt: 2 });
    expect(b.wait(30_002)).toBe(30_000);
    expect(b.wait(60_002)).toBe(0);
    expect(b.status().state).toBe('half-open');
    b.success();
    expect(b.status()).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null });
  });

  it('a failed probe opens it again for a full period', () => {
    const b = createBreaker({ failures: 1, openMs: 1_000 });
    b.failure(0);
    expect(b.wait(1_000)).toBe(0);
    b.failure(1_000);
    expect(b.status()).toMatchObject({ state: 'open', openedAt: 1_000 });
    expect(b.wait(1_500)).toBe(500);
  });
});

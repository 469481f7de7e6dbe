import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, eventually, testBroker, type TestBroker } from '../../../test/helpers/mqtt.js';
import { startSession, type Message, type SessionOptions } from './session.js';

const noop = () => {};

function options(broker: TestBroker, name: string, commit: SessionOptions['commit'], maxInFlight = 1000): SessionOptions {
  return {
    url: broker.url,
    clientId: `mw-session-${name}-${broker.unique}`,
    keepaliveSec: 30,
    subscribe: [`${broker.prefix}${name}/#`],
    maxInFlight,
    reconnect: { baseMs: 100, capMs: 1000 },
    commit,
    onConnected: noop,
    onOffline: noop,
    onReconnecting: noop,
  };
}

async function connected(opts: SessionOptions): Promise<ReturnType<typeof startSession>> {
  let up = false;
  const session = startSession({ ...opts, onConnected: () => (up = true) });
  expect(await eventually(() => up, 10_000)).toBe(true);
  return session;
}

describe('MQTT session (batched acknowledgement after commit)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('stops reading at maxInFlight while commits wait, then takes everything exactly once', async () => {
    const cap = 40;
    let release: () => void = noop;
    let gate = new Promise<void>((r) => (release = r));
    const committed: string[] = [];
    let largestBatch = 0;
    const session = await connected(
      options(
        broker,
        'cap',
        async (messages: readonly Message[]) => {
          await gate;
          largestBatch = Math.max(largestBatch, messages.length);
          for (const m of messages) committed.push(m.payload.toString());
        },
        cap,
      ),
    );
    const pub = await connectClient(broker.url);
    // 2 KB payloads: one socket read (≤ 64 KiB) holds at most ~32 of them, which bounds how far
    // past the cap one read can go (the parser takes a whole read at once).
    const filler = 'x'.repeat(2000);
    const total = 600;
    const acks = Promise.all(
      Array.from({ length: total }, (_, i) => pub.publishAsync(`${broker.prefix}cap/s`, `${i}:${filler}`, { qos: 1 })),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const heldWhileBlocked = session.inFlight();
    expect(heldWhileBlocked).toBeGreaterThan(0);
    expect(heldWhileBlocked).toBeLessThanOrEqual(cap + 33);
    expect(committed).toHaveLength(0);
    release();
    gate = Promise.resolve();
    await acks;
    expect(await eventually(() => committed.length === total, 20_000)).toBe(true);
    expect(new Set(committed.map((p) => p.split(':')[0])).size).toBe(total);
    expect(largestBatch).toBeGreaterThan(1); // acknowledged in batches, not one by one
    expect(await eventually(() => session.inFlight() === 0)).toBe(true);
    await pub.endAsync();
    await session.stop();
  });

  it('acknowledges nothing it could not commit: the broker gives it to the next session', async () => {
    const refuse = async () => {
      throw new Error('disk full');
    };
    const first = await connected(options(broker, 'redeliver', refuse));
    const pub = await connectClient(broker.url);
    await Promise.all(Array.from({ length: 20 }, (_, i) => pub.publishAsync(`${broker.prefix}redeliver/s`, String(i), { qos: 1 })));
    await new Promise((r) => setTimeout(r, 300));
    await first.stop();

    const got: string[] = [];
    const second = await connected(
      options(broker, 'redeliver', async (messages) => {
        for (const m of messages) got.push(m.payload.toString());
      }),
    );
    expect(await eventually(() => got.length >= 20, 10_000)).toBe(true);
    expect(new Set(got)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => String(i))));
    await second.stop();
    await pub.endAsync();
  });

  it('gives up on a broker that accepts TCP but never answers, says so, and keeps trying', async () => {
    const silent = createServer(() => {}); // accepts, never sends a CONNACK
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    const errors: string[] = [];
    const session = startSession({
      ...options(broker, 'silent', async () => {}),
      url: `mqtt://127.0.0.1:${port}`,
      connectTimeoutMs: 300,
      onOffline: ({ error }) => errors.push(error ?? ''),
    });
    expect(await eventually(() => errors.length >= 2, 10_000)).toBe(true);
    expect(errors[0]).toBe('no answer from the broker within 0.3 s');
    await session.stop();
    silent.close();
  });

  it('says why a broker refuses the connection, and keeps trying', async () => {
    const errors: string[] = [];
    const session = startSession({
      ...options(broker, 'refused', async () => {}),
      url: 'mqtt://127.0.0.1:1',
      onOffline: ({ error }) => errors.push(error ?? ''),
    });
    expect(await eventually(() => errors.length >= 2, 10_000)).toBe(true);
    expect(errors[0]).toMatch(/ECONNREFUSED/);
    await session.stop();
  });
});

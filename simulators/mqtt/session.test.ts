import { randomUUID } from 'node:crypto';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { decodePayload, parseSparkplugTopic, readBdSeq } from '../../shared/sparkplug/index.js';
import { startPublisher } from '../mqtt-publisher.js';
import { buildPlant } from '../plant.js';
import { startTestBroker } from '../testing/broker.js';

async function waitFor(what: string, ready: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Sparkplug session', () => {
  it('an NBIRTH left unacknowledged when the connection drops is not sent again in the next session', async () => {
    const clientId = `mw-birth-${randomUUID().slice(0, 8)}`;
    const groupId = `mw-${randomUUID().slice(0, 8)}`;
    let held = false;
    // The broker sits on the first NBIRTH: no PUBACK, no delivery, until the connection is cut.
    const broker = await startTestBroker({
      authorizePublish: (client, packet, done) => {
        if (client?.id === clientId && packet.topic.includes('/NBIRTH/') && !held) {
          held = true;
          return;
        }
        done(null);
      },
    });
    const sub = await connectAsync(broker.url, { clean: true });
    const nbirths: number[] = [];
    sub.on('message', (topic, payload) => {
      if (parseSparkplugTopic(topic)?.messageType === 'NBIRTH') nbirths.push(readBdSeq(decodePayload(payload))!);
    });
    await sub.subscribeAsync(`spBv1.0/${groupId}/#`, { qos: 1 });
    try {
      const plant = buildPlant({ seed: 3, machines: 2 });
      const publisher = startPublisher({
        url: broker.url, clientId, seed: 3, machines: 2, steps: 30, periodMs: 1000, realtime: true, speed: 50, mode: 'sparkplug',
        sparkplug: { groupId }, maxInFlight: 5, reconnectPeriodMs: 50, log: silentLogger,
      });
      // Paced at 20 ms a step, so the run is still going when the publisher reconnects.
      await waitFor('the held NBIRTH', () => held);
      expect(broker.dropClients(clientId)).toBe(1);
      const summary = await publisher.done;
      expect(summary).toMatchObject({ ended: 'completed', unacknowledged: 0, sparkplug: { bdSeq: 1, births: 2 } });
      expect(summary.total).toBe(30 * plant.sensors.length);
      await waitFor('the second session NBIRTH', () => nbirths.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Only the new session's birth: the old one (bdSeq 0) was removed from mqtt.js's store.
      expect(nbirths).toEqual([1]);
    } finally {
      await sub.endAsync();
      await broker.close();
    }
  });
});

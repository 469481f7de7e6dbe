import type { MqttJsonReading } from '../../shared/mqtt-json.js';
import type { SensorId } from '../../shared/reading.js';
import type { SimReading } from '../generate.js';
import type { Framer, OutMessage } from './framer.js';

/**
 * The plain JSON modes, both in the format of shared/mqtt-json.ts that the edge's MQTT source
 * decodes: topic `<topicPrefix><sensor id>`, payload one reading `{"ts":…,"value":…}` or an array
 * of readings of that one sensor, `quality` only when it is not good.
 */

/** `json`: one message per reading. */
export function createJsonFramer(topicPrefix: string): Framer {
  return {
    *frame(step) {
      for (const reading of step) yield { topic: topicPrefix + reading.sensor, payload: encodePayload(reading), readings: [reading], retry: true };
    },
    *flush() {},
  };
}

/**
 * `json-batch`: each sensor's readings of `batchSteps` consecutive steps in one message, an array in
 * timestamp order. Messages drop by a factor of batchSteps; a reading waits at most batchSteps - 1
 * periods before it is sent. A run that is stopped does not send the batch it was filling.
 */
export function createJsonBatchFramer(topicPrefix: string, batchSteps: number): Framer {
  let held = new Map<SensorId, SimReading[]>();
  let stepsHeld = 0;

  function* release(): Generator<OutMessage> {
    const batches = held;
    held = new Map();
    stepsHeld = 0;
    for (const [sensor, readings] of batches) yield { topic: topicPrefix + sensor, payload: encodeBatch(readings), readings, retry: true };
  }

  return {
    *frame(step) {
      for (const reading of step) {
        const list = held.get(reading.sensor);
        if (list) list.push(reading);
        else held.set(reading.sensor, [reading]);
      }
      if (++stepsHeld >= batchSteps) yield* release();
    },
    flush: release,
  };
}

/** The shared JSON payload: `quality` only when it is not good, as the contract allows. */
export function encodePayload(reading: SimReading): string {
  const body: MqttJsonReading = { ts: reading.ts, value: reading.value };
  if (reading.quality !== undefined && reading.quality !== 'good') body.quality = reading.quality;
  return JSON.stringify(body);
}

/** An array payload: the readings of one sensor. */
export function encodeBatch(readings: readonly SimReading[]): string {
  return `[${readings.map(encodePayload).join(',')}]`;
}

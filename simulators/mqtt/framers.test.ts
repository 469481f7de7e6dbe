import { describe, expect, it } from 'vitest';
import { MqttJsonPayload } from '../../shared/mqtt-json.js';
import { DataType, decodePayload, encodePayload, readBdSeq, readValue, REBIRTH_METRIC, type Payload } from '../../shared/sparkplug/index.js';
import { generateReadings, type SimReading } from '../generate.js';
import { buildPlant } from '../plant.js';
import type { OutMessage } from './framer.js';
import { createJsonBatchFramer, createJsonFramer } from './json.js';
import { createSparkplugEdgeNode, metricDatatype, REBIRTH_ALIAS } from './sparkplug.js';

const START = Date.UTC(2025, 0, 6, 8);
const plant = buildPlant({ seed: 2, machines: 5 });
const steps = [...generateReadings(plant, { startMs: START, periodMs: 1000, steps: 3 })];
const all = <T>(it: Iterator<T>): T[] => {
  const out: T[] = [];
  for (let r = it.next(); !r.done; r = it.next()) out.push(r.value);
  return out;
};
const decoded = (m: OutMessage): Payload => decodePayload(m.payload as Buffer);

describe('json framers', () => {
  it('json: one message per reading on <prefix><sensor id>', () => {
    const messages = all(createJsonFramer('f/').frame(steps[0]!));
    expect(messages).toHaveLength(plant.sensors.length);
    expect(messages[0]).toMatchObject({ topic: `f/${plant.sensors[0]!.id}`, readings: [steps[0]![0]], retry: true });
    expect(JSON.parse(messages[0]!.payload as string)).toEqual({ ts: START, value: steps[0]![0]!.value });
  });

  it('json-batch: holds batchSteps steps, then one array per sensor; flush sends the partial batch', () => {
    const framer = createJsonBatchFramer('f/', 2);
    expect(all(framer.frame(steps[0]!))).toEqual([]);
    const batch = all(framer.frame(steps[1]!));
    expect(batch).toHaveLength(plant.sensors.length);
    const first = MqttJsonPayload.parse(JSON.parse(batch[0]!.payload as string));
    expect(first).toEqual([steps[0]![0], steps[1]![0]].map((r) => ({ ts: r!.ts, value: r!.value })));
    expect(batch[0]!.readings).toEqual([steps[0]![0], steps[1]![0]]);
    expect(all(framer.frame(steps[2]!))).toEqual([]);
    const rest = all(framer.flush());
    expect(rest.map((m) => m.readings.length)).toEqual(Array(plant.sensors.length).fill(1));
    expect(all(framer.flush())).toEqual([]);
  });
});

describe('Sparkplug edge node framer', () => {
  const newNode = () => {
    let clock = START + 500;
    return createSparkplugEdgeNode({ plant, groupId: 'plant1', edgeNodeId: 'gw', now: () => clock++ });
  };

  it('numbers sessions by bdSeq: the will of each CONNECT carries the bdSeq its NBIRTH will carry, 0..255', () => {
    const node = newNode();
    for (let session = 0; session < 258; session++) {
      const will = node.will();
      expect(will).toMatchObject({ topic: 'spBv1.0/plant1/NDEATH/gw', qos: 1, retain: false });
      node.onConnect();
      expect(readBdSeq(decodePayload(will.payload))).toBe(session % 256);
      expect(node.bdSeq).toBe(session % 256);
      node.onClose();
    }
    node.onConnect();
    expect(readBdSeq(decoded(node.death()))).toBe(node.bdSeq);
    expect(decoded(node.death()).seq).toBeUndefined();
  });

  it('births, then DBIRTH per machine with every metric at its first step, then DDATA by alias alone', () => {
    const node = newNode();
    expect(node.open).toBe(false);
    node.onConnect();
    expect(node.birthDue).toBe(true);
    const [nbirth, ...noDevices] = all(node.birth());
    expect(node.birthDue).toBe(false);
    expect(noDevices).toEqual([]); // no values yet: machines are born at their first step
    expect(nbirth).toMatchObject({ topic: 'spBv1.0/plant1/NBIRTH/gw', readings: [], retry: false });
    expect(decoded(nbirth!)).toMatchObject({ seq: 0, metrics: [{ name: 'bdSeq' }, { name: REBIRTH_METRIC, alias: REBIRTH_ALIAS, booleanValue: false }] });

    const first = all(node.frame(steps[0]!));
    expect(first.map((m) => m.topic)).toEqual(plant.machines.map((m) => `spBv1.0/plant1/DBIRTH/gw/${m.name}`));
    expect(first.flatMap((m) => m.readings)).toEqual(steps[0]);
    const birth = decoded(first[0]!);
    expect(birth.seq).toBe(1);
    expect(birth.metrics.map((m) => [m.name, m.alias, m.datatype, m.timestamp])).toEqual(
      plant.machines[0]!.sensors.map((s, i) => [s.name, i + 1, metricDatatype(s), START]),
    );
    expect(birth.metrics.map((m) => readValue(m, m.datatype!))).toEqual(steps[0]!.slice(0, plant.machines[0]!.sensors.length).map((r) => r.value));

    const second = all(node.frame(steps[1]!));
    expect(second.map((m) => m.topic)).toEqual(plant.machines.map((m) => `spBv1.0/plant1/DDATA/gw/${m.name}`));
    const data = decoded(second[0]!);
    expect(data.seq).toBe(1 + plant.machines.length);
    expect(data.metrics.every((m) => m.name === undefined && m.datatype === undefined && m.timestamp === START + 1000)).toBe(true);
    expect(data.metrics.map((m) => m.alias)).toEqual(birth.metrics.map((m) => m.alias));
  });

  it('a new session or a rebirth request reports the last values in DBIRTHs right after the NBIRTH, uncounted', () => {
    const node = newNode();
    node.onConnect();
    all(node.birth());
    all(node.frame(steps[0]!));
    expect(node.onCommand(encodePayload({ metrics: [{ alias: REBIRTH_ALIAS, booleanValue: true }] }))).toBe(true);
    expect(node.birthDue).toBe(true);
    const again = all(node.birth());
    expect(again.map((m) => m.topic.split('/')[2])).toEqual(['NBIRTH', ...plant.machines.map(() => 'DBIRTH')]);
    expect(again.flatMap((m) => m.readings)).toEqual([]);
    expect(decoded(again[0]!).seq).toBe(0);
    expect(readBdSeq(decoded(again[0]!))).toBe(0); // same MQTT session, same bdSeq
    expect(all(node.frame(steps[1]!)).every((m) => m.topic.includes('/DDATA/'))).toBe(true);

    expect(node.onCommand(encodePayload({ metrics: [{ name: 'Node Control/Reboot', booleanValue: true }] }))).toBe(false);
    expect(() => node.onCommand(Buffer.from('not protobuf'))).toThrow();
  });

  it('a sensor missing at birth is is_null at the step time; a bad reading keeps its value and says Quality 0', () => {
    const node = newNode();
    node.onConnect();
    all(node.birth());
    const [missing, bad] = plant.machines[0]!.sensors;
    const step = steps[0]!.filter((r) => r.sensor !== missing!.id).map((r): SimReading => (r.sensor === bad!.id ? { ...r, quality: 'bad' } : r));
    const birth = decoded(all(node.frame(step))[0]!);
    expect(birth.metrics[0]).toMatchObject({ name: missing!.name, isNull: true, timestamp: START });
    expect(birth.metrics[1]!.doubleValue).toBe(steps[0]![1]!.value);
    expect(birth.metrics[1]!.properties!.keys.at(-1)).toBe('Quality');
    expect(birth.metrics[1]!.properties!.values.at(-1)).toEqual({ type: DataType.Int32, intValue: 0 });
  });

  it('sends a second reading of a sensor in one step in a DDATA after the birth, and refuses sensors not in the plant', () => {
    const node = newNode();
    node.onConnect();
    all(node.birth());
    const twice = { ...steps[0]![0]!, ts: START + 1 };
    const out = all(node.frame([...steps[0]!, twice]));
    expect(out.map((m) => m.topic.split('/')[2])).toEqual(['DBIRTH', 'DDATA', ...plant.machines.slice(1).map(() => 'DBIRTH')]);
    expect(out[1]!.readings).toEqual([twice]);
    expect(() => all(node.frame([{ sensor: 'acme/plant1/x/y/z', ts: START, value: 1 }]))).toThrow(/not in the plant/);
  });

  it('refuses a value its metric datatype cannot carry instead of sending a wrong one', () => {
    const node = newNode();
    node.onConnect();
    all(node.birth());
    const counter = plant.sensors.find((s) => metricDatatype(s) === DataType.UInt64)!;
    const step = steps[0]!.map((r) => (r.sensor === counter.id ? { ...r, value: 1.5 } : r));
    expect(() => all(node.frame(step))).toThrow(new RegExp(`${counter.id}.*1\\.5`));
  });
});

import type { SensorId } from '../../shared/reading.js';
import {
  createSeqCounter, DataType, datatypeName, decodePayload, encodePayload, isRebirthRequest, nbirthPayload, ndeathPayload, qualityProperty, QUALITY_PROPERTY,
  sparkplugTopic, valueFields, type Metric, type Payload, type PropertySet, type PropertyValue,
} from '../../shared/sparkplug/index.js';
import type { SimReading } from '../generate.js';
import type { Plant, PlantSensor } from '../plant.js';
import type { Framer, OutMessage } from './framer.js';

/**
 * The plant as one Sparkplug B edge node (Sparkplug 3.0): group id = the site by default, edge node
 * id = the gateway, one device per machine (device id = machine name), one metric per sensor
 * (metric name = sensor name).
 *
 * Session: the MQTT will of every CONNECT is an NDEATH carrying the bdSeq that the session's
 * NBIRTH will carry (0, 1, … 255, 0 per successful connection). After CONNACK the edge node sends
 * NBIRTH (seq 0, bdSeq, `Node Control/Rebirth` false), then a DBIRTH for every machine with all its
 * metrics (name, alias, datatype, value, timestamp), then DDATA with aliases only. A DBIRTH right
 * after the NBIRTH reports the machine's last values (repeats, not counted again); a machine with
 * no step yet is born at its first step, with that step's readings. seq runs 0..255
 * over every message of the session and wraps. An NCMD with `Node Control/Rebirth` true restarts
 * the birth sequence with the same bdSeq. A clean stop publishes the NDEATH itself (a clean
 * DISCONNECT does not release the will).
 *
 * Aliases are fixed by the plant: 0 is `Node Control/Rebirth`, 1..n the sensors in plant order.
 * They are the same in every session, so a DDATA resent after a reconnect still reads right.
 *
 * Datatypes: analog Double; a counter UInt64 when it has no decimals (parts), Double otherwise
 * (energy in kWh with 2 decimals); a state Int32, the index into the sensor's `states`.
 *
 * Quality: a reading that is not good keeps its value and carries the property `Quality`
 * (Int32, 0 bad, 64 uncertain; 192 good is left out), the Ignition / Cirrus Link convention.
 * `is_null` is used only for a sensor that has no value to give in a DBIRTH (its reading is
 * missing, e.g. a dropout, or no step has run yet).
 *
 * BIRTH metrics also carry the properties `engUnit`, `engLow`, `engHigh` (Ignition's names for the
 * engineering unit and range) and `sensorId`, the sensor's Unified-Namespace id, so that a host can
 * map a metric to the same id the JSON modes use.
 *
 * Deviations, on purpose: BIRTH and DATA go with QoS 1, not the QoS 0 the specification requires
 * (tck-id-payloads-nbirth-qos, -dbirth-qos, -ddata-qos), because the publisher counts a reading only
 * on its PUBACK and the edge acknowledges only after commit. Messages resent after a reconnect
 * (QoS 1 redelivery) keep the seq they were numbered with, so a host sees them out of sequence.
 */

export interface SparkplugNodeOptions {
  plant: Plant;
  groupId: string;
  edgeNodeId: string;
  /** Wall clock for payload timestamps ("when the message was sent"); metric timestamps are the readings'. */
  now?: () => number;
}

export interface SparkplugEdgeNode extends Framer {
  readonly groupId: string;
  readonly edgeNodeId: string;
  /** The NCMD topic the edge node subscribes to for rebirth requests. */
  readonly commandTopic: string;
  /** bdSeq of the current (or, before the first CONNACK, the next) session. */
  readonly bdSeq: number;
  /** Birth sequences started (first connection, reconnects, rebirth requests). */
  readonly births: number;
  /** A session is open: its NBIRTH may go out, and after it device messages. */
  readonly open: boolean;
  /** A birth sequence is owed: send `birth()` before any further device message. */
  readonly birthDue: boolean;
  /** The MQTT will for the next CONNECT: NDEATH with the bdSeq that session's NBIRTH will carry. */
  will(): { topic: string; payload: Buffer; qos: 1; retain: false };
  /** CONNACK arrived: a session with the will's bdSeq is open and owes its births. */
  onConnect(): void;
  onClose(): void;
  /** An NCMD arrived; true when it asked for a rebirth (owed from now on). Throws on a bad payload. */
  onCommand(payload: Uint8Array): boolean;
  /** NBIRTH, then a DBIRTH for each machine that has values (the others are born at their first step). */
  birth(): Iterator<OutMessage>;
  /** The NDEATH to publish before a clean disconnect. */
  death(): OutMessage;
}

/** Alias of `Node Control/Rebirth`; sensor aliases start after it. */
export const REBIRTH_ALIAS = 0;

interface MetricLayout {
  readonly name: string;
  readonly alias: number;
  readonly datatype: number;
  readonly birthProperties: PropertySet;
}

interface DeviceLayout {
  readonly birthTopic: string;
  readonly dataTopic: string;
  readonly metrics: readonly MetricLayout[];
}

export function createSparkplugEdgeNode(opts: SparkplugNodeOptions): SparkplugEdgeNode {
  const { plant, groupId, edgeNodeId } = opts;
  const now = opts.now ?? Date.now;
  const topic = (messageType: 'NBIRTH' | 'NDEATH' | 'NCMD') => sparkplugTopic({ groupId, messageType, edgeNodeId });
  const nbirthTopic = topic('NBIRTH');
  const ndeathTopic = topic('NDEATH');

  // Where each sensor's readings go: device (machine) index and metric index within it.
  const slots = new Map<SensorId, { device: number; metric: number }>();
  let alias = REBIRTH_ALIAS;
  const devices: DeviceLayout[] = plant.machines.map((machine, d) => ({
    birthTopic: sparkplugTopic({ groupId, messageType: 'DBIRTH', edgeNodeId, deviceId: machine.name }),
    dataTopic: sparkplugTopic({ groupId, messageType: 'DDATA', edgeNodeId, deviceId: machine.name }),
    metrics: machine.sensors.map((sensor, m) => {
      slots.set(sensor.id, { device: d, metric: m });
      return { name: sensor.name, alias: ++alias, datatype: metricDatatype(sensor), birthProperties: birthProperties(sensor) };
    }),
  }));

  const seq = createSeqCounter();
  const born = new Uint8Array(devices.length);
  // The last readings framed per machine: the values a rebirth reports as current.
  const last: Array<readonly SimReading[] | undefined> = new Array(devices.length);
  let nextBdSeq = 0; // carried by the will of the next CONNECT
  let bdSeq = 0;
  let births = 0;
  let open = false;
  let birthDue = false;

  function message(topicName: string, payload: Payload, readings: readonly SimReading[], retry = true): OutMessage {
    const bytes = encodePayload(payload);
    return { topic: topicName, payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), readings, retry };
  }

  /**
   * DBIRTH: every metric of the machine, with its reading of this step or is_null. A second reading
   * of one sensor in the same step does not fit a birth: it is returned to go in a DDATA after it.
   */
  function dbirth(d: number, readings: readonly SimReading[], counted: boolean, stepTs: number | undefined): { out: OutMessage; extra: SimReading[] } {
    const device = devices[d]!;
    const byMetric: Array<SimReading | undefined> = new Array(device.metrics.length);
    const extra: SimReading[] = [];
    for (const r of readings) {
      const m = slots.get(r.sensor)!.metric;
      if (byMetric[m] === undefined) byMetric[m] = r;
      else extra.push(r);
    }
    const ts = now();
    // A metric with no value is stamped with the step's (simulated) time, like its neighbours.
    const nullTs = stepTs ?? readings[0]?.ts ?? ts;
    const metrics = device.metrics.map((layout, m): Metric => {
      const r = byMetric[m];
      const metric: Metric = { name: layout.name, alias: layout.alias, timestamp: r?.ts ?? nullTs, datatype: layout.datatype, properties: layout.birthProperties };
      if (!r) return { ...metric, isNull: true };
      if (r.quality !== undefined && r.quality !== 'good') {
        metric.properties = { keys: [...layout.birthProperties.keys, QUALITY_PROPERTY], values: [...layout.birthProperties.values, qualityProperty(r.quality)] };
      }
      return Object.assign(metric, value(layout, r));
    });
    born[d] = 1;
    const sent = counted ? byMetric.filter((r): r is SimReading => r !== undefined) : [];
    return { out: message(device.birthTopic, { timestamp: ts, seq: seq.next(), metrics }, sent), extra: counted ? extra : [] };
  }

  /** DDATA: the readings by alias alone, no name, no datatype (tck-id-payloads-alias-data-cmd-requirement). */
  function ddata(d: number, readings: readonly SimReading[]): OutMessage {
    const device = devices[d]!;
    const metrics = readings.map((r): Metric => {
      const layout = device.metrics[slots.get(r.sensor)!.metric]!;
      const metric: Metric = { alias: layout.alias, timestamp: r.ts, ...value(layout, r) };
      if (r.quality !== undefined && r.quality !== 'good') metric.properties = { keys: [QUALITY_PROPERTY], values: [qualityProperty(r.quality)] };
      return metric;
    });
    return message(device.dataTopic, { timestamp: now(), seq: seq.next(), metrics }, readings);
  }

  return {
    groupId,
    edgeNodeId,
    commandTopic: topic('NCMD'),
    get bdSeq() {
      return bdSeq;
    },
    get births() {
      return births;
    },
    get open() {
      return open;
    },
    get birthDue() {
      return birthDue;
    },

    will() {
      const bytes = encodePayload(ndeathPayload(nextBdSeq, now()));
      return { topic: ndeathTopic, payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), qos: 1, retain: false };
    },

    onConnect() {
      bdSeq = nextBdSeq;
      nextBdSeq = (nextBdSeq + 1) % 256;
      open = true;
      birthDue = true;
    },

    onClose() {
      open = false;
      birthDue = false;
    },

    onCommand(payload) {
      if (!isRebirthRequest(decodePayload(payload), REBIRTH_ALIAS)) return false;
      if (open) birthDue = true;
      return true;
    },

    *birth() {
      birthDue = false;
      births++;
      born.fill(0);
      const ts = now();
      yield message(nbirthTopic, { ...nbirthPayload({ bdSeq, timestamp: ts, rebirthAlias: REBIRTH_ALIAS }), seq: seq.birth() }, [], false);
      for (let d = 0; d < devices.length; d++) {
        const readings = last[d];
        if (readings && !born[d]) yield dbirth(d, readings, false, undefined).out;
      }
    },

    death() {
      const bytes = encodePayload(ndeathPayload(bdSeq, now()));
      return { topic: ndeathTopic, payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), readings: [], retry: false };
    },

    *frame(step) {
      const byDevice: Array<SimReading[] | undefined> = new Array(devices.length);
      const stepTs = step[0]?.ts;
      for (const r of step) {
        const slot = slots.get(r.sensor);
        if (!slot) throw new Error(`a reading of sensor ${r.sensor}, which is not in the plant, cannot be sent over Sparkplug`);
        (byDevice[slot.device] ??= []).push(r);
      }
      // Each message is built when the publisher pulls it, so `born` and seq are those of the
      // session it goes out in.
      for (let d = 0; d < devices.length; d++) {
        const readings = byDevice[d];
        if (readings) last[d] = readings;
        if (!born[d]) {
          const { out, extra } = dbirth(d, readings ?? [], true, stepTs);
          yield out;
          if (extra.length > 0) yield ddata(d, extra);
        } else if (readings) {
          yield ddata(d, readings);
        }
      }
    },

    *flush() {},
  };
}

/** The Sparkplug datatype of a sensor's metric. */
export function metricDatatype(sensor: Pick<PlantSensor, 'kind' | 'decimals' | 'range'>): number {
  if (sensor.kind === 'state') return DataType.Int32;
  if (sensor.kind === 'counter' && sensor.decimals === 0) return sensor.range[0] >= 0 ? DataType.UInt64 : DataType.Int64;
  return DataType.Double;
}

function value(layout: MetricLayout, r: SimReading): Metric {
  if (layout.datatype === DataType.Double) return { doubleValue: r.value };
  try {
    return valueFields(layout.datatype, r.value);
  } catch (err) {
    throw new Error(`sensor ${r.sensor} is typed ${datatypeName(layout.datatype)} in its DBIRTH but read ${r.value}: ${(err as Error).message}`);
  }
}

function birthProperties(sensor: PlantSensor): PropertySet {
  const keys = ['sensorId', 'engLow', 'engHigh'];
  const values: PropertyValue[] = [
    { type: DataType.String, stringValue: sensor.id },
    { type: DataType.Double, doubleValue: sensor.range[0] },
    { type: DataType.Double, doubleValue: sensor.range[1] },
  ];
  if (sensor.unit !== '') {
    keys.push('engUnit');
    values.push({ type: DataType.String, stringValue: sensor.unit });
  }
  return { keys, values };
}

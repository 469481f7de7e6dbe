import type { Quality } from '../reading.js';
import { DataType, readValue, type Metric, type MetricValue, type Payload } from './payload.js';

/**
 * The session rules of Sparkplug 3.0 that both ends need: bdSeq and seq numbering, the NBIRTH and
 * NDEATH an edge node must send, metric aliases, and the quality property convention.
 */

/** Birth/death sequence metric, in NBIRTH and NDEATH (3.0 §6.4.19, tck-id-payloads-nbirth-bdseq). */
export const BD_SEQ_METRIC = 'bdSeq';
/** Every NBIRTH carries it as Boolean false; a host sets it true in an NCMD to ask for a rebirth. */
export const REBIRTH_METRIC = 'Node Control/Rebirth';

/**
 * seq and bdSeq both count 0..255 and wrap to 0 (tck-id-payloads-dbirth-seq-inc,
 * tck-id-payloads-nbirth-bdseq-inc). seq counts every message an edge node sends in a session
 * except NDEATH; NBIRTH is always 0 (tck-id-payloads-nbirth-seq). bdSeq counts MQTT sessions.
 */
export const SEQ_MODULUS = 256;
export const nextSeq = (seq: number): number => (seq + 1) % SEQ_MODULUS;

/** The edge node's seq: `birth()` for an NBIRTH (0), `next()` for every message after it. */
export interface SeqCounter {
  birth(): number;
  next(): number;
  /** The seq the last message carried. */
  readonly last: number;
}

export function createSeqCounter(): SeqCounter {
  let last = SEQ_MODULUS - 1; // so that a message before any NBIRTH would still be 0
  return {
    birth: () => (last = 0),
    next: () => (last = nextSeq(last)),
    get last() {
      return last;
    },
  };
}

/** The bdSeq metric; UInt64 as in the specification's examples. */
export function bdSeqMetric(bdSeq: number, timestamp: number): Metric {
  return { name: BD_SEQ_METRIC, timestamp, datatype: DataType.UInt64, longValue: bdSeq };
}

/**
 * An NDEATH payload: the bdSeq metric and nothing else, and no seq (tck-id-topics-ndeath-payload,
 * tck-id-payloads-ndeath-seq). Registered as the MQTT will at CONNECT, with the bdSeq the NBIRTH of
 * that session will carry, so a host can tell which session died.
 */
export function ndeathPayload(bdSeq: number, timestamp: number): Payload {
  return { timestamp, metrics: [bdSeqMetric(bdSeq, timestamp)] };
}

/**
 * An NBIRTH payload: seq 0, the bdSeq of this MQTT session, `Node Control/Rebirth` false, then the
 * node's own metrics (tck-id-payloads-nbirth-*).
 */
export function nbirthPayload(opts: { bdSeq: number; timestamp: number; rebirthAlias?: number; metrics?: Metric[] }): Payload {
  const { bdSeq, timestamp } = opts;
  const rebirth: Metric = { name: REBIRTH_METRIC, timestamp, datatype: DataType.Boolean, booleanValue: false };
  if (opts.rebirthAlias !== undefined) rebirth.alias = opts.rebirthAlias;
  return { timestamp, seq: 0, metrics: [bdSeqMetric(bdSeq, timestamp), rebirth, ...(opts.metrics ?? [])] };
}

/** The bdSeq of an NBIRTH or NDEATH, or undefined when it has none. */
export function readBdSeq(payload: Payload): number | undefined {
  const metric = payload.metrics.find((m) => m.name === BD_SEQ_METRIC);
  if (!metric) return undefined;
  const v = readValue(metric, metric.datatype ?? DataType.UInt64);
  return typeof v === 'number' ? v : undefined;
}

/** Whether an NCMD asks for a rebirth: `Node Control/Rebirth` true, by name or by its alias. */
export function isRebirthRequest(ncmd: Payload, rebirthAlias?: number): boolean {
  return ncmd.metrics.some(
    (m) => (m.name === REBIRTH_METRIC || (m.name === undefined && rebirthAlias !== undefined && m.alias === rebirthAlias)) && m.booleanValue === true,
  );
}

// --- aliases -------------------------------------------------------------------------------

export interface MetricDefinition {
  name: string;
  datatype: number;
  /** Undefined for the edge node's own metrics. */
  deviceId?: string;
  /** The BIRTH metric's property set, as sent. */
  properties?: Metric['properties'];
}

/**
 * A host's view of one edge node's aliases. NBIRTH and DBIRTH define them, each with its name and
 * datatype (tck-id-payloads-alias-birth-requirement, tck-id-payloads-metric-datatype-req); DATA
 * messages then carry the alias alone (tck-id-payloads-alias-data-cmd-requirement) and usually no
 * datatype, so reading a value needs the table. An alias is unique across the edge node's whole
 * set of metrics, devices included. A new NBIRTH starts a fresh table.
 */
export interface AliasTable {
  /** Learns a BIRTH's aliases; returns what was wrong with it (those metrics are skipped). */
  learnBirth(birth: Payload, deviceId?: string): string[];
  resolve(metric: Metric): MetricDefinition | undefined;
  readonly size: number;
}

export function createAliasTable(): AliasTable {
  const byAlias = new Map<number, MetricDefinition>();
  return {
    learnBirth(birth, deviceId) {
      const problems: string[] = [];
      if (deviceId === undefined) byAlias.clear();
      else for (const [alias, def] of byAlias) if (def.deviceId === deviceId) byAlias.delete(alias);
      for (const m of birth.metrics) {
        if (m.alias === undefined) continue; // allowed: a metric that is only ever sent by name
        if (m.name === undefined || m.datatype === undefined) {
          problems.push(`alias ${m.alias} has no ${m.name === undefined ? 'name' : 'datatype'} in its BIRTH`);
          continue;
        }
        const taken = byAlias.get(m.alias);
        if (taken) {
          problems.push(`alias ${m.alias} of "${m.name}" is already "${taken.name}"${taken.deviceId ? ` of device ${taken.deviceId}` : ''}`);
          continue;
        }
        const def: MetricDefinition = { name: m.name, datatype: m.datatype };
        if (deviceId !== undefined) def.deviceId = deviceId;
        if (m.properties) def.properties = m.properties;
        byAlias.set(m.alias, def);
      }
      return problems;
    },
    resolve(metric) {
      return metric.alias === undefined ? undefined : byAlias.get(metric.alias);
    },
    get size() {
      return byAlias.size;
    },
  };
}

/** A DATA metric's value through the table: name, value read with the BIRTH's datatype. */
export function resolveMetric(metric: Metric, table: AliasTable): { name: string; value: MetricValue | null; definition: MetricDefinition } | undefined {
  const definition = metric.name !== undefined && metric.datatype !== undefined
    ? { name: metric.name, datatype: metric.datatype }
    : table.resolve(metric);
  if (!definition) return undefined;
  return { name: definition.name, value: readValue(metric, metric.datatype ?? definition.datatype), definition };
}

// --- quality -------------------------------------------------------------------------------

/**
 * Sparkplug has no quality field. The convention of Ignition and Cirrus Link's modules is a
 * metric property named "Quality", Int32, holding an OPC-style quality code: 192 good, 64
 * uncertain, 0 bad. A metric without it is good.
 */
export const QUALITY_PROPERTY = 'Quality';
export const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 192, uncertain: 64, bad: 0 };

/** The property value for a quality, to put under QUALITY_PROPERTY. */
export function qualityProperty(quality: Quality): { type: number; intValue: number } {
  return { type: DataType.Int32, intValue: QUALITY_CODE[quality] };
}

/** The quality a metric carries: good without the property; OPC classes by the top two bits. */
export function readQuality(metric: Metric): Quality {
  const props = metric.properties;
  if (!props) return 'good';
  const i = props.keys.indexOf(QUALITY_PROPERTY);
  const v = i < 0 ? undefined : props.values[i];
  if (!v) return 'good';
  const code = readValue(v, v.type ?? DataType.Int32);
  if (typeof code !== 'number') return 'bad';
  // OPC DA quality: bits 7..6 are the class (11 good, 01 uncertain, 00 bad).
  const cls = code & 0xc0;
  return cls === 0xc0 ? 'good' : cls === 0x40 ? 'uncertain' : 'bad';
}

/** The Sparkplug B payload as this codec exposes it (see payload.ts). */

/** The scalar value fields of a metric or property value (a protobuf `oneof`: at most one is set). */
export interface ScalarFields {
  /** `uint32` on the wire: Int8/16/32 travel as their two's complement. */
  intValue?: number;
  /** `uint64` on the wire: Int64 travels as its two's complement. Decoded as a bigint. */
  longValue?: number | bigint;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface PropertyValue extends ScalarFields {
  type?: number;
  isNull?: boolean;
}

export interface PropertySet {
  keys: string[];
  values: PropertyValue[];
}

export interface Metric extends ScalarFields {
  /** In BIRTH messages; absent in DATA messages when aliases are used (3.0 §6.4.6). */
  name?: string;
  alias?: number;
  /** ms since the epoch, UTC. */
  timestamp?: number;
  datatype?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
  properties?: PropertySet;
  bytesValue?: Uint8Array;
}

export interface Payload {
  /** ms since the epoch, UTC: when the message was sent. */
  timestamp?: number;
  metrics: Metric[];
  /** 0..255; absent only in NDEATH. */
  seq?: number;
  uuid?: string;
  body?: Uint8Array;
}

import { z } from 'zod';
import { Severity } from './finding.js';
import { EpochMs, SensorId } from './reading.js';

const Id = z.string().regex(/^[0-9a-f]{32}$/);
const Who = z.string().min(1).max(128);

/** An operator's or manager's acknowledgement: seen, someone is on it. Does not clear the alarm. */
export const AlarmAck = z.strictObject({
  by: Who.describe('who acknowledged: a token name or user'),
  at: EpochMs,
  note: z.string().max(2000).optional(),
});
export type AlarmAck = z.infer<typeof AlarmAck>;

/**
 * One incident, as raised on an edge (ISA-18.2's two axes): `state` says whether the condition is
 * still there, `ack` whether a person has seen it. An alarm is done once cleared and acknowledged.
 * Every change is a new version of the same id; `updatedAt` orders the versions.
 */
export const Alarm = z.strictObject({
  id: Id.describe('deterministic per incident, like a finding id'),
  subject: SensorId.describe('the sensor or asset path'),
  severity: Severity,
  state: z.enum(['active', 'cleared']),
  raisedAt: EpochMs,
  updatedAt: EpochMs,
  clearedAt: EpochMs.optional(),
  ack: AlarmAck.optional(),
  findingId: Id.optional().describe('the finding that raised it'),
  message: z.string().max(2000),
});
export type Alarm = z.infer<typeof Alarm>;

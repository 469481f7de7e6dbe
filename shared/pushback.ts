import { z } from 'zod';
import { EpochMs } from './reading.js';

/**
 * The channel back from the cloud to an edge (issue 5): remote configuration, trained models and
 * managers' alarm acknowledgements ride in the reply to the edge's requests (every ingest batch and
 * a periodic poll), and the edge says in each request what it has applied. Everything is versioned
 * and idempotent: a reply lost or repeated changes nothing on either side.
 */

const Int = z.number().int();
export const ModelName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits, _ . - (starting with a letter or digit)');

/**
 * The settings a cloud may change on a running edge, as dotted paths of the edge config. Anything
 * else stays with the gateway's own file: a cloud cannot point a gateway at another broker.
 */
export const RemoteSettings = z.strictObject({
  'sync.batchSize': z.number().int().min(1).max(100_000).optional(),
  'sync.intervalMs': z.number().int().min(10).optional(),
  'sync.maxBytesPerSecond': z.number().int().min(0).optional(),
});
export type RemoteSettings = z.infer<typeof RemoteSettings>;

export const ConfigPush = z.strictObject({
  version: Int.min(1),
  settings: z.record(z.string(), z.unknown()).describe('checked by the edge against RemoteSettings'),
});
export type ConfigPush = z.infer<typeof ConfigPush>;

export const ModelPush = z.strictObject({
  name: ModelName,
  version: Int.min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: Int.min(1),
  /** Path on the cloud to GET it from with the gateway token, e.g. /v1/models/rul/3. */
  path: z.string().regex(/^\/v1\/models\/[^/]+\/\d+$/),
});
export type ModelPush = z.infer<typeof ModelPush>;

export const AckPush = z.strictObject({
  alarmId: z.string().regex(/^[0-9a-f]{32}$/),
  by: z.string().min(1).max(128),
  at: EpochMs,
  note: z.string().max(2000).optional(),
});
export type AckPush = z.infer<typeof AckPush>;

/** Things the cloud hands back to an edge in a reply. */
export const Pushback = z.strictObject({
  config: ConfigPush.optional(),
  models: z.array(ModelPush).max(100).optional(),
  alarmAcks: z.array(AckPush).max(1000).optional(),
});
export type Pushback = z.infer<typeof Pushback>;

/**
 * The valid parts of a pushback, each item checked on its own; anything else is dropped. A reply
 * carries a batch's acknowledgement too: one malformed acknowledgement (a name too long, say)
 * must never make the whole reply unreadable, or the edge would resend that batch forever.
 */
export function sanitizePushback(raw: unknown): Pushback | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as { config?: unknown; models?: unknown; alarmAcks?: unknown };
  const out: Pushback = {};
  const config = ConfigPush.safeParse(r.config);
  if (config.success) out.config = config.data;
  const valid = <T>(schema: z.ZodType<T>, list: unknown, max: number): T[] =>
    (Array.isArray(list) ? list : []).flatMap((x) => {
      const p = schema.safeParse(x);
      return p.success ? [p.data] : [];
    }).slice(0, max);
  const models = valid(ModelPush, r.models, 100);
  if (models.length > 0) out.models = models;
  const acks = valid(AckPush, r.alarmAcks, 1000);
  if (acks.length > 0) out.alarmAcks = acks;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A reply's `push` as received: read leniently (sanitizePushback). */
export const PushbackField = z.unknown().optional().transform(sanitizePushback);

/** What the edge has applied, sent with every request so the cloud pushes only what is new. */
export const Applied = z.strictObject({
  config: z.strictObject({
    version: Int.min(0).describe('remote config version in force; 0: none'),
    refused: z
      .strictObject({ version: Int.min(1), reason: z.string().max(2000) })
      .optional()
      .describe('the last version the edge refused, and why; not pushed again'),
  }),
  models: z.record(ModelName, Int.min(1)).describe('model name → version installed'),
  alarmAcks: z.array(z.string().regex(/^[0-9a-f]{32}$/)).max(1000).describe('acknowledgements handled since the last reply'),
});
export type Applied = z.infer<typeof Applied>;

/** `POST /v1/poll`: a caught-up edge asks for what is new (and says it is alive). */
export const Poll = z.strictObject({
  gateway: z.string().min(1).max(64),
  sentAt: EpochMs,
  applied: Applied,
});
export type Poll = z.infer<typeof Poll>;

export const PollReply = z.strictObject({ cloudTime: EpochMs, push: PushbackField });
export type PollReply = Omit<z.output<typeof PollReply>, 'push'> & { push?: Pushback };

import { createHash } from 'node:crypto';
import { AckPush, ModelName, RemoteSettings, sanitizePushback, type Applied, type Pushback } from '../../shared/pushback.js';
import { describeIssues } from '../../shared/config-load.js';
import type { Queryable } from './connect.js';

export class PushbackError extends Error {
  constructor(
    readonly code: 'UNKNOWN_GATEWAY' | 'INVALID_SETTINGS' | 'INVALID_MODEL' | 'INVALID_ACK',
    message: string,
  ) {
    super(message);
    this.name = 'PushbackError';
  }
}

async function gatewayExists(q: Queryable, gateway: string): Promise<void> {
  const r = await q.query('SELECT 1 FROM gateways WHERE id = $1', [gateway]);
  if (r.rowCount === 0) throw new PushbackError('UNKNOWN_GATEWAY', `no gateway "${gateway}"; see "millwright cloud gateway list"`);
}

/**
 * Replaces a gateway's remote settings; returns the new version. Checked here against the same
 * schema the edge applies, so a typo is refused at the desk rather than on the plant floor.
 */
export async function setGatewayConfig(q: Queryable, gateway: string, settings: unknown, by?: string): Promise<number> {
  const parsed = RemoteSettings.safeParse(settings);
  if (!parsed.success) throw new PushbackError('INVALID_SETTINGS', `settings are not valid: ${describeIssues(parsed.error.issues).join('; ')}`);
  await gatewayExists(q, gateway);
  const r = await q.query<{ version: number }>(
    `INSERT INTO gateway_config (gateway, version, settings, updated_by) VALUES ($1, 1, $2, $3)
     ON CONFLICT (gateway) DO UPDATE SET version = gateway_config.version + 1, settings = excluded.settings,
       updated_at = now(), updated_by = excluded.updated_by
     RETURNING version`,
    [gateway, JSON.stringify(parsed.data), by ?? null],
  );
  return r.rows[0]!.version;
}

/** Stores a model file as the next version of `name`, for one site or (site absent) every site. */
export async function publishModel(q: Queryable, m: { name: string; content: Buffer; site?: string }): Promise<{ version: number; sha256: string }> {
  const name = ModelName.safeParse(m.name);
  if (!name.success) throw new PushbackError('INVALID_MODEL', `model name "${m.name}": ${name.error.issues[0]?.message ?? 'not valid'}`);
  if (m.content.length === 0) throw new PushbackError('INVALID_MODEL', 'the model file is empty');
  const sha256 = createHash('sha256').update(m.content).digest('hex');
  // The next version is taken under the primary key: two publishers at once get 23505, not a clash.
  const r = await q.query<{ version: number }>(
    `INSERT INTO models (name, version, site, sha256, bytes, content)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5 FROM models WHERE name = $1
     RETURNING version`,
    [m.name, m.site ?? null, sha256, m.content.length, m.content],
  );
  return { version: r.rows[0]!.version, sha256 };
}

/** Queues a manager's acknowledgement for the gateway that raised the alarm. */
export async function requestAlarmAck(q: Queryable, a: { gateway: string; alarmId: string; by: string; note?: string; at?: Date }): Promise<void> {
  const check = AckPush.safeParse({ alarmId: a.alarmId, by: a.by, at: (a.at ?? new Date()).getTime(), ...(a.note !== undefined ? { note: a.note } : {}) });
  if (!check.success) throw new PushbackError('INVALID_ACK', `the acknowledgement is not valid: ${describeIssues(check.error.issues).join('; ')}`);
  await gatewayExists(q, a.gateway);
  await q.query(
    `INSERT INTO alarm_acks (gateway, alarm_id, by, at, note) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (gateway, alarm_id) DO UPDATE SET by = excluded.by, at = excluded.at, note = excluded.note, delivered_at = NULL`,
    [a.gateway, a.alarmId, a.by, a.at ?? new Date(), a.note ?? null],
  );
}

/** A model file, if it is meant for this gateway's site. */
export async function modelFor(q: Queryable, gateway: string, name: string, version: number): Promise<Buffer | undefined> {
  const r = await q.query<{ content: Buffer }>(
    `SELECT m.content FROM models m JOIN gateways g ON g.id = $1
      WHERE m.name = $2 AND m.version = $3 AND (m.site IS NULL OR m.site = g.site)`,
    [gateway, name, version],
  );
  return r.rows[0]?.content;
}

/**
 * Notes what the gateway says it applied, and returns what it has yet to get: a newer config than
 * it has (and did not refuse), newer models for its site, acknowledgements not yet handled.
 */
export async function exchangePushback(q: Queryable, gateway: string, applied: Applied): Promise<Pushback | undefined> {
  await q.query(
    `UPDATE gateways SET config_applied = $2, config_refused = $3, models_applied = $4 WHERE id = $1`,
    [gateway, applied.config.version, applied.config.refused ? JSON.stringify(applied.config.refused) : null, JSON.stringify(applied.models)],
  );
  if (applied.alarmAcks.length > 0) {
    await q.query(`UPDATE alarm_acks SET delivered_at = now() WHERE gateway = $1 AND alarm_id = ANY($2::text[]) AND delivered_at IS NULL`, [
      gateway,
      applied.alarmAcks,
    ]);
  }
  const push: Pushback = {};
  const cfg = await q.query<{ version: number; settings: Record<string, unknown> }>('SELECT version, settings FROM gateway_config WHERE gateway = $1', [gateway]);
  const c = cfg.rows[0];
  if (c && c.version > applied.config.version && c.version !== applied.config.refused?.version) push.config = { version: c.version, settings: c.settings };
  const models = await q.query<{ name: string; version: number; sha256: string; bytes: number }>(
    `SELECT DISTINCT ON (m.name) m.name, m.version, m.sha256, m.bytes
       FROM models m JOIN gateways g ON g.id = $1
      WHERE m.site IS NULL OR m.site = g.site
      ORDER BY m.name, m.version DESC`,
    [gateway],
  );
  const newer = models.rows.filter((m) => m.version > (applied.models[m.name] ?? 0));
  if (newer.length > 0) push.models = newer.map((m) => ({ ...m, path: `/v1/models/${m.name}/${m.version}` }));
  const acks = await q.query<{ alarm_id: string; by: string; at: Date; note: string | null }>(
    'SELECT alarm_id, by, at, note FROM alarm_acks WHERE gateway = $1 AND delivered_at IS NULL ORDER BY at LIMIT 1000',
    [gateway],
  );
  if (acks.rows.length > 0) {
    push.alarmAcks = acks.rows.map((a) => ({ alarmId: a.alarm_id, by: a.by, at: a.at.getTime(), ...(a.note ? { note: a.note } : {}) }));
  }
  // Rows written by hand or by a newer cloud may not fit the schema the edge reads: drop those
  // items rather than send a reply the edge cannot read.
  return sanitizePushback(push);
}

import { createHash, randomBytes } from 'node:crypto';
import { GatewayId } from '../../shared/sync.js';
import type { Queryable } from './connect.js';

/** A gateway as the cloud knows it. Tokens are never stored, only their SHA-256. */
export interface GatewayRow {
  id: string;
  site: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastSeenAt: Date | null;
  lastClockOffsetMs: number | null;
  /** Software version the gateway last reported, and its readings backlog then. */
  version: string | null;
  lag: { records: number; seconds: number } | null;
  /** What the gateway last reported it applied of the pushback (cloud/db/pushback.ts). */
  applied: { config: number; refused: { version: number; reason: string } | null; models: Record<string, number> };
}

export class GatewayError extends Error {
  constructor(
    readonly code: 'GATEWAY_EXISTS' | 'GATEWAY_INVALID' | 'TOKEN_IN_USE',
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

const TOKEN_PREFIX = 'mwg_';
/** Shorter caller-supplied tokens are refused: a guessable token is no authentication. */
export const MIN_TOKEN_LENGTH = 16;

export function newGatewayToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256 is enough here: tokens are 256 random bits, not passwords, so no slow hash is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function checkIdentity(id: string, site: string): void {
  const parsed = GatewayId.safeParse(id);
  if (!parsed.success) throw new GatewayError('GATEWAY_INVALID', `gateway id "${id}" is not valid: ${parsed.error.issues[0]?.message ?? 'bad id'}`);
  if (site.length < 1 || site.length > 64) throw new GatewayError('GATEWAY_INVALID', 'site must be 1 to 64 characters');
}

function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** Adds a new gateway and returns its token, which exists nowhere else: show it once. */
export async function addGateway(q: Queryable, g: { id: string; site: string }): Promise<{ id: string; site: string; token: string }> {
  checkIdentity(g.id, g.site);
  const token = newGatewayToken();
  try {
    await q.query('INSERT INTO gateways (id, site, token_hash) VALUES ($1, $2, $3)', [g.id, g.site, hashToken(token)]);
  } catch (err) {
    if (isUniqueViolation(err, 'gateways_pkey')) {
      throw new GatewayError('GATEWAY_EXISTS', `gateway "${g.id}" already exists; revoke it and pick another id, or use its existing token`);
    }
    throw err;
  }
  return { id: g.id, site: g.site, token };
}

/**
 * Registers a gateway with a token the caller chose (the demo provisions both sides at once).
 * Idempotent: registering the same id again sets its site and token and lifts a revocation.
 */
export async function registerGateway(q: Queryable, g: { id: string; site: string; token: string }): Promise<void> {
  checkIdentity(g.id, g.site);
  if (g.token.length < MIN_TOKEN_LENGTH) throw new GatewayError('GATEWAY_INVALID', `a gateway token needs at least ${MIN_TOKEN_LENGTH} characters`);
  try {
    await q.query(
      `INSERT INTO gateways (id, site, token_hash) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET site = excluded.site, token_hash = excluded.token_hash, revoked_at = NULL`,
      [g.id, g.site, hashToken(g.token)],
    );
  } catch (err) {
    if (isUniqueViolation(err, 'gateways_token_hash_key')) {
      throw new GatewayError('TOKEN_IN_USE', 'that token already belongs to another gateway; every gateway needs its own');
    }
    throw err;
  }
}

/** The gateway a bearer token belongs to, unless it is revoked. */
export async function findGatewayByToken(q: Queryable, token: string): Promise<{ id: string; site: string } | undefined> {
  const r = await q.query<{ id: string; site: string }>(
    'SELECT id, site FROM gateways WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(token)],
  );
  return r.rows[0];
}

interface GatewayDbRow {
  id: string;
  site: string;
  created_at: Date;
  revoked_at: Date | null;
  last_seen_at: Date | null;
  last_clock_offset_ms: string | null;
  version: string | null;
  lag_records: string | null;
  lag_seconds: number | null;
  config_applied: number;
  config_refused: { version: number; reason: string } | null;
  models_applied: Record<string, number>;
}

export async function listGateways(q: Queryable): Promise<GatewayRow[]> {
  const r = await q.query<GatewayDbRow>(
    `SELECT id, site, created_at, revoked_at, last_seen_at, last_clock_offset_ms, version, lag_records, lag_seconds,
            config_applied, config_refused, models_applied FROM gateways ORDER BY id`,
  );
  return r.rows.map((row) => ({
    id: row.id,
    site: row.site,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastSeenAt: row.last_seen_at,
    lastClockOffsetMs: row.last_clock_offset_ms === null ? null : Number(row.last_clock_offset_ms),
    version: row.version,
    lag: row.lag_records === null || row.lag_seconds === null ? null : { records: Number(row.lag_records), seconds: row.lag_seconds },
    applied: { config: row.config_applied, refused: row.config_refused, models: row.models_applied },
  }));
}

/** Revokes a gateway's token; its data stays. False when the id is unknown or already revoked. */
export async function revokeGateway(q: Queryable, id: string): Promise<boolean> {
  const r = await q.query('UPDATE gateways SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Records that the gateway was heard from, how far its clock is from ours, and what it said about
 * itself (absent fields keep their last value: a findings batch says nothing of the readings lag).
 */
export async function touchGateway(
  q: Queryable,
  id: string,
  seen: { at: Date; clockOffsetMs: number; version?: string; lag?: { records: number; seconds: number } },
): Promise<void> {
  await q.query(
    `UPDATE gateways SET last_seen_at = GREATEST(last_seen_at, $2), last_clock_offset_ms = $3,
            version = coalesce($4, version), lag_records = coalesce($5, lag_records), lag_seconds = coalesce($6, lag_seconds)
      WHERE id = $1`,
    [id, seen.at, Math.round(seen.clockOffsetMs), seen.version ?? null, seen.lag?.records ?? null, seen.lag?.seconds ?? null],
  );
}

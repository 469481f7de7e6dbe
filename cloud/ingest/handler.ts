import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type pg from 'pg';
import { describeIssues } from '../../shared/config-load.js';
import { BodyTooLargeError, readBody, sendJson } from '../../shared/http.js';
import type { Logger } from '../../shared/log.js';
import { SYNC_ENCODINGS, SYNC_PROTOCOL, SYNC_VERSION_HEADER, SyncBatch, type SyncErrorReply, type SyncReply } from '../../shared/sync.js';
import { findGatewayByToken } from '../db/gateways.js';
import { exchangePushback } from '../db/pushback.js';
import { classifyStoreError } from './classify.js';
import { storeBatch, type StoreOutcome } from './store.js';

export interface IngestOptions {
  pool: pg.Pool;
  maxBodyBytes: number;
  log: Logger;
  /** Large readings batches go in with COPY (a server database; not the embedded PGlite). */
  copy?: boolean;
  now?: () => number;
}

/** Stable codes in SyncErrorReply.error.code; the edge acts on the HTTP status, people on these. */
export type IngestErrorCode =
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN_GATEWAY'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_ENCODING'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_COMPRESSION'
  | 'NOT_JSON'
  | 'INVALID_BATCH'
  | 'SEQUENCE_GAP'
  | 'DB_UNAVAILABLE'
  | 'DB_RETRY'
  | 'DB_ERROR'
  | 'DATA_REJECTED'
  | 'INTERNAL';

const MAX_ISSUES_SHOWN = 10;

type Inflate = (buf: Buffer, opts: { maxOutputLength: number }) => Promise<Buffer>;
const INFLATE: Record<string, Inflate | undefined> = {
  gzip: promisify(zlib.gunzip) as Inflate,
  deflate: promisify(zlib.inflate) as Inflate,
  br: promisify(zlib.brotliDecompress) as Inflate,
};

/** Bearer token from an Authorization header (RFC 6750 section 2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * `POST /v1/ingest`: authenticate the gateway, validate the batch, store it exactly once.
 * Every answer is SyncReply (200) or SyncErrorReply (4xx/5xx), and nothing of a refused request
 * is written (DESIGN guarantees 2, 5, 6).
 */
export function createIngestHandler(opts: IngestOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ component: 'ingest' });

  return async (req, res) => {
    // Tells an edge that this cloud reads the protocol's optional head fields (applied, backlog).
    res.setHeader(SYNC_VERSION_HEADER, String(SYNC_PROTOCOL));
    const refuse = (status: number, code: IngestErrorCode, message: string, acceptedThrough?: number) => {
      const body: SyncErrorReply = { error: { code, message }, cloudTime: now() };
      if (acceptedThrough !== undefined) body.acceptedThrough = acceptedThrough;
      // A refusal sent before the body was read: close rather than read a body nobody wants.
      if (!req.readableEnded) {
        res.setHeader('connection', 'close');
        req.resume();
      }
      sendJson(res, status, body);
      if (status >= 500 || code === 'SEQUENCE_GAP') log.warn('ingest_refused', { status, code, message });
      else log.info('ingest_refused', { status, code, message });
    };

    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return refuse(405, 'METHOD_NOT_ALLOWED', 'use POST with a SyncBatch JSON body');
    }
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      res.setHeader('www-authenticate', 'Bearer realm="millwright-ingest"');
      return refuse(401, 'UNAUTHORIZED', 'send the gateway token as "Authorization: Bearer <token>"');
    }
    let gateway: { id: string; site: string } | undefined;
    try {
      gateway = await findGatewayByToken(opts.pool, token);
    } catch (err) {
      return failStore(err);
    }
    if (!gateway) {
      res.setHeader('www-authenticate', 'Bearer realm="millwright-ingest", error="invalid_token"');
      return refuse(401, 'UNAUTHORIZED', 'unknown or revoked gateway token; add the gateway with "millwright cloud gateway add"');
    }
    const version = req.headers[SYNC_VERSION_HEADER];
    if (typeof version === 'string' && version.trim() !== String(SYNC_PROTOCOL)) {
      return upgrade(`this cloud speaks sync protocol ${SYNC_PROTOCOL}; the batch says ${version.trim()}: upgrade the cloud or the gateway so they match`);
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const inflate = INFLATE[encoding];
    if (encoding !== 'identity' && !inflate) {
      return refuse(415, 'UNSUPPORTED_ENCODING', `content-encoding "${encoding}" is not supported; send gzip, deflate, br or plain JSON`);
    }

    let body: Buffer;
    try {
      body = await readBody(req, opts.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        return refuse(413, 'BODY_TOO_LARGE', `the body is over ${opts.maxBodyBytes} bytes; send smaller batches`);
      }
      return refuse(400, 'NOT_JSON', `could not read the body: ${(err as Error).message}`);
    }
    if (inflate) {
      try {
        // The limit is on what is inflated, too: a few KB of gzip can hold gigabytes of zeros.
        body = await inflate(body, { maxOutputLength: opts.maxBodyBytes });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          return refuse(413, 'BODY_TOO_LARGE', `the body inflates to over ${opts.maxBodyBytes} bytes; send smaller batches`);
        }
        return refuse(400, 'BAD_COMPRESSION', `the body is not valid ${encoding}: ${(err as Error).message}`);
      }
    }
    const text = body.toString('utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return refuse(400, 'NOT_JSON', `the body is not JSON: ${(err as Error).message}`);
    }
    // Checked before the schema so that a gateway learns nothing about batches in another's name.
    const claimed = typeof raw === 'object' && raw !== null ? (raw as { gateway?: unknown }).gateway : undefined;
    if (typeof claimed === 'string' && claimed !== gateway.id) {
      return refuse(403, 'FORBIDDEN_GATEWAY', `this token belongs to gateway "${gateway.id}"; it cannot send data as "${claimed}"`);
    }
    const bodyEncoding = versionProblem(raw);
    if (bodyEncoding) return upgrade(bodyEncoding);
    const parsed = SyncBatch.safeParse(raw);
    if (!parsed.success) return refuse(422, 'INVALID_BATCH', summarizeIssues(parsed.error.issues));
    const batch = parsed.data;

    const cloudTime = now();
    let outcome: StoreOutcome;
    try {
      const version = edgeVersion(req.headers['user-agent']);
      outcome = await storeBatch(opts.pool, batch, cloudTime, { copy: opts.copy ?? false, ...(version ? { version } : {}) });
    } catch (err) {
      return failStore(err);
    }
    if (outcome.kind === 'gap') {
      return refuse(
        409,
        'SEQUENCE_GAP',
        `the ${batch.stream} stream of "${batch.gateway}" is stored through seq ${outcome.acceptedThrough}; ` +
          `this batch starts at ${batch.firstSeq}, resend from ${outcome.expectedSeq}`,
        outcome.acceptedThrough,
      );
    }
    const reply: SyncReply = {
      acceptedThrough: outcome.acceptedThrough,
      duplicate: outcome.kind === 'duplicate',
      written: outcome.kind === 'written' ? outcome.written : 0,
      cloudTime,
    };
    if (batch.applied) {
      // After the commit and outside it: a failure here costs the pushback of one reply, not the batch.
      try {
        const push = await exchangePushback(opts.pool, batch.gateway, batch.applied);
        if (push) reply.push = push;
      } catch (err) {
        log.warn('pushback_failed', { err, gateway: batch.gateway });
      }
    }
    log.debug('ingest_batch', { gateway: batch.gateway, stream: batch.stream, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, ...reply });
    if (outcome.kind === 'written' && outcome.evicted > 0) {
      // Guarantee 3: the edge's disk budget dropped these before they could be sent. The cloud
      // cannot get them back; it says so once, when its watermark moves past them.
      log.warn('ingest_evicted', {
        gateway: batch.gateway,
        stream: batch.stream,
        firstSeq: batch.firstSeq,
        lastSeq: batch.lastSeq,
        evicted: outcome.evicted,
        ranges: batch.evicted?.slice(0, MAX_ISSUES_SHOWN),
      });
    }
    sendJson(res, 200, reply);

    function upgrade(message: string): void {
      // RFC 9110 section 15.5.22: a 426 names the protocol to upgrade to.
      res.setHeader('upgrade', `millwright-sync/${SYNC_PROTOCOL}`);
      refuse(426, 'UNSUPPORTED_VERSION', message);
    }

    function failStore(err: unknown): void {
      const c = classifyStoreError(err);
      log.error('ingest_store_failed', { err, status: c.status, code: c.code, sqlState: c.sqlState });
      if (c.retry) res.setHeader('retry-after', '1');
      refuse(
        c.status,
        c.code,
        c.retry
          ? 'the cloud database is unavailable or busy; nothing was written, retry this batch later'
          : c.status === 422
            ? `the database refused a value of this batch (SQLSTATE ${c.sqlState ?? '?'}: ${(err as Error).message}); nothing was written`
            : 'the cloud failed to store the batch; nothing was written (the error is in the cloud log)',
      );
    }
  };
}

/** A body encoding this version does not know: the edge is newer or older, not broken (426, not 422). */
function versionProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { stream, encoding } = raw as { stream?: unknown; encoding?: unknown };
  if (typeof stream !== 'string' || typeof encoding !== 'string') return undefined;
  const known = SYNC_ENCODINGS[stream];
  if (known === undefined || known === encoding) return undefined;
  return `this cloud reads ${stream} batches encoded as ${known}, not ${encoding}: upgrade the cloud or the gateway so they match`;
}

/** "millwright-edge/0.2.0" → "0.2.0"; another client (a test's fetch, curl) says nothing of the edge. */
function edgeVersion(userAgent: string | undefined): string | undefined {
  return /^millwright-edge\/(\S{1,64})/.exec(userAgent ?? '')?.[1];
}

function summarizeIssues(issues: Parameters<typeof describeIssues>[0]): string {
  const lines = describeIssues(issues.slice(0, MAX_ISSUES_SHOWN));
  const more = issues.length > MAX_ISSUES_SHOWN ? `; and ${issues.length - MAX_ISSUES_SHOWN} more` : '';
  return `the batch does not match SyncBatch: ${lines.join('; ')}${more}`;
}

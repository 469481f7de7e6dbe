import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { describeIssues } from '../../shared/config-load.js';
import { BodyTooLargeError, readBody, sendJson } from '../../shared/http.js';
import type { Logger } from '../../shared/log.js';
import { Poll, type PollReply } from '../../shared/pushback.js';
import { findGatewayByToken, touchGateway } from '../db/gateways.js';
import { exchangePushback, modelFor } from '../db/pushback.js';
import { SYNC_PROTOCOL, SYNC_VERSION_HEADER } from '../../shared/sync.js';
import { bearerToken } from './handler.js';

const MAX_POLL_BYTES = 64 * 1024;

/**
 * `POST /v1/poll` (a caught-up edge asks for pushback, and is seen) and
 * `GET /v1/models/<name>/<version>` (an edge downloads a model it was told about). Both take the
 * gateway's token, like ingest; a model is only served to gateways of the site it was published for.
 */
export function createPushbackHandler(opts: { pool: pg.Pool; log: Logger; now?: () => number }): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ component: 'pushback' });
  const refuse = (res: ServerResponse, status: number, code: string, message: string) => sendJson(res, status, { error: { code, message }, cloudTime: now() });

  return async (req, res) => {
    res.setHeader(SYNC_VERSION_HEADER, String(SYNC_PROTOCOL));
    const path = (req.url ?? '/').split('?')[0]!;
    const token = bearerToken(req.headers.authorization);
    const gateway = token ? await findGatewayByToken(opts.pool, token) : undefined;
    if (!gateway) {
      req.resume();
      res.setHeader('www-authenticate', 'Bearer realm="millwright-ingest"');
      return refuse(res, 401, 'UNAUTHORIZED', 'send a valid gateway token as "Authorization: Bearer <token>"');
    }

    const model = /^\/v1\/models\/([^/]+)\/(\d+)$/.exec(path);
    if (model) {
      if (req.method !== 'GET') return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'GET a model');
      const content = await modelFor(opts.pool, gateway.id, decodeURIComponent(model[1]!), Number(model[2]));
      if (!content) return refuse(res, 404, 'NOT_FOUND', `no model ${model[1]} version ${model[2]} for this gateway's site`);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': content.length,
        'x-sha256': createHash('sha256').update(content).digest('hex'),
      });
      res.end(content);
      return;
    }

    if (req.method !== 'POST') return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'POST a Poll');
    let raw: unknown;
    try {
      raw = JSON.parse((await readBody(req, MAX_POLL_BYTES)).toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLargeError) return refuse(res, 413, 'BODY_TOO_LARGE', `a poll is at most ${MAX_POLL_BYTES} bytes`);
      return refuse(res, 400, 'NOT_JSON', `the body is not JSON: ${(err as Error).message}`);
    }
    const poll = Poll.safeParse(raw);
    if (!poll.success) return refuse(res, 422, 'INVALID_POLL', describeIssues(poll.error.issues.slice(0, 10)).join('; '));
    if (poll.data.gateway !== gateway.id) {
      return refuse(res, 403, 'FORBIDDEN_GATEWAY', `this token belongs to gateway "${gateway.id}"; it cannot poll as "${poll.data.gateway}"`);
    }
    const cloudTime = now();
    await touchGateway(opts.pool, gateway.id, { at: new Date(cloudTime), clockOffsetMs: cloudTime - poll.data.sentAt });
    const push = await exchangePushback(opts.pool, gateway.id, poll.data.applied);
    const reply: PollReply = { cloudTime, ...(push ? { push } : {}) };
    if (push) log.info('pushback_sent', { gateway: gateway.id, config: push.config?.version, models: push.models?.length, acks: push.alarmAcks?.length });
    sendJson(res, 200, reply);
  };
}

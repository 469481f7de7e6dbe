import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { openStore } from '../edge/store/store.js';
import { findingId } from '../shared/finding.js';
import { listen } from '../shared/http.js';
import { silentLogger } from '../shared/log.js';
import { eventually } from './helpers/mqtt.js';

/**
 * The edge against clouds that behave unlike the current one: an older cloud that knows none of
 * the optional batch fields, a cloud that fails one stream only, a cloud whose watermark is below
 * what the historian still holds. Each "cloud" is a small HTTP server written here.
 */
type Handler = (req: IncomingMessage, body: Record<string, unknown>, res: ServerResponse) => void;

const reply = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const accepted = (batch: Record<string, unknown>) => ({ acceptedThrough: batch.lastSeq, duplicate: false, written: 0, cloudTime: Date.now() });

describe('the edge against odd clouds', () => {
  let server: Server | undefined;
  let agent: Agent | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    server?.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function run(handler: Handler, prepare: (dataDir: string) => void): Promise<Agent> {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        handler(req, text ? (JSON.parse(text) as Record<string, unknown>) : {}, res);
      });
    });
    const port = await listen(server, '127.0.0.1', 0);
    const dataDir = mkdtempSync(join(tmpdir(), 'mw-odd-'));
    dirs.push(dataDir);
    prepare(dataDir);
    agent = await startAgent(
      EdgeConfig.parse({
        gateway: { id: 'odd-gw', site: 'plant1' },
        dataDir,
        sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
        sync: { url: `http://127.0.0.1:${port}`, token: 'tok', batchSize: 100, intervalMs: 20, pollMs: 100, backoff: { baseMs: 10, capMs: 100 } },
        mcp: { http: { port: 0 } },
      }),
      { log: silentLogger, version: 'test' },
    );
    return agent;
  }

  const backlog = (n: number) => (dataDir: string) => {
    const store = openStore({ file: join(dataDir, 'historian.sqlite') });
    const t0 = Date.now() - 60_000;
    store.readings.write(Array.from({ length: n }, (_, i) => ({ sensor: `acme/plant1/l/m${i % 5}/temp`, ts: t0 + i * 10, value: i, quality: 'good' as const, receivedAt: t0 })));
    return store;
  };

  it('an older cloud (no protocol header, strict about fields, no /v1/poll) still gets every reading', async () => {
    const strayFields: string[] = [];
    const a = await run(
      (req, body, res) => {
        if (req.url !== '/v1/ingest') return reply(res, 404, { error: { code: 'NOT_FOUND', message: 'no route' }, cloudTime: Date.now() });
        const extra = Object.keys(body).filter((k) => ['applied', 'backlog'].includes(k));
        if (extra.length > 0) {
          strayFields.push(...extra);
          return reply(res, 422, { error: { code: 'INVALID_BATCH', message: `unknown key "${extra[0]}"` }, cloudTime: Date.now() });
        }
        reply(res, 200, accepted(body));
      },
      (d) => backlog(1000)(d).close(),
    );
    expect(await a.sync!.drained(20_000)).toBe(true);
    expect(strayFields).toEqual([]);
    expect(a.status().sync!.ackedSeq).toBe(1000);
  });

  it('a cloud failing the findings stream (500) does not hold up the readings behind it', async () => {
    let findingsTries = 0;
    const a = await run(
      (req, body, res) => {
        res.setHeader('x-millwright-sync', '1');
        if (req.url === '/v1/poll') return reply(res, 200, { cloudTime: Date.now() });
        if (body.stream === 'findings') {
          findingsTries++;
          return reply(res, 500, { error: { code: 'DB_ERROR', message: 'cannot store this finding' }, cloudTime: Date.now() });
        }
        reply(res, 200, accepted(body));
      },
      (d) => {
        const store = backlog(2000)(d);
        store.events.recordFindings([
          { id: findingId('anomaly', 'acme/plant1/l/m1/temp', 't@1', 1), kind: 'anomaly', subject: 'acme/plant1/l/m1/temp', start: Date.now() - 1000, end: Date.now(), score: 1, severity: 'info', detector: 't@1', message: 'x', details: {} },
        ]);
        store.close();
      },
    );
    expect(await eventually(() => a.status().sync!.ackedSeq === 2000, 20_000), 'readings stuck behind the failing findings stream').toBe(true);
    expect(findingsTries).toBeGreaterThan(0);
    expect(a.status().sync!.findings).toMatchObject({ pendingRecords: 1, lastError: expect.stringMatching(/DB_ERROR/) });
  });

  it('a cloud whose watermark is below what the historian still holds: blocked with the reason, not spinning', async () => {
    let requests = 0;
    const a = await run(
      (req, _body, res) => {
        res.setHeader('x-millwright-sync', '1');
        if (req.url === '/v1/poll') return reply(res, 200, { cloudTime: Date.now() });
        requests++;
        reply(res, 409, { error: { code: 'SEQUENCE_GAP', message: 'resend from 1' }, acceptedThrough: 0, cloudTime: Date.now() });
      },
      (d) => {
        const store = backlog(200)(d);
        // What age retention does to acknowledged readings; then the cloud lost them.
        store.db.prepare('DELETE FROM readings WHERE seq <= 50').run();
        store.close();
      },
    );
    expect(await eventually(() => /no longer has seq 1 and on/.test(a.status().sync!.lastError ?? ''), 10_000)).toBe(true);
    expect(a.status().sync!.state).toBe('blocked');
    const before = requests;
    await new Promise((r) => setTimeout(r, 1000));
    // At the 100 ms backoff cap: about ten more in a second, not thousands.
    expect(requests - before).toBeLessThan(30);
  });
});

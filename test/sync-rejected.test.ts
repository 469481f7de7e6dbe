import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../edge/agent.js';
import { EdgeConfig } from '../edge/config.js';
import { openStore } from '../edge/store/store.js';
import { listen } from '../shared/http.js';
import { silentLogger } from '../shared/log.js';
import { eventually } from './helpers/mqtt.js';

/**
 * Issue 5: a batch the cloud refuses as invalid is kept with its reason, never retried forever and
 * never silently dropped. The "cloud" here is an HTTP server that answers every batch 422.
 */
describe('a batch the cloud refuses as invalid', () => {
  let server: Server | undefined;
  let agent: Agent | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await agent?.stop();
    server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('is recorded with its reason, sent 1 + 3 times, then not again until a restart; the readings stay', async () => {
    let requests = 0;
    server = createServer((req, res) => {
      // Batches only: a caught-up edge also polls (/v1/poll), which this cloud refuses too.
      if (req.url === '/v1/ingest') requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'INVALID_BATCH', message: 'at series[0]: too old for this cloud' }, cloudTime: Date.now() }));
      });
    });
    const port = await listen(server, '127.0.0.1', 0);

    const dataDir = mkdtempSync(join(tmpdir(), 'mw-rejected-'));
    dirs.push(dataDir);
    const file = join(dataDir, 'historian.sqlite');
    const store = openStore({ file });
    const t0 = Date.now() - 60_000;
    store.readings.write(Array.from({ length: 100 }, (_, i) => ({ sensor: 'acme/plant1/l/m/temp', ts: t0 + i * 100, value: i, quality: 'good' as const, receivedAt: t0 })));
    store.close();

    const cfg = EdgeConfig.parse({
      gateway: { id: 'rj-gw', site: 'plant1' },
      dataDir,
      sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
      sync: { url: `http://127.0.0.1:${port}`, token: 'tok', batchSize: 500, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 } },
      mcp: { http: { port: 0 } },
    });
    agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    // Readings keep arriving, as on a live gateway: each resend of the refused batch would carry
    // more of them (the batch is not full, so its end moves).
    let n = 0;
    const live = setInterval(() => {
      const ts = Date.now();
      // 30 readings of one sensor: filed at once (edge/store/filing.ts), so the outbox grows now.
      const batch = Array.from({ length: 30 }, () => ({ sensor: 'acme/plant1/l/m/live', ts: ts + n++, value: n, quality: 'good' as const, receivedAt: ts }));
      void agent?.writer.commit(batch).catch(() => {});
    }, 20);
    try {
      expect(await eventually(() => /not sent again until the agent restarts/.test(agent!.status().sync?.lastError ?? ''), 10_000)).toBe(true);
      // Long enough for ten more tries at the 100 ms backoff cap, had it kept trying.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      clearInterval(live);
    }
    expect(requests).toBe(4);
    expect(agent.status().sync).toMatchObject({ state: 'blocked', ackedSeq: 0 });
    expect(agent.status().sync!.pendingRecords).toBeGreaterThanOrEqual(100);
    expect(agent.status().sync!.lastError).toMatch(/rejected readings batch 1\.\.\d+: .*too old for this cloud/);
    await agent.stop();
    agent = undefined;

    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT stream, first_seq, last_seq, status, reason FROM rejected_batches').all()).toEqual([
        { stream: 'readings', first_seq: 1, last_seq: expect.any(Number), status: 422, reason: expect.stringMatching(/too old for this cloud/) },
      ]);
      expect(db.prepare("SELECT count(*) AS n FROM readings r JOIN sensors s ON s.id = r.sensor_id WHERE s.name = 'acme/plant1/l/m/temp'").get()).toEqual({ n: 100 });
    } finally {
      db.close();
    }

    // A restart tries again (the operator fixed something, or the cloud was upgraded).
    agent = await startAgent(cfg, { log: silentLogger, version: 'test' });
    expect(await eventually(() => requests > 4, 10_000)).toBe(true);
  });

  it('goes on in plain JSON with a cloud that refuses compressed bodies (415), instead of stopping', async () => {
    await agent?.stop();
    agent = undefined;
    const seen: string[] = [];
    const old = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const enc = req.headers['content-encoding'] ?? 'identity';
        // Batches only: a caught-up edge also polls this "cloud" (plain JSON).
        if (req.url === '/v1/ingest') seen.push(enc);
        if (enc !== 'identity') {
          res.writeHead(415, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'UNSUPPORTED_ENCODING', message: 'send plain JSON' }, cloudTime: Date.now() }));
          return;
        }
        const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { lastSeq: number };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ acceptedThrough: batch.lastSeq, duplicate: false, written: 0, cloudTime: Date.now() }));
      });
    });
    const port = await listen(old, '127.0.0.1', 0);
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'mw-plain-'));
      dirs.push(dataDir);
      const store = openStore({ file: join(dataDir, 'historian.sqlite') });
      const t0 = Date.now() - 60_000;
      store.readings.write(Array.from({ length: 120 }, (_, i) => ({ sensor: 'acme/plant1/l/m/p', ts: t0 + i * 100, value: i, quality: 'good' as const, receivedAt: t0 })));
      store.close();
      agent = await startAgent(
        EdgeConfig.parse({
          gateway: { id: 'plain-gw', site: 'plant1' },
          dataDir,
          sources: [{ type: 'mqtt', embeddedBroker: { port: 0 } }],
          sync: { url: `http://127.0.0.1:${port}`, token: 'tok', batchSize: 50, intervalMs: 20, backoff: { baseMs: 10, capMs: 100 } },
          mcp: { http: { port: 0 } },
        }),
        { log: silentLogger, version: 'test' },
      );
      expect(await agent.sync!.drained(10_000)).toBe(true);
      // One gzip attempt, refused; every batch after it plain.
      expect(seen).toEqual(['gzip', 'identity', 'identity', 'identity']);
      expect(agent.status().sync).toMatchObject({ ackedSeq: 120, lastError: null });
    } finally {
      old.close();
    }
  });
});

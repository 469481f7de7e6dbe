import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { SYNC_PROTOCOL, SYNC_VERSION_HEADER, type SyncBatch } from '../../shared/sync.js';
import { VERSION } from '../../shared/version.js';
import { classifyNetworkError, classifyResponse, type Delivery } from './classify.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** PEM contents, not paths: the agent reads the files at start so a missing one fails there. */
export interface TlsMaterial {
  /** CA certificates to trust for the cloud (a private CA); absent: the system's. */
  ca?: string;
  /** Client certificate and key, for a cloud that asks for one (mTLS). */
  cert?: string;
  key?: string;
}

/** Reads the PEM files named in sync.tls; a file that cannot be read fails the start, named. */
export function readTlsMaterial(paths: { ca?: string; cert?: string; key?: string }): TlsMaterial {
  const out: TlsMaterial = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = paths[k];
    if (file === undefined) continue;
    try {
      out[k] = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`sync.tls.${k}: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return out;
}

export interface TransportOptions {
  url: string;
  token: string;
  timeoutMs: number;
  compression?: 'gzip' | 'none';
  tls?: TlsMaterial;
}

export interface Posted {
  delivery: Delivery;
  /** Body bytes as sent (compressed), 0 when nothing could be sent. */
  bytes: number;
  /** Cloud clock minus ours, when the reply carried the cloud's time (DESIGN guarantee 7). */
  clockOffsetMs?: number;
  /** The reply said the cloud speaks this sync protocol (SYNC_VERSION_HEADER). */
  cloudSpeaks: boolean;
}

export interface Transport {
  /**
   * `sealedSeries`: the gzip of the batch's `series`, sealed ahead of time (edge/store/sealed.ts);
   * it goes on the wire as it is, between a gzip member for the head and one for the closing brace
   * (RFC 1952 members concatenate), and batch.series is ignored.
   */
  post(batch: SyncBatch, sealedSeries?: Buffer): Promise<Posted>;
  /** Any other call to the cloud with the gateway token: the poll, a model download. */
  request(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; body: Buffer; cloudSpeaks: boolean }>;
  close(): void;
}

/**
 * One HTTP(S) connection pool to `<url>/v1/ingest`. Every outcome goes through classify.ts, so
 * the sync loop sees accepted / retry / rejected and nothing else.
 */
export function createTransport(opts: TransportOptions): Transport {
  const base = opts.url.replace(/\/$/, '');
  const target = new URL(`${base}/v1/ingest`);
  const secure = target.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 2, ...opts.tls }) : new http.Agent({ keepAlive: true, maxSockets: 2 });
  let plainOnly = false;

  function send(url: URL, method: string, payload: Buffer | undefined, gzipped: boolean, timeoutMs = opts.timeoutMs): Promise<{ status: number; body: Buffer; cloudSpeaks: boolean }> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {
        authorization: `Bearer ${opts.token}`,
        'user-agent': `millwright-edge/${VERSION}`,
        [SYNC_VERSION_HEADER]: String(SYNC_PROTOCOL),
      };
      if (payload) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      if (gzipped) headers['content-encoding'] = 'gzip';
      const req = (secure ? https : http).request(url, { method, agent, headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), cloudSpeaks: res.headers[SYNC_VERSION_HEADER] === String(SYNC_PROTOCOL) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function encode(batch: SyncBatch, gzipped: boolean, sealedSeries: Buffer | undefined): Promise<Buffer> {
    if (sealedSeries && batch.stream === 'readings') {
      const { series: _ignored, ...head } = batch;
      const open = `${JSON.stringify(head).slice(0, -1)},"series":`;
      if (gzipped) return Buffer.concat([await gzipAsync(open), sealedSeries, await gzipAsync('}')]);
      return Buffer.concat([Buffer.from(open), await gunzipAsync(sealedSeries), Buffer.from('}')]);
    }
    const json = Buffer.from(JSON.stringify(batch));
    // Off the event loop (libuv's pool): a 20,000-reading batch is ~500 KB of JSON.
    return gzipped ? await gzipAsync(json) : json;
  }

  async function post(batch: SyncBatch, sealedSeries?: Buffer): Promise<Posted> {
    const started = Date.now();
    let bytes = 0;
    try {
      const gzipped = (opts.compression ?? 'gzip') === 'gzip' && !plainOnly;
      const payload = await encode(batch, gzipped, sealedSeries);
      bytes = payload.length;
      const res = await send(target, 'POST', payload, gzipped);
      if (gzipped && res.status === 415) {
        // A cloud older than compressed batches refuses the encoding: plain JSON from now on.
        plainOnly = true;
        const again = await post(batch, sealedSeries);
        return { ...again, bytes: bytes + again.bytes };
      }
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        body = undefined;
      }
      const delivery = classifyResponse(res.status, body);
      const cloudTime = delivery.outcome === 'accepted' ? delivery.reply.cloudTime : delivery.outcome === 'retry' ? delivery.cloudTime : undefined;
      // The cloud stamped its time somewhere inside the round trip; assume the middle.
      return { delivery, bytes, cloudSpeaks: res.cloudSpeaks, ...(cloudTime !== undefined ? { clockOffsetMs: cloudTime - Math.round((started + Date.now()) / 2) } : {}) };
    } catch (err) {
      return { delivery: classifyNetworkError(err), bytes, cloudSpeaks: false };
    }
  }

  return {
    post,
    request: (method, path, body, timeoutMs) => send(new URL(`${base}${path}`), method, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), false, timeoutMs),
    close: () => agent.destroy(),
  };
}

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from './connect.js';

/** Text-format COPY chunks are gathered up to this size per COPY statement on PGlite. */
const PGLITE_COPY_BYTES = 32 * 1024 * 1024;

/**
 * Bulk-loads rows with COPY: `target` is "table (col, …)", `chunks` yield COPY text-format lines
 * (tab-separated, newline-terminated). On a server it is one COPY FROM STDIN; on the embedded
 * PGlite, whose socket cannot carry the COPY sub-protocol, it is COPY FROM '/dev/blob' in parts of
 * ~32 MB, in-process. Returns the rows copied.
 */
export async function copyRows(db: Pick<Database, 'pool' | 'pglite'>, target: string, chunks: Iterable<string> | AsyncIterable<string>): Promise<number> {
  if (db.pglite) {
    let rows = 0;
    let parts: string[] = [];
    let size = 0;
    const flush = async () => {
      if (parts.length === 0) return;
      const r = await db.pglite!.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob(parts) });
      rows += r.affectedRows ?? 0;
      parts = [];
      size = 0;
    };
    for await (const chunk of chunks) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= PGLITE_COPY_BYTES) await flush();
    }
    await flush();
    return rows;
  }
  const client = await db.pool.connect();
  let broken = false;
  try {
    const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
    await pipeline(Readable.from(chunks), stream);
    return stream.rowCount ?? 0;
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}

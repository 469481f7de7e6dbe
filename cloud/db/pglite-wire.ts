/**
 * Framing of the PostgreSQL frontend protocol (protocol v3, "Message Formats" in the PostgreSQL
 * docs), just enough to hand PGlite whole messages. TCP delivers a byte stream: one large Bind
 * (a batch of thousands of readings) arrives in several chunks, and PGlite's execProtocolRaw
 * crashes on a partial message. @electric-sql/pglite-socket 0.0.x passes chunks through as they
 * come (fixed upstream in electric-sql/pglite#873, in versions that need a newer PGlite than the
 * TimescaleDB build), so the embedded server does its own framing.
 */

// Length-only packets sent before StartupMessage; the client sends another length-only packet after them.
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
/** PostgreSQL's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP_LENGTH = 10_000;
/** A frame larger than this is a broken client, not data: PostgreSQL's own limit is 1 GB. */
const MAX_MESSAGE_LENGTH = 1 << 30;

export interface Frames {
  /** Whole messages, concatenated, ready for execProtocolRaw; empty when none is complete yet. */
  complete: Buffer;
  /** Bytes of the next, still partial message. */
  rest: Buffer;
  /** Whether the startup packet has gone by, so that messages now start with a type byte. */
  started: boolean;
  /** How long `rest` must grow before another message can be complete: no need to look sooner. */
  need: number;
}

export class ProtocolError extends Error {}

/** Splits buffered bytes into whole messages and the partial remainder. Pure. */
export function splitFrames(buf: Buffer, started: boolean): Frames {
  let at = 0;
  let isStarted = started;
  for (;;) {
    if (!isStarted) {
      // Startup phase: Int32 length (counting itself), Int32 code or protocol version, body.
      if (buf.length - at < 8) break;
      const len = buf.readInt32BE(at);
      if (len < 8 || len > MAX_STARTUP_LENGTH) throw new ProtocolError(`invalid startup packet length ${len}`);
      if (buf.length - at < len) break;
      const code = buf.readInt32BE(at + 4);
      at += len;
      if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) isStarted = true;
      continue;
    }
    // Byte1 type, Int32 length (counting itself, not the type byte), body.
    if (buf.length - at < 5) break;
    const len = buf.readInt32BE(at + 1);
    if (len < 4 || len > MAX_MESSAGE_LENGTH) throw new ProtocolError(`invalid message length ${len}`);
    if (buf.length - at < 1 + len) break;
    at += 1 + len;
  }
  const rest = buf.subarray(at);
  return { complete: buf.subarray(0, at), rest, started: isStarted, need: bytesNeeded(rest, isStarted) };
}

function bytesNeeded(rest: Buffer, started: boolean): number {
  if (!started) return rest.length < 4 ? 8 : Math.max(8, rest.readInt32BE(0));
  return rest.length < 5 ? 5 : 1 + rest.readInt32BE(1);
}

/**
 * The transaction status of the last ReadyForQuery ('Z') in backend output: 'I' idle, 'T' in a
 * transaction, 'E' in a failed transaction; undefined when the output holds none.
 */
export function lastTransactionStatus(out: Uint8Array): 'I' | 'T' | 'E' | undefined {
  const view = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let status: 'I' | 'T' | 'E' | undefined;
  let at = 0;
  while (view.length - at >= 5) {
    const type = view[at];
    const len = view.readInt32BE(at + 1);
    if (len < 4) break;
    if (type === 0x5a /* Z */ && len === 5 && at + 5 < view.length) {
      const s = String.fromCharCode(view[at + 5]!);
      if (s === 'I' || s === 'T' || s === 'E') status = s;
    }
    at += 1 + len;
  }
  return status;
}

/** A simple-protocol Query message. */
export function queryMessage(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const msg = Buffer.alloc(5 + body.length);
  msg.write('Q', 0, 'latin1');
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}

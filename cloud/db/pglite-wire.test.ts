import { describe, expect, it } from 'vitest';
import { lastTransactionStatus, ProtocolError, queryMessage, splitFrames } from './pglite-wire.js';

function startup(code: number, body = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(8 + body.length, 0);
  b.writeInt32BE(code, 4);
  body.copy(b, 8);
  return b;
}
function message(type: string, body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

describe('splitFrames', () => {
  const start = startup(196608, Buffer.from('user\0postgres\0\0'));
  const query = message('Q', Buffer.from('SELECT 1\0'));
  const bind = message('B', Buffer.alloc(200_000, 7));

  it('passes whole messages and keeps the partial rest', () => {
    const all = Buffer.concat([start, query, bind]);
    const cut = start.length + query.length + 1000;
    const first = splitFrames(all.subarray(0, cut), false);
    expect(first.started).toBe(true);
    expect(first.complete).toEqual(Buffer.concat([start, query]));
    expect(first.rest.length).toBe(1000);
    expect(first.need).toBe(bind.length);
    const second = splitFrames(Buffer.concat([first.rest, all.subarray(cut)]), first.started);
    expect(second.complete.equals(bind)).toBe(true);
    expect(second.rest.length).toBe(0);
  });

  it('waits for a length that is itself split', () => {
    const r = splitFrames(query.subarray(0, 3), true);
    expect(r.complete.length).toBe(0);
    expect(r.rest).toEqual(query.subarray(0, 3));
  });

  it('stays in the startup phase after an SSLRequest', () => {
    const r = splitFrames(startup(80877103), false);
    expect(r.started).toBe(false);
    expect(r.complete.length).toBe(8);
  });

  it('refuses nonsense lengths', () => {
    const bad = Buffer.from([0x51, 0, 0, 0, 1]);
    expect(() => splitFrames(bad, true)).toThrow(ProtocolError);
  });
});

describe('lastTransactionStatus', () => {
  it('reads the status of the last ReadyForQuery', () => {
    const ready = (s: string) => message('Z', Buffer.from(s, 'latin1'));
    const complete = message('C', Buffer.from('BEGIN\0'));
    expect(lastTransactionStatus(Buffer.concat([complete, ready('T')]))).toBe('T');
    expect(lastTransactionStatus(Buffer.concat([ready('T'), complete, ready('I')]))).toBe('I');
    expect(lastTransactionStatus(complete)).toBeUndefined();
  });
});

describe('queryMessage', () => {
  it('frames a simple query', () => {
    expect(queryMessage('ROLLBACK')).toEqual(message('Q', Buffer.from('ROLLBACK\0')));
  });
});

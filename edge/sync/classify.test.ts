import { describe, expect, it } from 'vitest';
import { classifyNetworkError, classifyResponse } from './classify.js';

const now = Date.UTC(2026, 10, 22);
const error = (code: string, acceptedThrough?: number) => ({ error: { code, message: 'why' }, cloudTime: now, ...(acceptedThrough === undefined ? {} : { acceptedThrough }) });

describe('classifyResponse', () => {
  it('accepts a well-formed 200', () => {
    const d = classifyResponse(200, { acceptedThrough: 10, duplicate: false, written: 10, cloudTime: now });
    expect(d.outcome).toBe('accepted');
  });
  it('retries an unreadable 200: nothing proves a commit', () => {
    expect(classifyResponse(200, '<html>').outcome).toBe('retry');
  });
  it('rewinds to the watermark on a sequence gap', () => {
    expect(classifyResponse(409, error('SEQUENCE_GAP', 7))).toMatchObject({ outcome: 'retry', rewindTo: 7 });
  });
  it.each([500, 502, 503, 504, 429, 408, 401, 403])('retries %i', (status) => {
    expect(classifyResponse(status, error('X')).outcome).toBe('retry');
  });
  it.each([400, 413, 422, 426])('rejects %i with the reason', (status) => {
    expect(classifyResponse(status, error('BAD_BATCH'))).toEqual({ outcome: 'rejected', status, reason: 'BAD_BATCH: why' });
  });
  it('retries network errors', () => {
    const e = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(classifyNetworkError(e)).toMatchObject({ outcome: 'retry', reason: /ECONNREFUSED/ });
  });
});

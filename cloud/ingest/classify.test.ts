import { describe, expect, it } from 'vitest';
import { classifyStoreError } from './classify.js';

const pgError = (code: string) => Object.assign(new Error('db said no'), { code });

describe('classifyStoreError', () => {
  it('retries connection loss, shutdown, resource and serialization failures', () => {
    expect(classifyStoreError(pgError('08006'))).toMatchObject({ status: 503, code: 'DB_UNAVAILABLE', retry: true, sqlState: '08006' });
    expect(classifyStoreError(pgError('57P01'))).toMatchObject({ status: 503, retry: true });
    expect(classifyStoreError(pgError('53300'))).toMatchObject({ status: 503, retry: true });
    expect(classifyStoreError(pgError('40001'))).toMatchObject({ status: 503, code: 'DB_RETRY', retry: true });
    expect(classifyStoreError(pgError('40P01'))).toMatchObject({ status: 503, code: 'DB_RETRY' });
  });

  it('retries a unique violation: a race with another writer', () => {
    expect(classifyStoreError(pgError('23505'))).toEqual({ status: 503, code: 'DB_RETRY', retry: true, sqlState: '23505' });
  });

  it('refuses data the database cannot take (422): a retry would fail the same way', () => {
    expect(classifyStoreError(pgError('22P05'))).toEqual({ status: 422, code: 'DATA_REJECTED', retry: false, sqlState: '22P05' });
    expect(classifyStoreError(pgError('23514'))).toMatchObject({ status: 422, code: 'DATA_REJECTED' });
  });

  it('does not retry other SQLSTATEs', () => {
    expect(classifyStoreError(pgError('42P01'))).toEqual({ status: 500, code: 'DB_ERROR', retry: false, sqlState: '42P01' });
  });

  it('retries network failures and node-postgres connection errors', () => {
    expect(classifyStoreError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toMatchObject({ status: 503, retry: true });
    expect(classifyStoreError(new Error('Connection terminated unexpectedly'))).toMatchObject({ status: 503, retry: true });
    expect(classifyStoreError(new Error('timeout exceeded when trying to connect'))).toMatchObject({ status: 503, retry: true });
  });

  it('treats anything else as an internal fault', () => {
    expect(classifyStoreError(new TypeError('x is undefined'))).toEqual({ status: 500, code: 'INTERNAL', retry: false });
    expect(classifyStoreError('a string')).toEqual({ status: 500, code: 'INTERNAL', retry: false });
  });
});

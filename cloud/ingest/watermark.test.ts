import { describe, expect, it } from 'vitest';
import { decideBatch } from './watermark.js';

describe('decideBatch', () => {
  it('writes the first batch ever (watermark 0) when it starts at 1', () => {
    expect(decideBatch(0, 1, 100)).toEqual({ action: 'write', writeAbove: 0, acceptedThrough: 100 });
  });

  it('refuses a first batch that does not start at 1', () => {
    expect(decideBatch(0, 5, 10)).toEqual({ action: 'gap', acceptedThrough: 0, expectedSeq: 1 });
  });

  it('writes the exact next batch', () => {
    expect(decideBatch(100, 101, 200)).toEqual({ action: 'write', writeAbove: 100, acceptedThrough: 200 });
  });

  it('acknowledges a batch entirely at or below the watermark without writing', () => {
    expect(decideBatch(200, 101, 200)).toEqual({ action: 'duplicate', acceptedThrough: 200 });
    expect(decideBatch(200, 1, 50)).toEqual({ action: 'duplicate', acceptedThrough: 200 });
    expect(decideBatch(200, 200, 200)).toEqual({ action: 'duplicate', acceptedThrough: 200 });
  });

  it('refuses a batch that leaves a gap and names the watermark', () => {
    expect(decideBatch(100, 102, 150)).toEqual({ action: 'gap', acceptedThrough: 100, expectedSeq: 101 });
  });

  it('writes only the part of an overlapping batch above the watermark', () => {
    expect(decideBatch(150, 101, 200)).toEqual({ action: 'write', writeAbove: 150, acceptedThrough: 200 });
    expect(decideBatch(199, 101, 200)).toEqual({ action: 'write', writeAbove: 199, acceptedThrough: 200 });
  });
});

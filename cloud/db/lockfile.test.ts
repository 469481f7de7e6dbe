import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLockFile, DataDirInUseError } from './lockfile.js';

const dirs: string[] = [];
const lockPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-lock-'));
  dirs.push(dir);
  return join(dir, 'pglite.lock');
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('acquireLockFile', () => {
  it('writes our pid and removes the file on release', () => {
    const path = lockPath();
    const lock = acquireLockFile(path, { pid: 4242 });
    expect(readFileSync(path, 'utf8').trim()).toBe('4242');
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses while another live process holds it', () => {
    const path = lockPath();
    writeFileSync(path, '777\n');
    expect(() => acquireLockFile(path, { pid: 1, isAlive: () => true })).toThrow(DataDirInUseError);
    expect(() => acquireLockFile(path, { pid: 1, isAlive: () => true })).toThrow(/in use by process 777/);
  });

  it('takes over the lock of a process that died', () => {
    const path = lockPath();
    writeFileSync(path, '777\n');
    const lock = acquireLockFile(path, { pid: 1, isAlive: () => false });
    expect(readFileSync(path, 'utf8').trim()).toBe('1');
    lock.release();
  });

  it('refuses a second lock in the same process, but takes over one an earlier process with our pid left', () => {
    const path = lockPath();
    const lock = acquireLockFile(path, { pid: 9 });
    expect(() => acquireLockFile(path, { pid: 9 })).toThrow(DataDirInUseError);
    lock.release();
    writeFileSync(path, '9\n');
    acquireLockFile(path, { pid: 9, isAlive: () => true }).release();
  });
});

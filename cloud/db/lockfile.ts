import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/**
 * PGlite has no postmaster to refuse a second process on the same data directory, and two
 * processes writing one directory corrupt it. A lock file next to the directory, holding the
 * owner's pid, turns that into a clear error instead.
 */
export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly lockPath: string,
    readonly ownerPid: number,
  ) {
    super(
      `the embedded database is in use by process ${ownerPid} (lock file ${lockPath}); ` +
        'stop that process first, or point database.url at a PostgreSQL server to share one database',
    );
    this.name = 'DataDirInUseError';
  }
}

export interface LockFile {
  release(): void;
}

export interface LockOptions {
  pid?: number;
  /** Whether a process with this pid is still running; stale locks of dead owners are taken over. */
  isAlive?: (pid: number) => boolean;
}

function processIsAlive(pid: number): boolean {
  try {
    // Signal 0 only checks that the process exists and may be signalled (kill(2)).
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Locks this process holds. A lock file naming our own pid that is not in here was left by an
// earlier process that had the same pid (containers restart as pid 1), so it is stale.
const held = new Set<string>();

export function acquireLockFile(path: string, opts: LockOptions = {}): LockFile {
  const pid = opts.pid ?? process.pid;
  const isAlive = opts.isAlive ?? processIsAlive;
  if (held.has(path)) throw new DataDirInUseError(path, pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== pid && isAlive(owner)) throw new DataDirInUseError(path, owner);
      // The owner died without releasing it (kill -9, power cut): take the lock over.
      unlinkSync(path);
      continue;
    }
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
    held.add(path);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        held.delete(path);
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      },
    };
  }
  throw new Error(`could not take the lock file ${path}: it keeps reappearing (another process starting at the same time?)`);
}

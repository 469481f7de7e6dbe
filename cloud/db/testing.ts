import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { CloudConfig } from '../../shared/config.js';

/**
 * A fresh, empty database for one test file: an embedded PGlite in a new temp directory by
 * default, or, given a server URL (tests pass MILLWRIGHT_TEST_PG_URL), a uniquely named database
 * created on that server and dropped by cleanup().
 */
export interface TestDatabase {
  config: CloudConfig['database'];
  /** "embedded PGlite" or the server URL, for test names */
  label: string;
  cleanup(): Promise<void>;
}

export async function createTestDatabase(opts: { serverUrl?: string } = {}): Promise<TestDatabase> {
  const serverUrl = opts.serverUrl?.trim();
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'mw-cloud-test-'));
    return {
      config: { dataDir: join(dir, 'pglite'), poolSize: 1 },
      label: 'embedded PGlite',
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  // Random suffix: test files run in parallel and may share one server.
  const name = `mw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    config: { url: url.toString(), dataDir: '', poolSize: 4 },
    label: `PostgreSQL ${url.host}/${name}`,
    async cleanup() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        // WITH (FORCE) (PostgreSQL >= 13) ends connections a failed test may have left behind.
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureOutput } from '../test/helpers/capture.js';
import { gatewayAdd, gatewayList, gatewayRevoke, runCloud } from './main.js';

/**
 * The CLI entry points, run in-process against an embedded database in a temp directory. Only
 * what a person sees is checked: exit codes and the text on stdout/stderr.
 */
let dir: string;
let configPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mw-cloud-main-'));
  configPath = join(dir, 'cloud.yaml');
  await writeFile(configPath, `http:\n  port: 0\ndatabase:\n  dataDir: ${join(dir, 'pglite')}\nlog:\n  level: error\n`);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('cloud CLI', () => {
  it('gateway add prints a new token once; list shows it; revoke revokes it once', async () => {
    let io = captureOutput();
    expect(await gatewayAdd({ configPath, id: 'plant1-gw1', site: 'plant1' })).toBe(0);
    expect(io.out()).toMatch(/cannot be shown again/);
    expect(io.out()).toMatch(/\nmwg_[A-Za-z0-9_-]{43}\n$/);

    io = captureOutput();
    expect(await gatewayList({ configPath })).toBe(0);
    expect(io.out()).toMatch(/plant1-gw1\s+plant1\s+active\s+never/);
    expect(io.out()).not.toMatch(/mwg_/);

    io = captureOutput();
    expect(await gatewayRevoke({ configPath, id: 'plant1-gw1' })).toBe(0);
    expect(io.out()).toMatch(/revoked/);
    io = captureOutput();
    expect(await gatewayRevoke({ configPath, id: 'plant1-gw1' })).toBe(1);
    expect(io.err()).toMatch(/No active gateway "plant1-gw1"/);
    expect(process.exitCode).toBe(1);
  });

  it('exits 2 with the file and the path when the config is wrong', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'http:\n  prot: 80\n');
    const io = captureOutput();
    expect(await gatewayList({ configPath: bad })).toBe(2);
    expect(io.err()).toContain(`config error in ${bad}`);
    expect(io.err()).toMatch(/unknown key "prot"/);
    expect(process.exitCode).toBe(2);
  });

  it('runs the cloud until SIGTERM, then stops cleanly', async () => {
    const io = captureOutput();
    const running = runCloud({ configPath });
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      url = /listening on (http:\/\/\S+)/.exec(io.err())?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url).toBeDefined();
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ ok: true, timescale: true });
    process.emit('SIGTERM', 'SIGTERM');
    expect(await running).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';

/**
 * The built `millwright` command, as a person or an MCP client runs it (npm test builds first).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist', 'bin', 'millwright.js');
const dir = mkdtempSync(join(tmpdir(), 'mw-cli-'));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const edgeYaml = (extra = '') => `gateway: { id: cli-gw, site: plant1 }
dataDir: ${join(dir, 'edge')}
sources:
  - type: mqtt
    embeddedBroker: { port: 0 }
mcp:
  http: { port: 0 }
log: { level: error }
${extra}`;

describe('millwright CLI', () => {
  it.each([[[]], [['edge']], [['cloud']], [['cloud', 'gateway']], [['sim']], [['demo']]])('%j --help explains itself', (args) => {
    const r = run(...args, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: millwright/);
  });

  it('a config with an unknown key: exit 2 and one message naming the file, the path and the key', () => {
    const f = file('typo.yaml', edgeYaml('sync: { url: http://127.0.0.1:1, token: t, batchsize: 10 }\n'));
    const r = run('edge', '--config', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`config error in ${f}:\n  - at sync: unknown key "batchsize" (not a setting; check the spelling)\n`);
  });

  it('a config with a wrong type: exit 2', () => {
    const f = file('type.yaml', edgeYaml().replace('port: 0 }\nlog', 'port: "eighty" }\nlog'));
    const r = run('edge', '--config', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/at mcp\.http\.port: Invalid input: expected number, received string/);
  });

  it('a missing required option or a bad number: exit 2', () => {
    expect(run('edge').status).toBe(2);
    expect(run('sim', '--url', 'mqtt://127.0.0.1:1', '--machines', 'lots').status).toBe(2);
  });

  it('sim --list shows the bundled scenarios', () => {
    const r = run('sim', '--list');
    expect(r.status).toBe(0);
    for (const name of ['small-plant', 'faulty-line', 'scale-10k', 'run-to-failure']) expect(r.stdout).toContain(name);
  });

  it('sim export writes the NAB layout, the C-MAPSS tables and the ground truth', () => {
    const out = join(dir, 'export');
    const r = run('sim', 'export', '--scenario', 'faulty-line', '--days', '0.25', '--out', out);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/exported faulty-line to .*: \d+ steps of \d+ sensors/);
    const labels = JSON.parse(readFileSync(join(out, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
    const files = Object.keys(labels);
    expect(files.length).toBeGreaterThan(0);
    const csv = readFileSync(join(out, 'data', files[0]!), 'utf8').split('\n');
    expect(csv[0]).toBe('timestamp,value');
    expect(csv[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},-?\d/);
    expect(existsSync(join(out, 'ground-truth.json'))).toBe(true);
  });

  it('sim with a scenario file that is wrong: exit 2 and what is wrong where', () => {
    const f = file('scenario.yaml', 'name: bad\nmachines: { pumpx: 2 }\n');
    const r = run('sim', '--url', 'mqtt://127.0.0.1:1', '--scenario', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/at machines\.pumpx: unknown machine type "pumpx"/);
  });

  it('the edge serves its MCP tools over stdio', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'edge', '--config', file('edge.yaml', edgeYaml()), '--stdio'], stderr: 'pipe' });
    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(transport);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['get_sensor_history', 'list_sensors']);
    const r = await client.callTool({ name: 'list_sensors', arguments: {} });
    expect(r.structuredContent).toEqual({ sensors: [], nextCursor: null });
    await client.close();
  });

  it('the cloud serves its MCP tools over stdio', async () => {
    const cfg = file('cloud.yaml', `http: { port: 0 }\ndatabase: { dataDir: ${join(dir, 'pglite')} }\nlog: { level: error }\n`);
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'cloud', '--config', cfg, '--stdio'], stderr: 'pipe' });
    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['fleet_overview', 'get_sensor_history']));
    const r = await client.callTool({ name: 'fleet_overview', arguments: {} });
    expect(r.structuredContent).toMatchObject({ gateways: [], totals: { gateways: 0 } });
    await client.close();
  });
});

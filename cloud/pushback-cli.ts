import { readFileSync } from 'node:fs';
import { publishModel, requestAlarmAck, setGatewayConfig } from './db/pushback.js';
import { EXIT_CONFIG, EXIT_OK, withDatabase } from './main.js';

/** "sync.batchSize=1000" → ["sync.batchSize", 1000]; a value that is not JSON stays a string. */
function parseSetting(arg: string): [string, unknown] | undefined {
  const eq = arg.indexOf('=');
  if (eq <= 0) return undefined;
  const raw = arg.slice(eq + 1);
  try {
    return [arg.slice(0, eq), JSON.parse(raw) as unknown];
  } catch {
    return [arg.slice(0, eq), raw];
  }
}

/** `millwright cloud gateway config --id X --set key=value …`: the next remote settings version. */
export async function gatewayConfig(opts: { configPath?: string; id: string; set: string[]; by?: string }): Promise<number> {
  const settings: Record<string, unknown> = {};
  for (const arg of opts.set) {
    const kv = parseSetting(arg);
    if (!kv) {
      process.stderr.write(`--set ${arg}: expected key=value, e.g. --set sync.batchSize=2000\n`);
      return EXIT_CONFIG;
    }
    settings[kv[0]] = kv[1];
  }
  return withDatabase(opts.configPath, async (db) => {
    const version = await setGatewayConfig(db.pool, opts.id, settings, opts.by);
    process.stdout.write(
      `Gateway "${opts.id}": remote settings version ${version} saved; the gateway applies it at its next contact (see "millwright cloud gateway list").\n`,
    );
    return EXIT_OK;
  });
}

/** `millwright cloud model publish --name N --file F [--site S]`: the next version of a model. */
export async function modelPublish(opts: { configPath?: string; name: string; file: string; site?: string }): Promise<number> {
  let content: Buffer;
  try {
    content = readFileSync(opts.file);
  } catch (err) {
    process.stderr.write(`--file ${opts.file}: ${(err as Error).message}\n`);
    return EXIT_CONFIG;
  }
  return withDatabase(opts.configPath, async (db) => {
    const m = await publishModel(db.pool, { name: opts.name, content, ...(opts.site ? { site: opts.site } : {}) });
    process.stdout.write(
      `Model "${opts.name}" version ${m.version} (${content.length} bytes, sha256 ${m.sha256}) published to ${opts.site ? `site ${opts.site}` : 'every site'}; gateways fetch it at their next contact.\n`,
    );
    return EXIT_OK;
  });
}

/** `millwright cloud alarm ack --gateway G --alarm ID --by WHO [--note N]`: sent to the edge that raised it. */
export async function alarmAck(opts: { configPath?: string; gateway: string; alarm: string; by: string; note?: string }): Promise<number> {
  if (!/^[0-9a-f]{32}$/.test(opts.alarm)) {
    process.stderr.write(`--alarm ${opts.alarm}: an alarm id is 32 hex digits\n`);
    return EXIT_CONFIG;
  }
  return withDatabase(opts.configPath, async (db) => {
    await requestAlarmAck(db.pool, { gateway: opts.gateway, alarmId: opts.alarm, by: opts.by, ...(opts.note ? { note: opts.note } : {}) });
    process.stdout.write(`Acknowledgement of alarm ${opts.alarm} queued for gateway "${opts.gateway}"; it applies it at its next contact.\n`);
    return EXIT_OK;
  });
}

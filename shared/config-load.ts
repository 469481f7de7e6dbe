import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';

/** A config file that cannot be used. The CLI prints `message` and exits with code 2. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`config error in ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `sources[0].url` style path, as a person would write it in the YAML. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      const where = i.path.length ? formatPath(i.path) : 'the top level';
      return `at ${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (not a setting; check the spelling)`;
    }
    return `at ${formatPath(i.path)}: ${i.message}`;
  });
}

/** Validates an already-parsed object against a schema, naming `file` in any error. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, file: string): z.output<S> {
  const result = schema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(file, describeIssues(result.error.issues));
  return result.data;
}

/** Reads a YAML config file and validates it strictly. */
export function loadConfigFile<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError(file, [`not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(schema, raw, file);
}

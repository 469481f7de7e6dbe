import type { SqliteDb } from './db.js';

export interface RemoteConfigRow {
  version: number;
  settings: Record<string, unknown>;
  refused: { version: number; reason: string } | undefined;
}

/** The applied pushback (migrations/009_pushback.sql): reads on any connection, writes on the writer's. */
export interface PushbackStore {
  remoteConfig(): RemoteConfigRow;
  /** Latest installed version per model name. */
  models(): Record<string, number>;
  modelFile(name: string): { version: number; file: string; sha256: string } | undefined;
  saveConfig(version: number, settings: Record<string, unknown>): void;
  refuseConfig(version: number, reason: string): void;
  recordModel(m: { name: string; version: number; sha256: string; file: string }): void;
}

export function createPushbackStore(db: SqliteDb): PushbackStore {
  const cfg = db.prepare<[], { version: number; settings: string; refused_version: number | null; refused_reason: string | null }>(
    'SELECT version, settings, refused_version, refused_reason FROM remote_config WHERE id = 1',
  );
  const save = db.prepare<[number, string, number]>('UPDATE remote_config SET version = ?, settings = ?, applied_at = ? WHERE id = 1');
  const refuse = db.prepare<[number, string]>('UPDATE remote_config SET refused_version = ?, refused_reason = ? WHERE id = 1');
  const models = db.prepare<[], { name: string; version: number }>('SELECT name, max(version) AS version FROM models GROUP BY name');
  const model = db.prepare<[string], { version: number; file: string; sha256: string }>(
    'SELECT version, file, sha256 FROM models WHERE name = ? ORDER BY version DESC LIMIT 1',
  );
  const record = db.prepare('INSERT OR REPLACE INTO models (name, version, sha256, file, installed_at) VALUES (@name, @version, @sha256, @file, @at)');
  return {
    remoteConfig() {
      const r = cfg.get();
      return {
        version: r?.version ?? 0,
        settings: r ? (JSON.parse(r.settings) as Record<string, unknown>) : {},
        refused: r?.refused_version ? { version: r.refused_version, reason: r.refused_reason ?? '' } : undefined,
      };
    },
    models: () => Object.fromEntries(models.all().map((m) => [m.name, m.version])),
    modelFile: (name) => model.get(name),
    saveConfig: (version, settings) => void save.run(version, JSON.stringify(settings), Date.now()),
    refuseConfig: (version, reason) => void refuse.run(version, reason.slice(0, 2000)),
    recordModel: (m) => void record.run({ ...m, at: Date.now() }),
  };
}

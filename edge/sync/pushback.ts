import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alarm } from '../../shared/alarm.js';
import { describeIssues } from '../../shared/config-load.js';
import type { Logger } from '../../shared/log.js';
import { RemoteSettings, type Applied, type ModelPush, type Pushback } from '../../shared/pushback.js';
import type { PushbackStore } from '../store/pushback-store.js';

export interface PushbackDeps {
  /** Reads: the read-only connection. */
  store: Pick<PushbackStore, 'remoteConfig' | 'models'>;
  alarm(id: string): Alarm | undefined;
  /** Writes: the writer thread. */
  write: {
    saveConfig(version: number, settings: Record<string, unknown>): Promise<void>;
    refuseConfig(version: number, reason: string): Promise<void>;
    recordModel(m: { name: string; version: number; sha256: string; file: string }): Promise<void>;
    recordAlarms(alarms: readonly Alarm[]): Promise<number>;
  };
  dataDir: string;
  download(path: string): Promise<{ status: number; body: Buffer }>;
  /** Puts remote settings in force in the running agent (they were checked). */
  onSettings(settings: RemoteSettings): void;
  log: Logger;
}

/** Remote settings (dotted config paths) as the sync client's live settings. */
export function liveSyncSettings(s: RemoteSettings): { batchSize?: number; intervalMs?: number; maxBytesPerSecond?: number } {
  return {
    ...(s['sync.batchSize'] !== undefined ? { batchSize: s['sync.batchSize'] } : {}),
    ...(s['sync.intervalMs'] !== undefined ? { intervalMs: s['sync.intervalMs'] } : {}),
    ...(s['sync.maxBytesPerSecond'] !== undefined ? { maxBytesPerSecond: s['sync.maxBytesPerSecond'] } : {}),
  };
}

export interface PushbackStatus {
  configVersion: number;
  refused: { version: number; reason: string } | null;
  models: Record<string, number>;
  lastError: string | null;
}

export interface PushbackApplier {
  /** What to tell the cloud with the next request. */
  applied(): Applied;
  /** The cloud answered a request that carried `sent`: the acknowledgements in it are delivered. */
  reported(sent: Applied): void;
  /** Applies a reply's pushback: settings and acknowledgements at once, models in the background. Never throws. */
  apply(push: Pushback): Promise<void>;
  /** Waits for a model download under way (for a clean stop). */
  idle(): Promise<void>;
  status(): PushbackStatus;
}

/**
 * The edge end of the channel back (shared/pushback.ts). Version checks make every part
 * idempotent: a config at or below the version in force, a model version already installed, an
 * acknowledgement of an alarm already acknowledged: each changes nothing, and is reported again.
 */
export function createPushbackApplier(deps: PushbackDeps): PushbackApplier {
  const log = deps.log.child({ component: 'pushback' });
  const handledAcks = new Set<string>();
  let lastError: string | null = null;
  const fail = (what: string, err: unknown) => {
    lastError = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    log.warn('pushback_not_applied', { what, err });
  };

  async function applyConfig(c: NonNullable<Pushback['config']>): Promise<void> {
    const current = deps.store.remoteConfig();
    if (c.version <= current.version || c.version === current.refused?.version) return;
    const parsed = RemoteSettings.safeParse(c.settings);
    if (!parsed.success) {
      const reason = `not applied: ${describeIssues(parsed.error.issues).join('; ')}`;
      await deps.write.refuseConfig(c.version, reason);
      fail(`remote config version ${c.version}`, reason);
      return;
    }
    deps.onSettings(parsed.data);
    await deps.write.saveConfig(c.version, parsed.data);
    log.info('remote_config_applied', { version: c.version, settings: parsed.data });
  }

  // Downloads run beside the sync loop, one at a time, so a large model never holds up readings;
  // a version that failed waits longer before each new try (1 min doubling to 1 h).
  let downloading: Promise<void> | undefined;
  const retryAt = new Map<string, { at: number; delayMs: number }>();
  function scheduleModels(models: readonly ModelPush[]): void {
    if (downloading) return;
    const key = (m: ModelPush) => `${m.name}@${m.version}`;
    const due = models.filter((m) => (retryAt.get(key(m))?.at ?? 0) <= Date.now());
    if (due.length === 0) return;
    downloading = (async () => {
      for (const m of due) {
        try {
          await installModel(m);
          retryAt.delete(key(m));
        } catch (err) {
          const delayMs = Math.min(3600_000, (retryAt.get(key(m))?.delayMs ?? 30_000) * 2);
          retryAt.set(key(m), { at: Date.now() + delayMs, delayMs });
          fail(`model ${m.name} version ${m.version}`, err);
        }
      }
    })().finally(() => (downloading = undefined));
  }

  async function installModel(m: ModelPush): Promise<void> {
    if ((deps.store.models()[m.name] ?? 0) >= m.version) return;
    const res = await deps.download(m.path);
    if (res.status !== 200) throw new Error(`GET ${m.path} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    const sha256 = createHash('sha256').update(res.body).digest('hex');
    if (sha256 !== m.sha256 || res.body.length !== m.bytes) {
      throw new Error(`model ${m.name} version ${m.version} arrived damaged (sha256 ${sha256}, ${res.body.length} bytes; expected ${m.sha256}, ${m.bytes})`);
    }
    const dir = join(deps.dataDir, 'models');
    mkdirSync(dir, { recursive: true });
    const file = `models/${m.name}@${m.version}.model`;
    // Written aside and renamed: a crash leaves the old model or the whole new one, never half.
    const tmp = join(deps.dataDir, `${file}.part`);
    writeFileSync(tmp, res.body, { flush: true });
    renameSync(tmp, join(deps.dataDir, file));
    await deps.write.recordModel({ name: m.name, version: m.version, sha256, file });
    log.info('model_installed', { name: m.name, version: m.version, bytes: m.bytes });
  }

  async function applyAck(a: NonNullable<Pushback['alarmAcks']>[number]): Promise<void> {
    const alarm = deps.alarm(a.alarmId);
    if (!alarm) {
      log.warn('alarm_ack_unknown', { alarmId: a.alarmId, by: a.by });
    } else if (!alarm.ack) {
      // A new version of the alarm, later than the last, so it wins everywhere (events.ts, cloud).
      const updatedAt = Math.max(Date.now(), alarm.updatedAt + 1);
      await deps.write.recordAlarms([{ ...alarm, updatedAt, ack: { by: a.by, at: a.at, ...(a.note ? { note: a.note } : {}) } }]);
      log.info('alarm_acknowledged_remotely', { alarmId: a.alarmId, by: a.by });
    }
    handledAcks.add(a.alarmId);
  }

  return {
    applied() {
      const c = deps.store.remoteConfig();
      return {
        config: { version: c.version, ...(c.refused && c.refused.version > c.version ? { refused: c.refused } : {}) },
        models: deps.store.models(),
        alarmAcks: [...handledAcks].slice(0, 1000),
      };
    },
    reported(sent) {
      for (const id of sent.alarmAcks) handledAcks.delete(id);
    },
    async apply(push) {
      if (push.config) await applyConfig(push.config).catch((err: unknown) => fail(`remote config version ${push.config!.version}`, err));
      if (push.models) scheduleModels(push.models);
      for (const a of push.alarmAcks ?? []) await applyAck(a).catch((err: unknown) => fail(`acknowledgement of alarm ${a.alarmId}`, err));
    },
    idle: async () => {
      await downloading;
    },
    status() {
      const c = deps.store.remoteConfig();
      return { configVersion: c.version, refused: c.refused ?? null, models: deps.store.models(), lastError };
    },
  };
}

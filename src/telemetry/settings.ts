import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** Admin-tunable settings, stored in the `settings` table. */
export interface Settings {
  /** Keep request and response bodies in the request log (off by default). */
  logBodies: boolean;
  /** Each stored body is cut to this many bytes. */
  logBodyMaxBytes: number;
  /** Keep at most this many request-log rows… */
  logRetentionCount: number;
  /** …and none older than this many days. */
  logRetentionDays: number;
}

export const DEFAULT_SETTINGS: Settings = {
  logBodies: false,
  logBodyMaxBytes: 64 * 1024,
  logRetentionCount: 100_000,
  logRetentionDays: 30,
};

const LIMITS: Record<Exclude<keyof Settings, 'logBodies'>, [number, number]> = {
  logBodyMaxBytes: [256, 4 * 1024 * 1024],
  logRetentionCount: [100, 10_000_000],
  logRetentionDays: [1, 3650],
};

/** Validates a PATCH body; throws `{field, message}` on a bad value. */
export function parseSettingsPatch(body: unknown): Partial<Settings> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw { field: 'body', message: 'must be a JSON object' };
  const b = body as Record<string, unknown>;
  const out: Partial<Settings> = {};
  if (b.logBodies !== undefined) {
    if (typeof b.logBodies !== 'boolean') throw { field: 'logBodies', message: 'must be true or false' };
    out.logBodies = b.logBodies;
  }
  for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
    if (b[key] === undefined) continue;
    const [min, max] = LIMITS[key];
    const v = b[key];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw { field: key, message: `must be an integer from ${min} to ${max}` };
    out[key] = v as number;
  }
  return out;
}

export async function loadSettings(db: Kysely<Database>): Promise<Settings> {
  const rows = await db.selectFrom('settings').selectAll().execute();
  const s: Settings = { ...DEFAULT_SETTINGS };
  for (const r of rows) {
    if (!(r.key in s)) continue;
    try {
      (s as unknown as Record<string, unknown>)[r.key] = JSON.parse(r.value);
    } catch { /* keep default */ }
  }
  return s;
}

export async function saveSettings(db: Kysely<Database>, patch: Partial<Settings>): Promise<void> {
  for (const [key, value] of Object.entries(patch)) {
    await db
      .insertInto('settings')
      .values({ key, value: JSON.stringify(value) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value) }))
      .execute();
  }
}

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

// PATCH /admin/settings is validated by parseSettingsPatch in admin/validate.ts (every admin schema is there).

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

/** The request-log settings: `PATCH /admin/settings` (each optional) and a configuration document's `settings`. */
import { z } from 'zod';
import { flag, says, strictDoc } from './common.js';

const between = (min: number, max: number) =>
  z.number(says(`must be an integer from ${min} to ${max}`))
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` });

export const settingsFields = {
  /** Keep request and response bodies in the request log. */
  logBodies: flag(),
  /** Each stored body is cut to this many bytes. */
  logBodyMaxBytes: between(256, 4 * 1024 * 1024),
  /** Keep at most this many request-log rows… */
  logRetentionCount: between(100, 10_000_000),
  /** …and none older than this many days. */
  logRetentionDays: between(1, 3650),
};

/** The names of the settings, in their order. */
export const SETTING_NAMES = Object.keys(settingsFields) as (keyof typeof settingsFields)[];

/** `PATCH /admin/settings`: any of them. */
export const settingsPatchSchema = strictDoc({
  logBodies: settingsFields.logBodies.optional(),
  logBodyMaxBytes: settingsFields.logBodyMaxBytes.optional(),
  logRetentionCount: settingsFields.logRetentionCount.optional(),
  logRetentionDays: settingsFields.logRetentionDays.optional(),
});

/** All of them (`GET /admin/settings`). */
export const settingsSchema = strictDoc(settingsFields);

export type SettingsValue = z.output<typeof settingsSchema>;
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

/**
 * The configuration document (CONTRACT "Configuration as data"): the gateway's whole setup as
 * data, answered by `GET /admin/config`, applied by `POST /admin/config` and by `CONFIG_FILE` at
 * every start. Each part reuses the schema of the admin route that edits it, so a field is declared
 * once. Everything is named, never numbered: providers by name, members by pool + provider name +
 * model, access keys by name (names compared trimmed, in any case).
 *
 *   version: 1
 *   providers: [{name, baseUrl, format, apiKey | apiKeys, enabled, cooldownSeconds, options}]
 *   pools: {tool|normal|advanced: {affinity, members: [{provider, model, enabled, weight, contextWindow, vision}]}}
 *   accessKeys: [{name, pools, rpm, maxConcurrent, expiresAt, enabled, key?}]
 *   settings: {logBodies, logBodyMaxBytes, logRetentionCount, logRetentionDays}
 *   prices: [{match, input, output, cacheRead, cacheWrite}]
 *
 * A part left out is left alone; a field left out of an entry keeps its value (a new entry: the
 * default).
 */
import { z } from 'zod';
import { nameKey, nameSchema, says, strictDoc } from './common.js';
import { oneKeyField, providerFields } from './provider.js';
import { affinitySchema, memberSettableFields, modelNameSchema } from './pools.js';
import { accessKeyFields } from './access-key.js';
import { settingsPatchSchema } from './settings.js';
import { pricesListSchema } from './prices.js';

export const CONFIG_VERSION = 1;

/** A provider: name, baseUrl and format always; its keys only when they are to be set. */
export const configProviderSchema = strictDoc(providerFields).superRefine(oneKeyField);

/** A member of a pool, named by its provider's name and its model. */
export const configMemberSchema = strictDoc({
  provider: nameSchema,
  model: modelNameSchema,
  ...memberSettableFields,
});

/** One pool: its affinity, and its members (when given: the whole list, see prune). */
export const configPoolSchema = strictDoc({
  affinity: affinitySchema.optional(),
  members: z.array(configMemberSchema, says('must be a list of members {provider, model, …}')).optional(),
});

/**
 * An access key's secret given by the document (e.g. `${CLIENT_KEY}` in a CONFIG_FILE), so that the
 * clients' key is known in advance; stored only as its hash, never exported.
 */
export const accessKeySecretSchema = z
  .string(says('must be a string'))
  .trim()
  .regex(/^sk-apg-[A-Za-z0-9_-]{22,200}$/, { error: 'must be sk-apg- followed by at least 22 random letters, digits, - or _ (e.g. `echo sk-apg-$(openssl rand -hex 24)`)' });

export const configAccessKeySchema = strictDoc({ ...accessKeyFields, key: accessKeySecretSchema.optional() });

export const configDocumentSchema = strictDoc({
  /** The document's format; 1 (the only one so far) when left out. */
  version: z.literal(CONFIG_VERSION, says(`must be ${CONFIG_VERSION}`)).optional(),
  providers: z.array(configProviderSchema, says('must be a list of providers')).optional(),
  pools: strictDoc({ tool: configPoolSchema.optional(), normal: configPoolSchema.optional(), advanced: configPoolSchema.optional() }).optional(),
  accessKeys: z.array(configAccessKeySchema, says('must be a list of access keys')).optional(),
  settings: settingsPatchSchema.optional(),
  prices: pricesListSchema.optional(),
}, { what: 'must be a mapping (a JSON object or a YAML document of key: value lines)' }).superRefine((doc, ctx) => {
  // A name may appear once per list (the way entries are matched to what the gateway has).
  const once = <T>(list: readonly T[] | undefined, key: (t: T) => string, path: (i: number) => PropertyKey[], what: string) => {
    const seen = new Map<string, number>();
    list?.forEach((t, i) => {
      const k = key(t);
      const first = seen.get(k);
      if (first === undefined) seen.set(k, i);
      else ctx.addIssue({ code: 'custom', path: path(i), message: `${what} is already entry ${first} of this list` });
    });
  };
  once(doc.providers, (p) => nameKey(p.name), (i) => ['providers', i, 'name'], 'this name');
  once(doc.accessKeys, (k) => nameKey(k.name), (i) => ['accessKeys', i, 'name'], 'this name');
  for (const pool of ['tool', 'normal', 'advanced'] as const) {
    once(doc.pools?.[pool]?.members, (m) => `${nameKey(m.provider)}\u0000${m.model}`, (i) => ['pools', pool, 'members', i, 'model'], 'this provider and model');
  }
});

/** A configuration document as written (export, import, CONFIG_FILE). */
export type ConfigDocument = z.input<typeof configDocumentSchema>;
/** A configuration document once parsed (base URLs normalised, expiry times in milliseconds). */
export type ParsedConfig = z.output<typeof configDocumentSchema>;

/** One change that applying a document makes (or, in a dry run, would make). */
export interface ConfigChange {
  kind: 'provider' | 'pool' | 'member' | 'accessKey' | 'settings' | 'prices';
  action: 'create' | 'update' | 'delete';
  /** The provider's or key's name, the pool's, `pool/provider/model` for a member, `settings`, `prices`. */
  name: string;
  /** For an update: the fields that change (never their values: keys stay secret). */
  fields?: string[];
}

/** The answer of `POST /admin/config`. */
export interface ConfigApplyResult {
  dryRun: boolean;
  changes: ConfigChange[];
  /** Access keys the document created without a `key`: their secrets, shown this once. */
  createdKeys: { name: string; key: string }[];
}

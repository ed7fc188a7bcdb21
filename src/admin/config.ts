/**
 * Configuration as data (CONTRACT "Configuration as data"): the whole setup as one document
 * (schema/config.ts), read out of the gateway (`exportConfig`) and applied to it (`applyConfig`) by
 * `GET`/`POST /admin/config` and by `CONFIG_FILE` at every start (`applyConfigFile`).
 *
 * Applying first checks everything: the document against its schema, then against the gateway
 * (members name providers that exist or are created, a provider whose base URL moves to another
 * origin brings its key). Only then does it write, entry by entry through the same store calls the
 * admin routes use, and reload once. A bad document therefore changes nothing, and a dry run is the
 * same plan without the writes. Applies run one at a time per process.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import type { Gateway } from '../gateway.js';
import type { NewProvider, Provider } from '../store/repo.js';
import type { ProviderOptions } from '../protocol/convert/types.js';
import type { AccessKeyInput } from '../access/keys.js';
import { hashSecret, newSecret } from '../access/keys.js';
import { POOL_NAMES, type PoolName } from '../routing/pools.js';
import { normalizeBaseUrl } from '../upstream/url.js';
import { listPrices, replacePrices, samePrices } from '../telemetry/prices.js';
import { FieldError, fieldPath, nameKey, parseWith } from './schema/common.js';
import { providerOptionsSchema } from './schema/provider.js';
import { SETTING_NAMES } from './schema/settings.js';
import { CONFIG_VERSION, configDocumentSchema, type ConfigApplyResult, type ConfigChange, type ConfigDocument, type ParsedConfig } from './schema/config.js';

export type { ConfigApplyResult, ConfigChange, ConfigDocument } from './schema/config.js';

/** A stored base URL as it is called (see normalizeBaseUrl); one that does not parse, as stored. */
function shownBaseUrl(baseUrl: string): string {
  try {
    return normalizeBaseUrl(baseUrl);
  } catch {
    return baseUrl;
  }
}

/** Same scheme, host and port. */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** A provider's keys in order ("" for one that does not open). */
function storedKeys(p: Provider): string[] {
  if (p.keys) return p.keys.map((k) => k.apiKey);
  return p.apiKey === '' ? [] : [p.apiKey];
}

const unreadable = (p: Provider) => p.keyUnreadable === true || (p.keys?.some((k) => k.unreadable) ?? false);

const OPTION_NAMES = Object.keys(providerOptionsSchema.shape);

/** Options as stored: the known ones, none null, in a fixed order (so that two can be compared). */
function cleanOptions(o: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of OPTION_NAMES) if (o?.[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// ---- export -------------------------------------------------------------------------------------

/**
 * The gateway's setup as a configuration document. Provider keys only with `secrets` (`apiKey`
 * for one, `apiKeys` for several; a key that does not open is left out); access keys never carry
 * their secret (only its hash is kept).
 */
export async function exportConfig(gw: Gateway, opts: { secrets?: boolean } = {}): Promise<ConfigDocument> {
  const [providers, members, keys] = await Promise.all([gw.repo.listProviders(), gw.repo.listMembers(), gw.keys.list()]);
  const byId = new Map(providers.map((p) => [p.id, p]));
  const settings = gw.telemetry.settings as unknown as Record<string, unknown>;
  return {
    version: CONFIG_VERSION,
    providers: providers.map((p) => {
      const list = unreadable(p) ? [] : storedKeys(p).filter((k) => k !== '');
      const secrets = !opts.secrets || list.length === 0 ? {} : list.length === 1 ? { apiKey: list[0]! } : { apiKeys: list };
      return {
        name: p.name,
        baseUrl: shownBaseUrl(p.baseUrl),
        format: p.format,
        ...secrets,
        enabled: p.enabled,
        cooldownSeconds: p.cooldownSeconds,
        options: cleanOptions(p.options as Record<string, unknown>),
      };
    }),
    pools: Object.fromEntries(POOL_NAMES.map((pool) => [pool, {
      affinity: gw.poolAffinity(pool),
      members: members.filter((m) => m.pool === pool && byId.has(m.providerId)).map((m) => ({
        provider: byId.get(m.providerId)!.name,
        model: m.model,
        enabled: m.enabled,
        weight: m.weight,
        contextWindow: m.contextWindow ?? null,
        vision: m.vision ?? null,
      })),
    }])),
    accessKeys: keys.map((k) => ({
      name: k.name,
      pools: k.pools,
      rpm: k.rpm,
      maxConcurrent: k.maxConcurrent,
      expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
      enabled: k.enabled,
    })),
    settings: Object.fromEntries(SETTING_NAMES.map((k) => [k, settings[k]])) as ConfigDocument['settings'],
    prices: listPrices(gw),
  };
}

/** The document as YAML, with a line saying what it is. */
export function configToYaml(doc: ConfigDocument): string {
  const d = new YAML.Document(doc);
  d.commentBefore = ' API Pool Gateway configuration (GET /admin/config; apply with POST /admin/config or CONFIG_FILE)';
  return d.toString({ lineWidth: 0 });
}

// ---- reading a document -------------------------------------------------------------------------

/**
 * A document's text (YAML, and so JSON too) → its value. A syntax error is a FieldError on
 * `root` with the line and column.
 */
export function parseConfigText(text: string, root = 'body'): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    throw new FieldError(root, `is not valid YAML or JSON: ${at}${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new FieldError(root, `is not usable: ${(err as Error).message}`);
  }
}

/**
 * `${NAME}` in every string of a CONFIG_FILE document → that environment variable (`${NAME:-word}`:
 * `word` when it is unset or empty; `$${` is a literal `${`). Only string values are read, so a
 * key with any characters in it is safe and a comment is never substituted. A variable that is not
 * set is a FieldError naming the field and the variable.
 */
export function substituteEnv(value: unknown, env: Record<string, string | undefined>, path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$)?\{([^}]*)\}/g, (whole, escaped: string | undefined, inner: string) => {
      if (escaped) return whole.slice(1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
      if (!m) throw new FieldError(fieldPath(path) || 'CONFIG_FILE', `"\${${inner}}" is not a variable reference: write \${NAME} or \${NAME:-default} (and $\${ for a literal \${)`);
      const v = env[m[1]!];
      if (m[2] !== undefined) return v === undefined || v === '' ? m[2] : v;
      if (v === undefined) throw new FieldError(fieldPath(path) || 'CONFIG_FILE', `environment variable ${m[1]} is not set (it is used as \${${m[1]}}): set it, or write \${${m[1]}:-default}`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k])]));
  }
  return value;
}

/** One change in words, for the log: `update provider deepseek (baseUrl, apiKey)`, `update settings (logBodies)`. */
export function describeChange(c: ConfigChange): string {
  return `${c.action} ${c.kind}${c.name !== c.kind ? ` ${c.name}` : ''}${c.fields ? ` (${c.fields.join(', ')})` : ''}`;
}

// ---- applying -----------------------------------------------------------------------------------

const running = new WeakMap<Gateway, Promise<unknown>>();

/** Applies one document at a time per gateway (two imports at once would plan against the same state). */
function oneAtATime<T>(gw: Gateway, fn: () => Promise<T>): Promise<T> {
  const before = running.get(gw) ?? Promise.resolve();
  const run = before.then(fn, fn);
  running.set(gw, run.catch(() => undefined));
  return run;
}

export interface ApplyOptions {
  /** Answer the changes without making them. */
  dryRun?: boolean;
  /** Also remove what the document does not name, in each part it has (see the README). */
  prune?: boolean;
  /** What the whole document is called in a 400 (`body`, `CONFIG_FILE`). */
  root?: string;
}

/**
 * Validates `input` as a configuration document and applies it: creates and updates by name;
 * with `prune`, removes what a part of the document does not name. Throws a FieldError naming the
 * first bad field before anything is written.
 */
export async function applyConfig(gw: Gateway, input: unknown, opts: ApplyOptions = {}): Promise<ConfigApplyResult> {
  const doc = parseWith(configDocumentSchema, input, opts.root ?? 'body');
  return oneAtATime(gw, async () => {
    const plan = await planConfig(gw, doc, opts.prune === true, opts.dryRun === true);
    if (!opts.dryRun && plan.writes.length > 0) {
      for (const write of plan.writes) await write();
      await gw.changed();
      for (const after of plan.after) await after();
    }
    return { dryRun: opts.dryRun === true, changes: plan.changes, createdKeys: opts.dryRun ? [] : plan.createdKeys };
  });
}

interface Plan {
  changes: ConfigChange[];
  /** In order: settings, prices, providers, pools, members, access keys, then what prune removes. */
  writes: (() => Promise<unknown>)[];
  /** After the reload: cooldowns a new key or address ends. */
  after: (() => Promise<unknown>)[];
  createdKeys: { name: string; key: string }[];
}

async function planConfig(gw: Gateway, doc: ParsedConfig, prune: boolean, dryRun: boolean): Promise<Plan> {
  const plan: Plan = { changes: [], writes: [], after: [], createdKeys: [] };
  const { changes, writes } = plan;
  const deletes: (() => Promise<unknown>)[] = [];
  const deleteChanges: ConfigChange[] = [];

  // settings
  if (doc.settings) {
    const current = gw.telemetry.settings as unknown as Record<string, unknown>;
    const patch = Object.fromEntries(Object.entries(doc.settings).filter(([k, v]) => v !== undefined && current[k] !== v));
    if (Object.keys(patch).length > 0) {
      changes.push({ kind: 'settings', action: 'update', name: 'settings', fields: Object.keys(patch) });
      writes.push(() => gw.telemetry.updateSettings(patch));
    }
  }

  // prices: the list is the whole table
  if (doc.prices && !samePrices(doc.prices, listPrices(gw))) {
    changes.push({ kind: 'prices', action: 'update', name: 'prices', fields: [`${doc.prices.length} rows`] });
    const prices = doc.prices;
    writes.push(() => replacePrices(gw, prices));
  }

  // providers, by name
  const providers = await gw.repo.listProviders();
  const providerByName = new Map<string, Provider>();
  for (const p of providers) if (!providerByName.has(nameKey(p.name))) providerByName.set(nameKey(p.name), p);
  /** Provider ids by name: those there now, and those created (filled in as they are written). */
  const ids = new Map<string, number>(providers.map((p) => [nameKey(p.name), p.id]));
  const named = new Set((doc.providers ?? []).map((p) => nameKey(p.name)));
  const pruneProviders = prune && doc.providers !== undefined;
  const nameOf = new Map<string, string>(providers.map((p) => [nameKey(p.name), p.name]));

  doc.providers?.forEach((p, i) => {
    const key = nameKey(p.name);
    nameOf.set(key, p.name);
    const keys = p.apiKeys ?? (p.apiKey === undefined ? undefined : p.apiKey === '' ? [] : [p.apiKey]);
    const options = cleanOptions(p.options as Record<string, unknown> | undefined) as ProviderOptions;
    const cur = providerByName.get(key);
    if (!cur) {
      changes.push({ kind: 'provider', action: 'create', name: p.name });
      writes.push(async () => {
        const created = await gw.repo.createProvider({
          name: p.name,
          baseUrl: p.baseUrl,
          apiKey: keys?.[0] ?? '',
          ...(keys && keys.length > 1 ? { apiKeys: keys } : {}),
          format: p.format,
          enabled: p.enabled ?? true,
          cooldownSeconds: p.cooldownSeconds ?? null,
          options,
        } as NewProvider);
        ids.set(key, created.id);
      });
      return;
    }
    const patch: Partial<NewProvider> = {};
    const fields: string[] = [];
    const set = <K extends keyof NewProvider>(field: K, value: NewProvider[K]) => {
      patch[field] = value;
      fields.push(field);
    };
    if (cur.name !== p.name) set('name', p.name);
    if (shownBaseUrl(cur.baseUrl) !== p.baseUrl) set('baseUrl', p.baseUrl);
    if (cur.format !== p.format) set('format', p.format);
    if (p.enabled !== undefined && p.enabled !== cur.enabled) set('enabled', p.enabled);
    if (p.cooldownSeconds !== undefined && p.cooldownSeconds !== cur.cooldownSeconds) set('cooldownSeconds', p.cooldownSeconds);
    if (p.options !== undefined && !sameJson(options, cleanOptions(cur.options as Record<string, unknown>))) set('options', options);
    if (keys !== undefined && (unreadable(cur) || !sameJson(keys, storedKeys(cur)))) {
      patch.apiKey = keys[0] ?? '';
      patch.apiKeys = keys;
      fields.push(p.apiKeys !== undefined ? 'apiKeys' : 'apiKey');
    }
    // CONTRACT "Provider keys": a stored key is never redirected to another host.
    if (patch.baseUrl !== undefined && keys === undefined && (storedKeys(cur).some((k) => k !== '') || unreadable(cur)) && !sameOrigin(cur.baseUrl, p.baseUrl)) {
      throw new FieldError(`providers[${i}].apiKey`, `is required when baseUrl moves to another origin (${new URL(cur.baseUrl).origin} → ${new URL(p.baseUrl).origin}): the stored key is never sent to a new host; give the key for that host with the change`);
    }
    if (fields.length === 0) return;
    changes.push({ kind: 'provider', action: 'update', name: p.name, fields });
    writes.push(() => gw.repo.updateProvider(cur.id, patch));
    // A new key ends the cooldowns its refusal (401/403) caused; a new address, those of an unreachable host.
    plan.after.push(async () => {
      const now = Date.now();
      for (const m of gw.registry.providerMembers(cur.id)) {
        if (m.cooldownUntil === null || m.cooldownUntil <= now) continue;
        if ((patch.apiKeys !== undefined && m.cooldownKind === 'auth') || (patch.baseUrl !== undefined && m.cooldownKind === 'unreachable')) await gw.resetCooldown(m.id);
      }
    });
  });

  // pools and their members: by pool, provider name and model
  const members = await gw.repo.listMembers();
  const providerById = new Map(providers.map((p) => [p.id, p]));
  const memberName = (pool: PoolName, providerName: string, model: string) => `${pool}/${providerName}/${model}`;
  const removedProviderIds = new Set(pruneProviders ? providers.filter((p) => !named.has(nameKey(p.name))).map((p) => p.id) : []);

  for (const pool of POOL_NAMES) {
    const dp = doc.pools?.[pool];
    if (!dp) continue;
    if (dp.affinity !== undefined && dp.affinity !== gw.poolAffinity(pool)) {
      changes.push({ kind: 'pool', action: 'update', name: pool, fields: ['affinity'] });
      const affinity = dp.affinity;
      writes.push(() => gw.repo.setPoolAffinity(pool, affinity));
    }
    if (!dp.members) continue;
    const kept = new Set<number>();
    dp.members.forEach((m, i) => {
      const key = nameKey(m.provider);
      const existing = providerByName.get(key);
      if (!named.has(key) && (!existing || removedProviderIds.has(existing.id))) {
        const where = doc.providers !== undefined ? (existing ? 'in the document\'s providers (prune would remove it)' : 'in the document\'s providers or in the gateway') : 'in the gateway';
        throw new FieldError(`pools.${pool}.members[${i}].provider`, `no provider named "${m.provider}" ${where}`);
      }
      const label = memberName(pool, nameOf.get(key) ?? m.provider, m.model);
      const cur = existing ? members.find((x) => x.pool === pool && x.providerId === existing.id && x.model === m.model) : undefined;
      if (!cur) {
        changes.push({ kind: 'member', action: 'create', name: label });
        writes.push(async () => {
          const [added] = await gw.repo.addMembers(pool, ids.get(key)!, [{
            id: m.model,
            ...(m.contextWindow !== undefined ? { contextWindow: m.contextWindow } : {}),
            ...(m.vision !== undefined ? { vision: m.vision } : {}),
          }]);
          if (added && ((m.enabled !== undefined && m.enabled !== added.enabled) || (m.weight !== undefined && m.weight !== added.weight))) {
            await gw.repo.updateMember(added.id, { enabled: m.enabled, weight: m.weight });
          }
        });
        return;
      }
      kept.add(cur.id);
      const patch: { enabled?: boolean; weight?: number; contextWindow?: number | null; vision?: boolean | null } = {};
      if (m.enabled !== undefined && m.enabled !== cur.enabled) patch.enabled = m.enabled;
      if (m.weight !== undefined && m.weight !== cur.weight) patch.weight = m.weight;
      if (m.contextWindow !== undefined && m.contextWindow !== (cur.contextWindow ?? null)) patch.contextWindow = m.contextWindow;
      if (m.vision !== undefined && m.vision !== (cur.vision ?? null)) patch.vision = m.vision;
      if (Object.keys(patch).length === 0) return;
      changes.push({ kind: 'member', action: 'update', name: label, fields: Object.keys(patch) });
      writes.push(() => gw.repo.updateMember(cur.id, patch));
    });
    if (prune) {
      for (const m of members) {
        if (m.pool !== pool || kept.has(m.id) || removedProviderIds.has(m.providerId)) continue;
        deleteChanges.push({ kind: 'member', action: 'delete', name: memberName(pool, providerById.get(m.providerId)?.name ?? String(m.providerId), m.model) });
        deletes.push(() => gw.repo.deleteMember(m.id));
      }
    }
  }

  // providers the document does not name (their members go with them)
  for (const p of providers) {
    if (!removedProviderIds.has(p.id)) continue;
    deleteChanges.push({ kind: 'provider', action: 'delete', name: p.name });
    for (const m of members) if (m.providerId === p.id) deleteChanges.push({ kind: 'member', action: 'delete', name: memberName(m.pool, p.name, m.model) });
    deletes.push(() => gw.repo.deleteProvider(p.id));
  }

  // access keys, by name (the gateway's first key of a name is the one the document means)
  const keys = await gw.keys.list();
  const keyByName = new Map<string, (typeof keys)[number]>();
  for (const k of keys) if (!keyByName.has(nameKey(k.name))) keyByName.set(nameKey(k.name), k);
  const keptKeys = new Set<number>();
  for (const k of doc.accessKeys ?? []) {
    const cur = keyByName.get(nameKey(k.name));
    const input: AccessKeyInput = { name: k.name, pools: k.pools, rpm: k.rpm, maxConcurrent: k.maxConcurrent, expiresAt: k.expiresAt, enabled: k.enabled };
    if (!cur) {
      changes.push({ kind: 'accessKey', action: 'create', name: k.name });
      if (dryRun) continue;
      const secret = k.key ?? newSecret();
      if (k.key === undefined) plan.createdKeys.push({ name: k.name, key: secret });
      writes.push(() => gw.keys.create({ ...input, name: k.name, pools: k.pools ?? [...POOL_NAMES] }, hashSecret(secret), secret.slice(-4)));
      continue;
    }
    keptKeys.add(cur.id);
    const patch: AccessKeyInput = {};
    if (cur.name !== k.name) patch.name = k.name;
    if (k.pools !== undefined && !sameJson(k.pools, cur.pools)) patch.pools = k.pools;
    if (k.rpm !== undefined && k.rpm !== cur.rpm) patch.rpm = k.rpm;
    if (k.maxConcurrent !== undefined && k.maxConcurrent !== cur.maxConcurrent) patch.maxConcurrent = k.maxConcurrent;
    if (k.expiresAt !== undefined && k.expiresAt !== cur.expiresAt) patch.expiresAt = k.expiresAt;
    if (k.enabled !== undefined && k.enabled !== cur.enabled) patch.enabled = k.enabled;
    const newHash = k.key !== undefined && hashSecret(k.key) !== cur.hash ? hashSecret(k.key) : null;
    const fields = [...Object.keys(patch), ...(newHash ? ['key'] : [])];
    if (fields.length === 0) continue;
    changes.push({ kind: 'accessKey', action: 'update', name: k.name, fields });
    writes.push(async () => {
      if (Object.keys(patch).length > 0) await gw.keys.update(cur.id, patch);
      if (newHash) await gw.db.kysely.updateTable('access_keys').set({ key_hash: newHash, key_last4: k.key!.slice(-4) }).where('id', '=', cur.id).execute();
    });
  }
  if (prune && doc.accessKeys !== undefined) {
    for (const k of keys) {
      if (keptKeys.has(k.id)) continue;
      deleteChanges.push({ kind: 'accessKey', action: 'delete', name: k.name });
      deletes.push(() => gw.keys.delete(k.id));
    }
  }

  changes.push(...deleteChanges);
  writes.push(...deletes);
  return plan;
}

// ---- CONFIG_FILE --------------------------------------------------------------------------------

/** A CONFIG_FILE that cannot be applied: its one line names the file and the field. */
export class ConfigFileError extends Error {
  constructor(readonly file: string, readonly field: string, message: string) {
    super(`CONFIG_FILE ${file}: ${message}`);
  }
}

/**
 * Reads CONFIG_FILE (YAML or JSON), substitutes `${ENV}` in its strings and applies it (with
 * `prune` when CONFIG_PRUNE is set). Throws a ConfigFileError naming the field; nothing is changed
 * then.
 */
export async function applyConfigFile(gw: Gateway, file: string, env: Record<string, string | undefined>, prune = false): Promise<ConfigApplyResult> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigFileError(file, 'CONFIG_FILE', `cannot be read (${code ?? (err as Error).message}): check the path, and that the gateway's user may read it`);
  }
  try {
    const value = substituteEnv(parseConfigText(text, 'CONFIG_FILE'), env);
    if (value === null || value === undefined) throw new FieldError('CONFIG_FILE', 'is empty: write a configuration document (see GET /admin/config)');
    return await applyConfig(gw, value, { prune, root: 'CONFIG_FILE' });
  } catch (err) {
    if (err instanceof FieldError) throw new ConfigFileError(file, err.field, err.message.startsWith('CONFIG_FILE: ') ? err.message.slice('CONFIG_FILE: '.length) : err.message);
    throw err;
  }
}

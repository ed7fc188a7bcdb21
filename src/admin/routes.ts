import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gateway } from '../gateway.js';
import type { Provider } from '../store/repo.js';
import { POOL_NAMES, isPoolName, type PoolName } from '../routing/pools.js';
import type { LiveKey, LiveMember } from '../routing/registry.js';
import { AdminAuth, MIN_PASSWORD_LENGTH, maskKey } from './auth.js';
import { DEFAULT_ADMIN_PASSWORD } from '../config.js';
import { isLoopbackAddress, isLoopbackHost } from '../access/host.js';
import { registerKeyRoutes } from './keys-routes.js';
import { registerConfigRoutes } from './config-routes.js';
import { registerPriceRoutes } from './prices-routes.js';
import { FieldError, nameKey, parseId, parseMemberPatch, parseMembersInput, parsePasswordBody, parsePoolPatch, parseProviderInput } from './validate.js';
import { normalizeBaseUrl } from '../upstream/url.js';
import { fetchProviderModels } from './models.js';
import { registerTelemetryRoutes } from './telemetry-routes.js';

/** apiKeyMasked of a provider whose stored key does not open with the current SECRET_KEY. */
export const UNREADABLE_KEY = '(cannot decrypt: SECRET_KEY changed?)';

/** Same scheme, host and port (URL.origin normalises case and default ports). */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** The admin API of CONTRACT.md, all under /admin, all behind the admin token but login. */
export async function registerAdmin(app: FastifyInstance, gw: Gateway): Promise<void> {
  const auth = new AdminAuth({ password: gw.config.adminPassword, fromEnv: gw.config.adminPasswordFromEnv }, gw.repo);
  await auth.bindToPassword();
  gw.adminAuth = auth;
  const mode = await auth.mode();
  if (mode === 'default') {
    gw.log.warn(
      isLoopbackHost(gw.config.host)
        ? 'the admin password is the default "admin123": set ADMIN_PASSWORD (or a new password in the UI) before exposing the gateway'
        : `!!! listening on ${gw.config.host} with the default admin password "admin123": it only works from this machine; from elsewhere the UI asks for a new password first. Set ADMIN_PASSWORD to choose one now. !!!`,
    );
  }

  if (!isLoopbackHost(gw.config.host) && gw.access.open) {
    gw.log.warn(`!!! listening on ${gw.config.host} with no access key: anyone who can reach this port can use your providers through /v1. Create an access key (UI: Access keys) to close it. !!!`);
  }
  if (gw.config.adminPasswordFromEnv && gw.config.adminPassword.length < MIN_PASSWORD_LENGTH) {
    gw.log.warn(`ADMIN_PASSWORD is shorter than ${MIN_PASSWORD_LENGTH} characters: choose a longer one before exposing the gateway`);
  }

  const adminError = (reply: FastifyReply, status: number, message: string, field?: string, code?: string) =>
    reply.code(status).send({ error: { message, ...(field ? { field } : {}), ...(code ? { code } : {}) } });
  /** Every 429 of the admin API says when to come back. */
  const throttledError = (reply: FastifyReply, message: string, retryAfter: number) =>
    adminError(reply.header('retry-after', String(retryAfter)), 429, message);

  app.post('/admin/login', async (req, reply) => {
    const ip = req.ip;
    if (auth.throttled(ip)) return throttledError(reply, 'too many wrong passwords from this address; wait a minute', auth.retryAfterSeconds(ip));
    // A request without a password (or with a malformed body) is not a guess: it does not count toward the throttle.
    const password = parsePasswordBody(req.body);
    if (password === undefined) return adminError(reply, 400, 'password required: send {"password":"…"}', 'password');
    if (!(await auth.checkPassword(password))) {
      auth.noteFailure(ip);
      return adminError(reply, 401, 'wrong password');
    }
    const mustChangePassword = !isLocalRequest(req) && (await auth.mode()) === 'default';
    const { token, expiresAt } = await auth.login(mustChangePassword);
    return { token, expiresAt: new Date(expiresAt).toISOString(), mustChangePassword };
  });

  const bearer = (req: FastifyRequest) => {
    const h = req.headers.authorization;
    return typeof h === 'string' && /^bearer\s+/i.test(h) ? h.replace(/^bearer\s+/i, '').trim() : '';
  };

  /** The admin gate: null when the request may go on, else the answer has been sent. */
  const gate = async (req: FastifyRequest, reply: FastifyReply, what: string): Promise<{ mustChange: boolean } | null> => {
    const c = await auth.check(bearer(req), req.ip, isLocalRequest(req));
    if (!c.ok) {
      if (c.status === 429) throttledError(reply, c.message, c.retryAfter ?? 60);
      else adminError(reply, c.status, !bearer(req) ? `${what}: admin token required: Authorization: Bearer <token>` : c.message);
      return null;
    }
    return c;
  };
  const passwordChangeRequired = (reply: FastifyReply) =>
    reply.code(403).send({ error: { message: 'the default admin password only works from the gateway\'s own machine: set a new password first (POST /admin/password {"password"}, 12 characters or more)', code: 'password_change_required' } });

  // Prometheus text format; behind the admin token unless METRICS_PUBLIC=1.
  app.get('/metrics', async (req, reply) => {
    if (!gw.config.metricsPublic) {
      const c = await gate(req, reply, 'admin token required for /metrics (or set METRICS_PUBLIC=1)');
      if (!c) return reply;
      if (c.mustChange) return passwordChangeRequired(reply);
    }
    reply.header('content-type', gw.telemetry.metrics.registry.contentType);
    return gw.telemetry.metrics.registry.metrics();
  });

  const mustChange = new WeakMap<FastifyRequest, boolean>();
  const mustChangeOf = (req: FastifyRequest) => mustChange.get(req) === true;

  app.register(async (scope) => {
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const c = await gate(req, reply, 'admin API');
      if (!c) return reply;
      mustChange.set(req, c.mustChange);
      const path = req.routeOptions.url; // the matched route (decoded), not the raw target
      if (c.mustChange && path !== '/admin/password' && path !== '/admin/logout') return passwordChangeRequired(reply);
    });

    scope.post('/admin/password', async (req, reply) => {
      if (gw.config.adminPasswordFromEnv) {
        return adminError(reply, 409, 'ADMIN_PASSWORD is set in the environment and always wins: change it there and restart');
      }
      const password = parsePasswordBody(req.body);
      if (password === undefined || password.length < MIN_PASSWORD_LENGTH) {
        throw new FieldError('password', `must be a string of ${MIN_PASSWORD_LENGTH} characters or more`);
      }
      if (password === DEFAULT_ADMIN_PASSWORD || password.length > 1024) throw new FieldError('password', 'choose another password');
      // A must-change session exists only while the default password is in force: once somebody
      // (maybe on another replica) has set one, it cannot overwrite it.
      if (mustChangeOf(req) && (await auth.mode(true)) !== 'default') {
        return adminError(reply, 409, 'a new admin password has already been set: log in with it');
      }
      const { token, expiresAt } = await auth.setPassword(password);
      void gw.cluster?.publish({ type: 'reload' });
      req.log.info('admin password changed; every other admin session ended');
      return { token, expiresAt: new Date(expiresAt).toISOString() };
    });

    scope.post('/admin/logout', async (req, reply) => {
      await auth.logout(bearer(req));
      return reply.code(204).send();
    });

    const providerJson = (p: Provider) => {
      let memberCount = 0;
      for (const pool of POOL_NAMES) for (const m of gw.registry.members(pool)) if (m.providerId === p.id) memberCount++;
      return {
        id: p.id,
        name: p.name,
        // Shown as it is called (rows stored before the admin API normalised on write, too).
        baseUrl: shownBaseUrl(p.baseUrl),
        format: p.format,
        apiKeyMasked: (p.keys ? p.keys[0]?.unreadable === true : p.keyUnreadable) ? UNREADABLE_KEY : maskKey(p.apiKey),
        // CONTRACT "Provider keys": every key masked, and each key's own state (never a key itself)
        ...keysJson(p),
        enabled: p.enabled,
        cooldownSeconds: p.cooldownSeconds ?? gw.config.defaultCooldownSeconds,
        cooldownIsDefault: p.cooldownSeconds === null,
        options: p.options ?? {},
        memberCount,
        createdAt: new Date(p.createdAt).toISOString(),
      };
    };

    /** A provider's keys as the registry knows them (their cooldowns), else as stored. */
    const keysJson = (p: Provider) => {
      const now = Date.now();
      const live = gw.registry.keysOf(p.id);
      const stored = p.keys ?? [];
      const keys = stored.map((k) => live.find((l) => l.id === k.id) ?? k);
      const masked = (k: { apiKey: string; unreadable?: boolean }) => (k.unreadable ? UNREADABLE_KEY : maskKey(k.apiKey));
      return {
        apiKeysMasked: keys.map(masked),
        keys: keys.map((k) => {
          const cooling = k.cooldownUntil !== null && k.cooldownUntil > now;
          return {
            masked: masked(k),
            state: cooling ? 'cooling' : 'ready',
            cooldownUntil: cooling ? new Date(k.cooldownUntil!).toISOString() : null,
            lastError: k.lastError,
            failures: (k as Partial<LiveKey>).failures ?? 0,
            cooldownKind: cooling ? ((k as Partial<LiveKey>).cooldownKind ?? null) : null,
          };
        }),
      };
    };

    const memberJson = (m: LiveMember) => {
      const now = Date.now();
      const state = gw.registry.state(m, now);
      // its own cooldown, or (while every key of its provider cools) the keys'
      const cooling = gw.registry.cooldownOf(m, now);
      return {
        id: m.id,
        pool: m.pool,
        providerId: m.providerId,
        providerName: m.provider.name,
        providerFormat: m.provider.format,
        model: m.model,
        enabled: m.enabled,
        weight: m.weight,
        state,
        cooldownUntil: cooling.until !== null ? new Date(cooling.until).toISOString() : null,
        lastError: cooling.lastError,
        // additions: failures in a row, why the running cooldown was set, a probe request under way
        failures: m.failures,
        cooldownKind: state === 'cooling' ? cooling.kind : null,
        probing: gw.registry.probing(m.id),
        // CONTRACT "Conversations and member capabilities": what the member's model can hold (null: unknown)
        contextWindow: m.contextWindow ?? null,
        vision: m.vision ?? null,
      };
    };

    const poolJson = (pool: PoolName) => ({
      name: pool,
      virtualModel: gw.config.virtualModels[pool],
      affinity: gw.poolAffinity(pool),
      members: gw.registry.members(pool).map(memberJson),
    });

    const providerOr404 = async (req: FastifyRequest, reply: FastifyReply): Promise<Provider | null> => {
      const id = parseId((req.params as { id: string }).id);
      const p = id === null ? null : await gw.repo.getProvider(id);
      if (!p) adminError(reply, 404, 'no such provider');
      return p;
    };

    const memberOr404 = (req: FastifyRequest, reply: FastifyReply): LiveMember | null => {
      const params = req.params as { pool: string; memberId: string };
      if (!isPoolName(params.pool)) {
        adminError(reply, 404, `no such pool "${params.pool}": use tool, normal or advanced`);
        return null;
      }
      const id = parseId(params.memberId);
      const m = id === null ? undefined : gw.registry.member(id);
      if (!m || m.pool !== params.pool) {
        adminError(reply, 404, 'no such member in this pool');
        return null;
      }
      return m;
    };

    registerTelemetryRoutes(scope, gw);
    registerKeyRoutes(scope, gw);
    registerConfigRoutes(scope, gw);
    registerPriceRoutes(scope, gw);

    scope.get('/admin/providers', async () => ({ providers: (await gw.repo.listProviders()).map(providerJson) }));

    /**
     * Provider writes that may change a name run one at a time in this process, so that two at once
     * cannot both pass the duplicate-name check. (Replicas writing at the same instant still can.)
     */
    let nameWrites: Promise<unknown> = Promise.resolve();
    const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = nameWrites.then(fn, fn);
      nameWrites = run.catch(() => undefined);
      return run;
    };
    /** 409 (sent) when another provider already has this name (trimmed, case-insensitive). */
    const duplicateName = async (reply: FastifyReply, name: string, selfId: number | null): Promise<boolean> => {
      const other = (await gw.repo.listProviders()).find((x) => x.id !== selfId && nameKey(x.name) === nameKey(name));
      if (!other) return false;
      adminError(reply, 409, `name: a provider named "${other.name}" already exists (id ${other.id}): choose another name, or edit that one`, 'name', 'duplicate_name');
      return true;
    };

    scope.post('/admin/providers', async (req, reply) => {
      const input = parseProviderInput(req.body, false);
      if (input.options) for (const [k, v] of Object.entries(input.options)) if (v === null) delete (input.options as Record<string, unknown>)[k];
      const p = await oneAtATime(async () => {
        if (await duplicateName(reply, input.name!, null)) return null;
        return gw.repo.createProvider({
          name: input.name!,
          baseUrl: input.baseUrl!,
          apiKey: input.apiKey ?? '',
          apiKeys: input.apiKeys, // several keys (CONTRACT "Provider keys"); absent: apiKey
          format: input.format!,
          enabled: input.enabled ?? true,
          cooldownSeconds: input.cooldownSeconds ?? null,
          options: input.options ?? {},
        });
      });
      if (!p) return reply;
      await gw.changed();
      req.log.info({ provider: p.name, id: p.id }, 'provider added');
      return reply.code(201).send(providerJson(p));
    });

    scope.get('/admin/providers/:id', async (req, reply) => {
      const p = await providerOr404(req, reply);
      return p ? providerJson(p) : reply;
    });

    scope.patch('/admin/providers/:id', async (req, reply) => {
      const p = await providerOr404(req, reply);
      if (!p) return reply;
      const input = parseProviderInput(req.body, true);
      // CONTRACT "Provider keys": a stored key is never redirected to another host by a PATCH.
      const newKeys = input.apiKey !== undefined || input.apiKeys !== undefined;
      if (input.baseUrl !== undefined && !newKeys && (p.apiKey !== '' || p.keyUnreadable) && !sameOrigin(p.baseUrl, input.baseUrl)) {
        throw new FieldError('apiKey', `is required when baseUrl moves to another origin (${new URL(p.baseUrl).origin} → ${new URL(input.baseUrl).origin}): the stored key is never sent to a new host; send the key for that host with the change`);
      }
      if (input.options) {
        // merge into the stored options; null clears a key back to its default
        const merged: Record<string, unknown> = { ...p.options, ...input.options };
        for (const k of Object.keys(merged)) if (merged[k] === null) delete merged[k];
        input.options = merged;
      }
      // A new name must not be another provider's; a provider keeps its own (also in another case).
      const renamed = input.name !== undefined && nameKey(input.name) !== nameKey(p.name);
      const updated = renamed
        ? await oneAtATime(async () => ((await duplicateName(reply, input.name!, p.id)) ? null : gw.repo.updateProvider(p.id, input)))
        : await gw.repo.updateProvider(p.id, input);
      if (renamed && !updated) return reply;
      await gw.changed();
      // A new key ends the cooldowns its refusal (401/403) caused; a new address, those of an unreachable host.
      const now = Date.now();
      for (const m of gw.registry.providerMembers(p.id)) {
        if (m.cooldownUntil === null || m.cooldownUntil <= now) continue;
        if ((newKeys && m.cooldownKind === 'auth') || (input.baseUrl !== undefined && m.cooldownKind === 'unreachable')) await gw.resetCooldown(m.id);
      }
      // …and keys sent again end their own refusals (a key kept from before keeps a rate limit)
      if (newKeys) for (const k of gw.registry.keysOf(p.id)) if (k.cooldownKind === 'auth' && k.cooldownUntil !== null && k.cooldownUntil > now) await gw.resetKey(k.id);
      return providerJson(updated!);
    });

    scope.delete('/admin/providers/:id', async (req, reply) => {
      const p = await providerOr404(req, reply);
      if (!p) return reply;
      await gw.repo.deleteProvider(p.id);
      await gw.changed();
      req.log.info({ provider: p.name, id: p.id }, 'provider deleted with its members');
      return reply.code(204).send();
    });

    scope.post('/admin/providers/:id/models/fetch', async (req, reply) => {
      const p = await providerOr404(req, reply);
      if (!p) return reply;
      const result = await fetchProviderModels(gw, p);
      if (!result.ok) return adminError(reply, 502, `could not fetch the model list from ${p.name}: ${result.error}`);
      await gw.repo.setProviderModels(p.id, result.models);
      return { models: result.models };
    });

    scope.get('/admin/providers/:id/models', async (req, reply) => {
      const p = await providerOr404(req, reply);
      if (!p) return reply;
      return { models: await gw.repo.listProviderModelInfo(p.id) };
    });

    scope.get('/admin/pools', async () => ({ pools: POOL_NAMES.map(poolJson) }));

    scope.get('/admin/pools/:pool', async (req, reply) => {
      const pool = (req.params as { pool: string }).pool;
      if (!isPoolName(pool)) return adminError(reply, 404, `no such pool "${pool}": use tool, normal or advanced`);
      return poolJson(pool);
    });

    scope.patch('/admin/pools/:pool', async (req, reply) => {
      const pool = (req.params as { pool: string }).pool;
      if (!isPoolName(pool)) return adminError(reply, 404, `no such pool "${pool}": use tool, normal or advanced`);
      const patch = parsePoolPatch(req.body, pool);
      if (patch.affinity !== undefined) {
        await gw.repo.setPoolAffinity(pool, patch.affinity);
        await gw.changed();
        req.log.info({ pool, affinity: patch.affinity }, 'pool affinity changed');
      }
      return poolJson(pool);
    });

    scope.post('/admin/pools/:pool/members', async (req, reply) => {
      const pool = (req.params as { pool: string }).pool;
      if (!isPoolName(pool)) return adminError(reply, 404, `no such pool "${pool}": use tool, normal or advanced`);
      const input = parseMembersInput(req.body);
      const provider = await gw.repo.getProvider(input.providerId);
      if (!provider) throw new FieldError('providerId', `no provider has id ${input.providerId}`);
      const members = await gw.repo.addMembers(pool, provider.id, input.models);
      await gw.changed();
      return reply.code(201).send({ members: members.map((m) => memberJson(gw.registry.member(m.id)!)) });
    });

    scope.patch('/admin/pools/:pool/members/:memberId', async (req, reply) => {
      const m = memberOr404(req, reply);
      if (!m) return reply;
      const patch = parseMemberPatch(req.body, memberJson(m));
      await gw.repo.updateMember(m.id, patch);
      await gw.changed();
      return memberJson(gw.registry.member(m.id)!);
    });

    scope.delete('/admin/pools/:pool/members/:memberId', async (req, reply) => {
      const m = memberOr404(req, reply);
      if (!m) return reply;
      await gw.repo.deleteMember(m.id);
      await gw.changed();
      return reply.code(204).send();
    });

    scope.post('/admin/pools/:pool/members/:memberId/reset', async (req, reply) => {
      const m = memberOr404(req, reply);
      if (!m) return reply;
      await gw.resetCooldown(m.id);
      return memberJson(gw.registry.member(m.id)!);
    });
  });
}

/** A stored base URL as it is called (see normalizeBaseUrl); one that does not parse, as stored. */
function shownBaseUrl(baseUrl: string): string {
  try {
    return normalizeBaseUrl(baseUrl);
  } catch {
    return baseUrl;
  }
}

/** Headers by which a proxy says it forwards someone else's request (any one of them: not local). */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via', 'x-forwarded-host', 'x-forwarded-proto', 'cf-connecting-ip', 'true-client-ip', 'x-client-ip', 'x-cluster-client-ip', 'fastly-client-ip'];

/**
 * From the gateway's own machine: a loopback socket, and no proxy header saying it forwards someone
 * else. (A proxy on this machine that adds none of these makes every client look local: the
 * README's reverse-proxy recipe sets X-Forwarded-For.)
 */
export function isLocalRequest(req: FastifyRequest): boolean {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  const h = req.headers;
  for (const name of PROXY_HEADERS) if (h[name] !== undefined) return false;
  return true;
}

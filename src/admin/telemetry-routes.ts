import type { FastifyInstance, FastifyReply } from 'fastify';
import { sql } from 'kysely';
import type { Gateway } from '../gateway.js';
import { isLoopbackHost } from '../access/host.js';
import { POOL_NAMES, isPoolName } from '../routing/pools.js';
import type { StatsWindow } from '../telemetry/stats.js';
import type { RequestLogsTable } from '../store/schema.js';
import type { Selectable } from 'kysely';
import { parseId, parseProviderTest, parseSettingsPatch } from './validate.js';
import { testProvider } from './provider-test.js';

const VERSION = '0.1.0';

/** Admin routes for watching the gateway: status, stats, request logs, settings, provider test. */
export function registerTelemetryRoutes(scope: FastifyInstance, gw: Gateway): void {
  const bad = (reply: FastifyReply, message: string, field?: string) =>
    reply.code(400).send({ error: field ? { message, field } : { message } });

  scope.get('/admin/status', async (req) => {
    const host = req.headers.host ?? `127.0.0.1:${gw.config.port}`;
    const origin = `${req.protocol}://${host}`;
    const passwordMode = (await gw.adminAuth?.mode()) ?? 'default';
    return {
      version: VERSION,
      defaultPassword: passwordMode === 'default',
      security: {
        accessKeys: gw.access.list().length,
        openAccess: gw.access.open,
        // beyond this machine: listening on a non-loopback address, or set up behind a proxy
        exposed: !isLoopbackHost(gw.config.host) || gw.config.trustProxy.length > 0 || gw.config.allowedHosts.length > 0 || gw.config.allowAnyHost,
        defaultPassword: passwordMode === 'default',
        passwordFromEnv: passwordMode === 'env',
        allowedHosts: gw.config.allowAnyHost ? ['*'] : gw.config.allowedHosts,
        trustProxy: gw.config.trustProxy,
      },
      uptimeSeconds: Math.round((Date.now() - gw.startedAt) / 1000),
      storage: gw.db.dialect,
      redis: gw.cluster?.ready ?? false,
      virtualModels: gw.config.virtualModels,
      anthropicBaseUrl: origin,
      openaiBaseUrl: `${origin}/v1`,
      inFlight: (await gw.telemetry.metrics.inFlight.get()).values[0]?.value ?? 0,
      droppedLogRows: gw.telemetry.droppedRows,
    };
  });

  scope.get('/admin/stats', async (req, reply) => {
    const q = req.query as { window?: string; days?: string; tzOffset?: string };
    const window = (q.window ?? '1h') as StatsWindow;
    if (window !== '1h' && window !== '24h') return bad(reply, 'window: must be 1h or 24h', 'window');
    // Totals per day from the request log: the last `days` days (0: none), days starting at midnight `tzOffset` minutes east of UTC.
    const days = q.days === undefined ? 30 : Number(q.days);
    if (!Number.isInteger(days) || days < 0 || days > 400) return bad(reply, 'days: must be an integer from 0 to 400', 'days');
    const tzOffset = q.tzOffset === undefined ? 0 : Number(q.tzOffset);
    if (!Number.isInteger(tzOffset) || tzOffset < -840 || tzOffset > 840) return bad(reply, 'tzOffset: must be minutes east of UTC, from -840 to 840', 'tzOffset');
    const now = Date.now();
    const snapshot = gw.telemetry.stats.snapshot(window, now);
    const cooling = [];
    for (const pool of POOL_NAMES) {
      for (const m of gw.registry.members(pool)) {
        if (gw.registry.state(m, now) === 'cooling') {
          const c = gw.registry.cooldownOf(m, now); // its own cooldown, or its provider's keys' (all cooling)
          cooling.push({ memberId: m.id, pool, provider: m.provider.name, providerId: m.providerId, model: m.model, cooldownUntil: new Date(c.until ?? now).toISOString(), lastError: c.lastError });
        }
      }
    }
    const inFlight = (await gw.telemetry.metrics.inFlight.get()).values[0]?.value ?? 0;
    // A member is its pool, provider and real model: its id while it is still in the pool (null once removed).
    const byMember = snapshot.byMember.map((x) => ({
      memberId: isPoolName(x.pool) ? (gw.registry.members(x.pool).find((m) => m.providerId === x.providerId && m.model === x.model)?.id ?? null) : null,
      ...x,
    }));
    // A request log that cannot be read leaves the days out (null); the rest lives in memory.
    const byDay = days === 0 ? [] : await gw.telemetry.daily.get(days, tzOffset, now).catch((err) => {
      req.log.warn({ err: (err as Error).message }, 'per-day totals: the request log could not be read');
      return null;
    });
    return { ...snapshot, byMember, byDay, inFlight, cooling };
  });

  scope.get('/admin/logs', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    const offset = q.offset === undefined ? 0 : Number(q.offset);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return bad(reply, 'limit: must be an integer from 1 to 500', 'limit');
    if (!Number.isInteger(offset) || offset < 0) return bad(reply, 'offset: must be a non-negative integer', 'offset');
    let query = gw.db.kysely.selectFrom('request_logs');
    if (q.pool) {
      if (!isPoolName(q.pool)) return bad(reply, 'pool: must be tool, normal or advanced', 'pool');
      query = query.where('pool', '=', q.pool);
    }
    if (q.providerId) {
      const id = parseId(q.providerId);
      if (id === null) return bad(reply, 'providerId: must be a provider id', 'providerId');
      query = query.where('provider_id', '=', id);
    }
    if (q.keyId) {
      if (q.keyId === 'none') query = query.where('key_id', 'is', null);
      else {
        const id = parseId(q.keyId);
        if (id === null) return bad(reply, 'keyId: must be an access key id (or none)', 'keyId');
        query = query.where('key_id', '=', id);
      }
    }
    if (q.conversation) {
      // one conversation's requests (CONTRACT "Conversations"): the name exactly as the log row has it
      if (q.conversation.length > 300) return bad(reply, 'conversation: must be a conversation id from a log row', 'conversation');
      query = query.where('conversation', '=', q.conversation);
    }
    if (q.status) {
      if (q.status === 'ok') query = query.where('status', '<', 400);
      else if (q.status === 'error') query = query.where('status', '>=', 400);
      else if (/^\d{3}$/.test(q.status)) query = query.where('status', '=', Number(q.status));
      else if (/^\dxx$/.test(q.status)) {
        const base = Number(q.status[0]) * 100;
        query = query.where('status', '>=', base).where('status', '<', base + 100);
      } else return bad(reply, 'status: must be ok, error, a status code or a class like 5xx', 'status');
    }
    for (const [key, op] of [['since', '>='], ['until', '<=']] as const) {
      const v = q[key];
      if (!v) continue;
      const t = Date.parse(v);
      if (Number.isNaN(t)) return bad(reply, `${key}: must be an ISO date-time`, key);
      query = query.where('ts', op, t);
    }
    const [rows, count] = await Promise.all([
      query.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      query.select(sql<number>`count(*)`.as('n')).executeTakeFirst(),
    ]);
    return { logs: rows.map((r) => logJson(r, false)), total: Number(count?.n ?? 0), limit, offset };
  });

  scope.get('/admin/logs/:id', async (req, reply) => {
    const id = parseId((req.params as { id: string }).id);
    const r = id === null ? undefined : await gw.db.kysely.selectFrom('request_logs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return reply.code(404).send({ error: { message: 'no such log entry' } });
    return logJson(r, true);
  });

  scope.get('/admin/settings', async () => gw.telemetry.settings);

  // A bad or unknown field: FieldError, answered 400 naming it by the error handler.
  scope.patch('/admin/settings', async (req) => gw.telemetry.updateSettings(parseSettingsPatch(req.body)));

  scope.post('/admin/providers/:id/test', async (req, reply) => {
    const id = parseId((req.params as { id: string }).id);
    const p = id === null ? null : await gw.repo.getProvider(id);
    if (!p) return reply.code(404).send({ error: { message: 'no such provider' } });
    return testProvider(gw, p, parseProviderTest(req.body).model);
  });
}

function logJson(r: Selectable<RequestLogsTable>, detail: boolean) {
  let attempts: unknown[] = [];
  try { attempts = JSON.parse(r.attempts); } catch { /* keep empty */ }
  const out: Record<string, unknown> = {
    id: Number(r.id),
    time: new Date(Number(r.ts)).toISOString(),
    entryFormat: r.entry_format,
    requestedModel: r.requested_model,
    pool: r.pool,
    providerId: r.provider_id === null ? null : Number(r.provider_id),
    provider: r.provider_name,
    upstreamModel: r.upstream_model,
    status: r.status,
    latencyMs: r.latency_ms,
    ttftMs: r.ttft_ms,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cacheReadTokens: r.cache_read_tokens,
    cacheCreationTokens: r.cache_creation_tokens,
    stream: !!r.stream,
    attempts,
    error: r.error,
    keyId: r.key_id === null || r.key_id === undefined ? null : Number(r.key_id),
    keyName: r.key_name ?? null,
    conversation: r.conversation ?? null,
    affinity: r.affinity ?? 'none',
    costUsd: r.cost_usd === null || r.cost_usd === undefined ? null : Number(r.cost_usd),
    cacheSavingsUsd: r.cache_savings_usd === null || r.cache_savings_usd === undefined ? null : Number(r.cache_savings_usd),
    hasBodies: r.request_body !== null || r.response_body !== null,
  };
  if (detail) {
    out.requestBody = r.request_body;
    out.responseBody = r.response_body;
  }
  return out;
}

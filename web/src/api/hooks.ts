import { QueryClient, keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api, qs, setToken } from './client';
import type {
  AccessKey,
  AccessKeyInput,
  CreatedAccessKey,
  LogQuery,
  LogRow,
  Member,
  Pool,
  PoolAffinity,
  PoolName,
  Provider,
  ProviderInput,
  Settings,
  Stats,
  StatsWindow,
  Status,
  TestResult,
} from './types';

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // 4xx answers (missing endpoint, bad token) will not change on retry; network and 5xx may.
        retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
        refetchOnWindowFocus: true,
        staleTime: 1_000,
      },
      mutations: { retry: false },
    },
  });
}

export const keys = {
  status: ['status'] as const,
  providers: ['providers'] as const,
  models: (id: number) => ['providers', id, 'models'] as const,
  pools: ['pools'] as const,
  stats: (w: StatsWindow) => ['stats', w] as const,
  log: (id: string) => ['log', id] as const,
  settings: ['settings'] as const,
  accessKeys: ['accessKeys'] as const,
};

export function useStatus() {
  return useQuery({ queryKey: keys.status, queryFn: () => api<Status>('GET', '/admin/status'), refetchInterval: 30_000 });
}

/** The providers; `intervalMs` refreshes them (their keys' states) while the page is visible. */
export function useProviders(intervalMs: number | false = false) {
  return useQuery({
    queryKey: keys.providers,
    queryFn: () => api<{ providers: Provider[] }>('GET', '/admin/providers').then((r) => r.providers),
    refetchInterval: intervalMs,
    refetchIntervalInBackground: false,
  });
}

/** Pools, polled every `intervalMs` while the page is visible (TanStack pauses in background tabs). */
export function usePools(intervalMs: number | false = false) {
  return useQuery({
    queryKey: keys.pools,
    queryFn: () => api<{ pools: Pool[] }>('GET', '/admin/pools').then((r) => r.pools),
    refetchInterval: intervalMs,
    refetchIntervalInBackground: false,
  });
}

export function useStoredModels(providerId: number | null) {
  return useQuery({
    queryKey: keys.models(providerId ?? 0),
    queryFn: () => api<{ models: { id: string }[] }>('GET', `/admin/providers/${providerId}/models`).then((r) => r.models.map((m) => m.id)),
    enabled: providerId !== null,
    staleTime: 30_000,
  });
}

export function useStats(window: StatsWindow) {
  return useQuery({
    queryKey: keys.stats(window),
    // days=0: the per-day totals (a query of the request log) come once a minute, apart (api/prices.ts).
    queryFn: () => api<Stats>('GET', `/admin/stats${qs({ window, days: 0 })}`),
    refetchInterval: 5_000,
    placeholderData: keepPreviousData,
  });
}

export type LogRange = '15m' | '1h' | '24h' | '7d' | 'all' | 'custom';
const RANGE_MS: Partial<Record<LogRange, number>> = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

export interface LogFilter extends Omit<LogQuery, 'since' | 'until'> {
  range: LogRange;
  /** Only for range 'custom': ISO times. */
  since?: string;
  until?: string;
}

/** The request log, one page. Relative ranges ("last hour") are turned into `since` at each fetch. */
export function useLogs(f: LogFilter, live: boolean) {
  return useQuery({
    queryKey: ['logs', f] as const,
    queryFn: () => {
      const ms = RANGE_MS[f.range];
      const since = ms ? new Date(Date.now() - ms).toISOString() : f.range === 'custom' ? f.since : undefined;
      const until = f.range === 'custom' ? f.until : undefined;
      const q: LogQuery = { pool: f.pool, providerId: f.providerId, keyId: f.keyId, conversation: f.conversation, status: f.status, since, until, limit: f.limit, offset: f.offset };
      return api<{ logs: LogRow[]; total: number }>('GET', `/admin/logs${qs({ ...q })}`);
    },
    refetchInterval: live ? 3_000 : false,
    placeholderData: keepPreviousData,
  });
}

export function useLog(id: string | null) {
  return useQuery({
    queryKey: keys.log(id ?? ''),
    queryFn: () => api<LogRow>('GET', `/admin/logs/${encodeURIComponent(id!)}`),
    enabled: id !== null,
  });
}

/** Access keys with their usage; `intervalMs` polls (usage and last use change with traffic). */
export function useAccessKeys(intervalMs: number | false = false) {
  return useQuery({
    queryKey: keys.accessKeys,
    queryFn: () => api<{ keys: AccessKey[] }>('GET', '/admin/keys').then((r) => r.keys),
    refetchInterval: intervalMs,
    refetchIntervalInBackground: false,
  });
}

export function useSettings() {
  return useQuery({ queryKey: keys.settings, queryFn: () => api<Settings>('GET', '/admin/settings') });
}

// ---- mutations -------------------------------------------------------------------------------

export function useSaveProvider() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: number | null; input: ProviderInput }) =>
      id === null ? api<Provider>('POST', '/admin/providers', input) : api<Provider>('PATCH', `/admin/providers/${id}`, input),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.providers });
      void qc.invalidateQueries({ queryKey: keys.pools });
    },
  });
}

export function useDeleteProvider() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api<void>('DELETE', `/admin/providers/${id}`),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.providers });
      void qc.invalidateQueries({ queryKey: keys.pools });
    },
  });
}

export function useFetchModels() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api<{ models: { id: string }[] }>('POST', `/admin/providers/${id}/models/fetch`).then((r) => r.models.map((m) => m.id)),
    onSuccess: (models, id) => qc.setQueryData(keys.models(id), models),
  });
}

export function useAddMembers() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ pool, providerId, models }: { pool: PoolName; providerId: number; models: string[] }) =>
      api<{ members: Member[] }>('POST', `/admin/pools/${pool}/members`, { providerId, models }).then((r) => r.members),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.pools });
      void qc.invalidateQueries({ queryKey: keys.providers });
    },
  });
}

/** Applies a changed member to the cached pools at once, so the list does not wait for the next poll. */
function patchCachedMember(qc: QueryClient, m: Member) {
  qc.setQueryData<Pool[]>(keys.pools, (pools) =>
    pools?.map((p) => (p.name !== m.pool ? p : { ...p, members: p.members.map((x) => (x.id === m.id ? { ...x, ...m } : x)) })),
  );
}

export function usePatchMember() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ pool, id, patch }: { pool: PoolName; id: number; patch: { enabled?: boolean; weight?: number; contextWindow?: number | null; vision?: boolean | null } }) =>
      api<Member>('PATCH', `/admin/pools/${pool}/members/${id}`, patch),
    onSuccess: (m) => patchCachedMember(qc, m),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.pools }),
  });
}

/** PATCH /admin/pools/:pool (affinity): the answer is the whole pool, put into the cache at once. */
export function usePatchPool() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ pool, patch }: { pool: PoolName; patch: { affinity: PoolAffinity } }) => api<Pool>('PATCH', `/admin/pools/${pool}`, patch),
    onSuccess: (p) => qc.setQueryData<Pool[]>(keys.pools, (pools) => pools?.map((x) => (x.name === p.name ? p : x))),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.pools }),
  });
}

export function useResetMember() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ pool, id }: { pool: PoolName; id: number }) => api<Member>('POST', `/admin/pools/${pool}/members/${id}/reset`),
    onSuccess: (m) => patchCachedMember(qc, m),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.pools }),
  });
}

export function useRemoveMember() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ pool, id }: { pool: PoolName; id: number }) => api<void>('DELETE', `/admin/pools/${pool}/members/${id}`),
    onSuccess: (_r, { pool, id }) =>
      qc.setQueryData<Pool[]>(keys.pools, (pools) => pools?.map((p) => (p.name !== pool ? p : { ...p, members: p.members.filter((x) => x.id !== id) }))),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.pools });
      void qc.invalidateQueries({ queryKey: keys.providers });
    },
  });
}

export function useTestProvider() {
  return useMutation({
    mutationFn: ({ id, model }: { id: number; model: string }) => api<TestResult>('POST', `/admin/providers/${id}/test`, { model }),
  });
}

export function useSaveSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (patch: Partial<Settings>) => api<Settings>('PATCH', '/admin/settings', patch),
    onSuccess: (s) => qc.setQueryData(keys.settings, s),
  });
}

export function useCreateAccessKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: AccessKeyInput) => api<CreatedAccessKey>('POST', '/admin/keys', input),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.accessKeys });
      void qc.invalidateQueries({ queryKey: keys.status });
    },
  });
}

export function usePatchAccessKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: AccessKeyInput }) => api<AccessKey>('PATCH', `/admin/keys/${id}`, patch),
    onSuccess: (k) => qc.setQueryData<AccessKey[]>(keys.accessKeys, (list) => list?.map((x) => (x.id === k.id ? { ...x, ...k } : x))),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.accessKeys }),
  });
}

export function useDeleteAccessKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api<void>('DELETE', `/admin/keys/${id}`),
    onSuccess: (_r, id) => qc.setQueryData<AccessKey[]>(keys.accessKeys, (list) => list?.filter((x) => x.id !== id)),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.accessKeys });
      void qc.invalidateQueries({ queryKey: keys.status });
    },
  });
}

/** POST /admin/password: a new admin password. The answer is a fresh session (all others end), stored at once. */
export async function changeAdminPassword(password: string): Promise<void> {
  const r = await api<{ token: string; expiresAt: string }>('POST', '/admin/password', { password });
  setToken(r.token, r.expiresAt);
}

export function useChangePassword() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: changeAdminPassword,
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.status }),
  });
}

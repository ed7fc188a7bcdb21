// The price table and the cost figures that need their own queries (GET/PUT /admin/prices,
// POST /admin/prices/reset, the per-day totals of GET /admin/stats).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, qs } from './client';
import type { DayStats, Price, PriceTable } from './types';

export const priceKeys = {
  table: ['prices'] as const,
  days: (days: number, tzOffset: number) => ['stats', 'days', days, tzOffset] as const,
};

export function usePrices() {
  return useQuery({ queryKey: priceKeys.table, queryFn: () => api<PriceTable>('GET', '/admin/prices') });
}

/** PUT /admin/prices: the whole table; the answer (the table now in force) goes into the cache. */
export function useSavePrices() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (prices: Price[]) => api<PriceTable>('PUT', '/admin/prices', { prices }),
    onSuccess: (t) => qc.setQueryData(priceKeys.table, t),
  });
}

/** POST /admin/prices/reset: back to the table shipped with the gateway. */
export function useResetPrices() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<PriceTable>('POST', '/admin/prices/reset'),
    onSuccess: (t) => qc.setQueryData(priceKeys.table, t),
  });
}

/** Minutes east of UTC of this browser now: days start at the viewer's midnight. */
export const localTzOffset = () => -new Date().getTimezoneOffset();

/**
 * Totals per day from the request log (every replica's requests), the last `days` days. Read once a
 * minute: finished days do not change, and the dashboard's 5-second poll leaves them out (`days=0`).
 */
export function useDailyStats(days: number) {
  const tzOffset = localTzOffset();
  return useQuery({
    queryKey: priceKeys.days(days, tzOffset),
    queryFn: () => api<{ byDay?: DayStats[] }>('GET', `/admin/stats${qs({ window: '1h', days: String(days), tzOffset: String(tzOffset) })}`).then((r) => r.byDay ?? []),
    refetchInterval: 60_000,
    placeholderData: keepPreviousData,
  });
}

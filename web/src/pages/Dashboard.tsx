import { useMemo, useState, type ReactNode } from 'react';
import { usePools, useProviders, useStats, useStatus } from '../api/hooks';
import type { DayStats, HourStats, KeyStats, Stats, StatsTotals, StatsWindow } from '../api/types';
import { useDailyStats } from '../api/prices';
import { useI18n, type MessageKey } from '../i18n';
import { fmtCompact, fmtCountdown, fmtDate, fmtInt, fmtMs, fmtPct, fmtTime, fmtUsd } from '../lib/format';
import { useNow } from '../lib/hooks';
import { POOL_LABEL } from '../lib/pools';
import { href } from '../lib/router';
import { Badge, Card, EmptyState, ErrorState, PageHeader, Segmented, Skeleton } from '../components/ui';
import { Icon, type IconName } from '../components/Icon';
import { TimeChart, type ChartSeries } from '../components/TimeChart';
import { localizedError } from '../errors/ExplainedError';

export default function DashboardPage() {
  const { t, locale } = useI18n();
  const [win, setWin] = useState<StatsWindow>(() => (localStorage.getItem('apg.window') === '24h' ? '24h' : '1h'));
  const stats = useStats(win);
  const pools = usePools(10_000);
  const providers = useProviders();
  const s = stats.data;

  const changeWindow = (w: StatsWindow) => {
    setWin(w);
    try {
      localStorage.setItem('apg.window', w);
    } catch {
      /* ignore */
    }
  };

  const noMembers = pools.data !== undefined && pools.data.every((p) => p.members.length === 0);

  return (
    <div data-testid="dashboard-page">
      <PageHeader
        title={t('dash.title')}
        description={s ? t('dash.updated', { time: fmtTime(s.generatedAt, locale) }) : t('dash.desc')}
        actions={
          <Segmented<StatsWindow>
            label={t('dash.window')}
            value={win}
            onChange={changeWindow}
            testId="window-switch"
            options={[
              { value: '1h', label: t('dash.lastHour'), testId: 'window-1h' },
              { value: '24h', label: t('dash.lastDay'), testId: 'window-24h' },
            ]}
          />
        }
      />

      {noMembers && <Onboarding hasProviders={(providers.data?.length ?? 0) > 0} />}

      {stats.isLoading ? (
        <Skeleton rows={3} height={96} />
      ) : !s ? (
        <ErrorState error={stats.error} onRetry={() => stats.refetch()} testId="dashboard-error" />
      ) : (
        <DashboardBody s={s} stale={stats.isError} error={stats.error} />
      )}
    </div>
  );
}

function DashboardBody({ s, stale, error }: { s: Stats; stale: boolean; error: unknown }) {
  const { t, locale } = useI18n();
  const tt = s.totals;
  const minutes = s.window === '1h' ? 60 : 24 * 60;
  const perMin = tt.requests / minutes;
  const now = useNow(1000, s.cooling.length > 0);
  const status = useStatus();
  // By key: only once access keys exist (before that every request is keyless and the table says nothing).
  const byKey = s.byKey ?? [];
  const showByKey = (status.data?.security?.accessKeys ?? 0) > 0 || byKey.some((k) => k.keyId !== null);

  const x = useMemo(() => s.series.map((p) => Math.floor(Date.parse(p.t) / 1000)), [s.series]);
  const bucketMin = s.bucketSeconds / 60;
  const reqSeries = useMemo<ChartSeries[]>(
    () => [
      { label: t('dash.chart.requests'), color: '--chart-1', kind: 'bars', values: s.series.map((p) => (p.requests === null ? null : p.requests / bucketMin)) },
      { label: t('dash.chart.errors'), color: '--chart-err', kind: 'bars', values: s.series.map((p) => (p.errors === null ? null : p.errors / bucketMin)) },
    ],
    [s.series, bucketMin, t],
  );
  const latSeries = useMemo<ChartSeries[]>(
    () => [
      { label: 'p50', color: '--chart-1', kind: 'area', values: s.series.map((p) => p.p50Ms) },
      { label: 'p95', color: '--chart-2', kind: 'line', values: s.series.map((p) => p.p95Ms) },
      { label: t('dash.chart.ttftP50'), color: '--chart-3', kind: 'line', dash: true, values: s.series.map((p) => p.ttftP50Ms) },
    ],
    [s.series, t],
  );
  const tokSeries = useMemo<ChartSeries[]>(
    () => [
      { label: t('dash.tokensIn'), color: '--chart-1', kind: 'area', values: s.series.map((p) => p.inputTokens) },
      { label: t('dash.tokensOut'), color: '--chart-2', kind: 'line', values: s.series.map((p) => p.outputTokens) },
      { label: t('dash.cacheRead'), color: '--chart-4', kind: 'line', values: s.series.map((p) => p.cacheReadTokens) },
    ],
    [s.series, t],
  );
  const costSeries = useMemo<ChartSeries[]>(
    () => [{ label: t('dash.chart.cost'), color: '--chart-2', kind: 'bars', values: s.series.map((p) => p.costUsd ?? null) }],
    [s.series, t],
  );
  const hasCost = tt.costUsd !== undefined;
  const rate = (v: number | null) =>
    v === null ? '–' : v > 0 && v < 0.1 ? '<0.1' : v < 10 && !Number.isInteger(v) ? v.toFixed(1) : fmtCompact(Math.round(v), locale);

  return (
    <>
      {stale && <ErrorState error={error} compact />}
      <div className={`kpis${hasCost ? ' kpis-5' : ''}`} data-testid="kpis">
        <Kpi icon="zap" label={t('dash.requests')} value={fmtInt(tt.requests, locale)} sub={t('dash.perMin', { n: rate(perMin) })} testId="kpi-requests" />
        <Kpi
          icon="check"
          label={t('dash.successRate')}
          value={fmtPct(tt.successRate, locale)}
          sub={t('dash.errorsN', { n: fmtInt(tt.errors, locale) })}
          tone={tt.successRate === null ? undefined : tt.successRate >= 0.99 ? 'green' : tt.successRate >= 0.9 ? 'amber' : 'red'}
          testId="kpi-success"
        />
        <Kpi icon="clock" label={t('dash.latency')} value={fmtMs(tt.p50Ms)} sub={`p95 ${fmtMs(tt.p95Ms)}`} testId="kpi-latency" />
        <Kpi icon="stream" label={t('dash.ttft')} value={fmtMs(tt.ttftP50Ms)} sub={`p95 ${fmtMs(tt.ttftP95Ms)}`} testId="kpi-ttft" />
        <Kpi icon="download" label={t('dash.tokensIn')} value={fmtCompact(tt.inputTokens, locale)} sub={t('dash.cacheReadN', { n: fmtCompact(tt.cacheReadTokens, locale) })} testId="kpi-tokens-in" />
        <Kpi icon="external" label={t('dash.tokensOut')} value={fmtCompact(tt.outputTokens, locale)} sub={t('dash.cacheWriteN', { n: fmtCompact(tt.cacheCreationTokens, locale) })} testId="kpi-tokens-out" />
        {hasCost && (
          <Kpi
            icon="zap"
            label={t('cost.kpi')}
            value={fmtUsd(tt.costUsd, locale)}
            sub={
              tt.unpricedRequests ? (
                <a href="#/settings" className="text-amber" title={t('cost.unpricedHint')} data-testid="kpi-cost-unpriced">
                  {t('cost.unpriced', { n: fmtInt(tt.unpricedRequests, locale) })}
                </a>
              ) : (
                t('dash.perMin', { n: fmtUsd((tt.costUsd ?? 0) / minutes, locale) })
              )
            }
            testId="kpi-cost"
          />
        )}
        {hasCost && (
          <Kpi icon="download" label={t('dash.col.saved')} value={fmtUsd(tt.cacheSavingsUsd, locale)} sub={t('dash.cacheReadN', { n: fmtCompact(tt.cacheReadTokens, locale) })} testId="kpi-saved" />
        )}
        <Kpi icon="refresh" label={t('dash.inFlight')} value={fmtInt(s.inFlight, locale)} sub={t('dash.inFlightSub')} testId="kpi-inflight" />
        <Kpi
          icon="alert"
          label={t('dash.coolingNow')}
          value={fmtInt(s.cooling.length, locale)}
          sub={<a href="#/pools">{t('dash.viewPools')}</a>}
          tone={s.cooling.length > 0 ? 'amber' : undefined}
          testId="kpi-cooling"
        />
      </div>

      <div className="charts">
        <Card title={t('dash.chart.requestsTitle')} testId="chart-requests">
          <TimeChart x={x} series={reqSeries} fmt={rate} emptyText={t('dash.noData')} bucketSeconds={s.bucketSeconds} integer={bucketMin === 1} />
        </Card>
        <Card title={t('dash.chart.latencyTitle')} testId="chart-latency">
          <TimeChart x={x} series={latSeries} fmt={(v) => fmtMs(v)} emptyText={t('dash.noData')} bucketSeconds={s.bucketSeconds} integer />
        </Card>
        <Card title={t('dash.chart.tokensTitle')} testId="chart-tokens" className="span-2">
          <TimeChart x={x} series={tokSeries} fmt={(v) => fmtCompact(v, locale)} emptyText={t('dash.noData')} bucketSeconds={s.bucketSeconds} integer />
        </Card>
        {hasCost && (
          <Card title={bucketMin === 1 ? t('dash.chart.costPerMin') : t('dash.chart.costPer15')} testId="chart-cost" className="span-2">
            <TimeChart x={x} series={costSeries} fmt={(v) => fmtUsd(v, locale)} emptyText={t('dash.noData')} bucketSeconds={s.bucketSeconds} />
          </Card>
        )}
      </div>

      {s.cooling.length > 0 && (
        <Card title={t('dash.coolingTitle')} testId="cooling-list" flush>
          <ul className="cooling-list">
            {s.cooling.map((c) => (
              <li key={c.memberId}>
                <Badge tone="amber" dot>
                  {t('state.cooling')} <span className="mono countdown">{fmtCountdown(c.cooldownUntil, now)}</span>
                </Badge>
                <span className="muted small">{t(POOL_LABEL[c.pool])}</span>
                <strong>{c.provider}</strong>
                <span className="mono">{c.model}</span>
                {c.lastError && (
                  <span className="muted small truncate" title={c.lastError} data-testid="cooling-error">
                    {localizedError(c.lastError, t)}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </Card>
      )}

      <div className="breakdowns">
        <Card title={t('dash.byPool')} testId="by-pool" flush>
          <BreakdownTable
            rows={s.byPool.map((r) => ({ key: r.pool, name: t(POOL_LABEL[r.pool]), link: href('/logs', { pool: r.pool }), totals: r }))}
            nameLabel={t('dash.col.pool')}
          />
        </Card>
        <Card title={t('dash.byProvider')} testId="by-provider" flush>
          <BreakdownTable
            rows={s.byProvider.map((r) => ({ key: String(r.providerId ?? r.provider), name: r.provider, link: r.providerId !== null ? href('/logs', { providerId: String(r.providerId) }) : undefined, totals: r }))}
            nameLabel={t('dash.col.provider')}
          />
        </Card>
        {s.byMember && (
          <Card title={t('dash.byMember')} testId="by-member" flush>
            <BreakdownTable
              rows={s.byMember.map((r) => ({
                key: `${r.pool}/${r.providerId}/${r.model}`,
                name: `${r.provider} / ${r.model}`,
                sub: t(POOL_LABEL[r.pool]),
                link: href('/logs', { pool: r.pool, providerId: String(r.providerId) }),
                totals: r,
              }))}
              nameLabel={t('dash.col.member')}
            />
          </Card>
        )}
        {showByKey && (
          <Card title={t('dash.byKey')} testId="by-key" flush>
            <KeyTable rows={byKey} />
          </Card>
        )}
        {s.byHour && <CostPeriods hours={s.byHour} />}
      </div>
    </>
  );
}

function Kpi({ icon, label, value, sub, tone, testId }: { icon: IconName; label: string; value: string; sub?: ReactNode; tone?: 'green' | 'amber' | 'red'; testId: string }) {
  return (
    <div className="kpi card" data-testid={testId}>
      <div className="kpi-label">
        <Icon name={icon} size={14} />
        {label}
      </div>
      <div className={`kpi-value${tone ? ` text-${tone}` : ''}`} data-testid={`${testId}-value`}>
        {value}
      </div>
      {sub && <div className="kpi-sub muted">{sub}</div>}
    </div>
  );
}

function BreakdownTable({ rows, nameLabel }: { rows: { key: string; name: string; sub?: string; link?: string; totals: StatsTotals }[]; nameLabel: string }) {
  const { t, locale } = useI18n();
  if (rows.length === 0) return <div className="table-empty muted">{t('dash.noData')}</div>;
  const total = rows.reduce((a, r) => a + (r.totals.requests ?? 0), 0);
  const cols: { label: MessageKey; render(r: StatsTotals): string; tone?(r: StatsTotals): string }[] = [
    { label: 'dash.col.requests', render: (r) => fmtInt(r.requests, locale) },
    {
      label: 'dash.col.success',
      render: (r) => fmtPct(r.successRate, locale),
      tone: (r) => (r.successRate === null ? '' : r.successRate >= 0.99 ? '' : r.successRate >= 0.9 ? 'text-amber' : 'text-red'),
    },
    { label: 'dash.col.p50', render: (r) => fmtMs(r.p50Ms) },
    { label: 'dash.col.p95', render: (r) => fmtMs(r.p95Ms) },
    { label: 'dash.col.ttft', render: (r) => fmtMs(r.ttftP50Ms) },
    { label: 'dash.col.in', render: (r) => fmtCompact(r.inputTokens, locale) },
    { label: 'dash.col.out', render: (r) => fmtCompact(r.outputTokens, locale) },
    { label: 'dash.col.cache', render: (r) => fmtCompact(r.cacheReadTokens, locale) },
  ];
  if (rows.some((r) => r.totals.costUsd !== undefined)) {
    cols.push({ label: 'dash.col.cost', render: (r) => fmtUsd(r.costUsd, locale) });
  }
  return (
    <div className="table-scroll">
      <table className="table table-compact">
        <thead>
          <tr>
            <th>{nameLabel}</th>
            <th className="share-col">{t('dash.col.share')}</th>
            {cols.map((c) => (
              <th key={c.label} className="num">
                {t(c.label)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-testid="breakdown-row" data-name={r.name}>
              <td>
                {r.link ? (
                  <a href={r.link} className="link-quiet">
                    {r.name}
                  </a>
                ) : (
                  r.name
                )}
                {r.sub && <div className="cell-sub muted small">{r.sub}</div>}
              </td>
              <td className="share-col">
                <ShareBar share={total > 0 ? r.totals.requests / total : 0} errorShare={r.totals.requests > 0 ? r.totals.errors / r.totals.requests : 0} />
              </td>
              {cols.map((c) => (
                <td key={c.label} className={`num mono${c.tone ? ` ${c.tone(r.totals)}` : ''}`}>
                  {c.render(r.totals)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Requests per access key: a small table (the stats carry counts and tokens per key). */
function KeyTable({ rows }: { rows: KeyStats[] }) {
  const { t, locale } = useI18n();
  if (rows.length === 0) return <div className="table-empty muted">{t('dash.noData')}</div>;
  const total = rows.reduce((a, r) => a + (r.requests ?? 0), 0);
  const sorted = [...rows].sort((a, b) => b.requests - a.requests);
  const hasCost = rows.some((r) => r.costUsd !== undefined);
  return (
    <div className="table-scroll">
      <table className="table table-compact">
        <thead>
          <tr>
            <th>{t('dash.col.key')}</th>
            <th className="share-col">{t('dash.col.share')}</th>
            <th className="num">{t('dash.col.requests')}</th>
            <th className="num">{t('dash.col.errors')}</th>
            <th className="num">{t('dash.col.in')}</th>
            <th className="num">{t('dash.col.out')}</th>
            {hasCost && <th className="num">{t('dash.col.cost')}</th>}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => {
            const name = r.keyName ?? (r.keyId === null ? t('dash.noKey') : `#${r.keyId}`);
            return (
              <tr key={String(r.keyId)} data-testid="breakdown-row" data-name={name}>
                <td>
                  <a href={href('/logs', { keyId: r.keyId === null ? 'none' : String(r.keyId) })} className={`link-quiet${r.keyId === null ? ' muted' : ''}`}>
                    {name}
                  </a>
                </td>
                <td className="share-col">
                  <ShareBar share={total > 0 ? r.requests / total : 0} errorShare={r.requests > 0 ? r.errors / r.requests : 0} />
                </td>
                <td className="num mono">{fmtInt(r.requests, locale)}</td>
                <td className={`num mono${r.errors > 0 ? ' text-red' : ''}`}>{fmtInt(r.errors, locale)}</td>
                <td className="num mono">{fmtCompact(r.inputTokens, locale)}</td>
                <td className="num mono">{fmtCompact(r.outputTokens, locale)}</td>
                {hasCost && <td className="num mono">{fmtUsd(r.costUsd, locale)}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Cost next to the tokens per hour (the last 24, from memory) or per day (the last 14, from the request log). */
function CostPeriods({ hours }: { hours: HourStats[] }) {
  const { t, locale } = useI18n();
  const [period, setPeriod] = useState<'hour' | 'day'>('hour');
  const daily = useDailyStats(14);
  type Row = { key: string; label: string; requests: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; costUsd: number; cacheSavingsUsd: number };
  const hourRows: Row[] = hours
    .filter((h) => h.requests > 0)
    .reverse()
    .map((h) => ({ ...h, key: h.t, label: new Intl.DateTimeFormat(locale, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(h.t)) }));
  const dayRows: Row[] = (daily.data ?? [])
    .slice()
    .reverse()
    .map((d: DayStats) => ({ ...d, key: d.day, label: fmtDate(`${d.day}T12:00:00`, locale) }));
  const rows = period === 'hour' ? hourRows : dayRows;
  return (
    <Card
      title={t('dash.costPeriods')}
      testId="cost-periods"
      flush
      actions={
        <Segmented<'hour' | 'day'>
          size="sm"
          label={t('dash.costPeriods')}
          value={period}
          onChange={setPeriod}
          testId="cost-period-switch"
          options={[
            { value: 'hour', label: t('dash.periodHour'), testId: 'cost-period-hour' },
            { value: 'day', label: t('dash.periodDay'), testId: 'cost-period-day' },
          ]}
        />
      }
    >
      {period === 'day' && daily.isError ? (
        <ErrorState error={daily.error} compact />
      ) : rows.length === 0 ? (
        <div className="table-empty muted">{period === 'day' && daily.isLoading ? <Skeleton rows={2} height={20} /> : t('dash.noPeriods')}</div>
      ) : (
        <div className="table-scroll">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{period === 'hour' ? t('dash.col.hour') : t('dash.col.day')}</th>
                <th className="num">{t('dash.col.requests')}</th>
                <th className="num">{t('dash.col.in')}</th>
                <th className="num">{t('dash.col.out')}</th>
                <th className="num">{t('dash.col.cache')}</th>
                <th className="num">{t('dash.col.cost')}</th>
                <th className="num">{t('dash.col.saved')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key} data-testid="period-row" data-period={r.key}>
                  <td className="mono">{r.label}</td>
                  <td className="num mono">{fmtInt(r.requests, locale)}</td>
                  <td className="num mono">{fmtCompact(r.inputTokens, locale)}</td>
                  <td className="num mono">{fmtCompact(r.outputTokens, locale)}</td>
                  <td className="num mono">{fmtCompact(r.cacheReadTokens, locale)}</td>
                  <td className="num mono" data-testid="period-cost">{fmtUsd(r.costUsd, locale)}</td>
                  <td className="num mono">{fmtUsd(r.cacheSavingsUsd, locale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small card-note">{t('dash.daysNote')}</p>
    </Card>
  );
}

/** The row's share of all requests, its failed part in red. */
function ShareBar({ share, errorShare }: { share: number; errorShare: number }) {
  const { locale } = useI18n();
  return (
    <div className="share" title={fmtPct(share, locale)}>
      <div className="share-track">
        <div className="share-fill" style={{ width: `${Math.max(share * 100, share > 0 ? 2 : 0)}%` }}>
          <div className="share-err" style={{ width: `${errorShare * 100}%` }} />
        </div>
      </div>
      <span className="mono small muted">{fmtPct(share, locale)}</span>
    </div>
  );
}

function Onboarding({ hasProviders }: { hasProviders: boolean }) {
  const { t } = useI18n();
  const steps: { done: boolean; title: MessageKey; body: MessageKey; link: string; cta: MessageKey }[] = [
    { done: hasProviders, title: 'onboard.s1', body: 'onboard.s1b', link: '#/providers', cta: 'onboard.s1c' },
    { done: false, title: 'onboard.s2', body: 'onboard.s2b', link: '#/providers', cta: 'onboard.s2c' },
    { done: false, title: 'onboard.s3', body: 'onboard.s3b', link: '#/connect', cta: 'onboard.s3c' },
  ];
  return (
    <Card className="onboarding" testId="onboarding">
      <EmptyState icon="zap" title={t('onboard.title')}>
        {t('onboard.body')}
      </EmptyState>
      <ol className="steps">
        {steps.map((s, i) => (
          <li key={s.title} className={s.done ? 'done' : ''}>
            <span className="step-num">{s.done ? <Icon name="check" size={13} /> : i + 1}</span>
            <div>
              <strong>{t(s.title)}</strong>
              <p className="muted small">{t(s.body)}</p>
              <a href={s.link} className="small">
                {t(s.cta)} →
              </a>
            </div>
          </li>
        ))}
      </ol>
    </Card>
  );
}

import { useMemo, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useAccessKeys, useLog, useLogs, useProviders, type LogFilter, type LogRange } from '../api/hooks';
import { POOLS, type LogRow } from '../api/types';
import { useI18n } from '../i18n';
import { DASH, fmtCompact, fmtDateTime, fmtInt, fmtMs, fmtTime, prettyBody, statusClass, fmtUsd } from '../lib/format';
import { POOL_LABEL } from '../lib/pools';
import { navigate, useRoute } from '../lib/router';
import { Badge, Button, CopyButton, Dialog, EmptyState, ErrorState, PageHeader, Skeleton, Switch, type Tone } from '../components/ui';
import { Icon } from '../components/Icon';
import { FormatBadge } from './Providers';
import { ExplainedError, localizedError } from '../errors/ExplainedError';
import { AffinityBadge, ConversationTag } from './LogConversation';

const LIMIT = 50;
const RANGES: LogRange[] = ['15m', '1h', '24h', '7d', 'all', 'custom'];
const STATUS_PRESETS = ['', 'ok', 'error', '4xx', '5xx', '429', '500', '502', '503', '504'];

function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function statusTone(status: number): Tone {
  const c = statusClass(status);
  return c === 'ok' ? 'green' : c === 'warn' ? 'amber' : c === 'err' ? 'red' : 'neutral';
}

export function LogsPage() {
  const { t, locale } = useI18n();
  const route = useRoute();
  const q = route.query;
  const detailId = route.path[1] ?? null;
  const providers = useProviders();
  const accessKeys = useAccessKeys();

  const filter: LogFilter = {
    pool: q.get('pool') ?? undefined,
    providerId: q.get('providerId') ?? undefined,
    keyId: q.get('keyId') ?? undefined,
    conversation: q.get('conversation') ?? undefined,
    status: q.get('status') ?? undefined,
    range: (RANGES as string[]).includes(q.get('range') ?? '') ? (q.get('range') as LogRange) : 'all',
    since: q.get('since') ?? undefined,
    until: q.get('until') ?? undefined,
    limit: LIMIT,
    offset: Math.max(0, Number(q.get('offset') ?? 0) || 0),
  };
  const [live, setLive] = useState(true);
  const logs = useLogs(filter, live && filter.offset === 0 && detailId === null);
  const [customCode, setCustomCode] = useState(() => (filter.status && !STATUS_PRESETS.includes(filter.status) ? filter.status : ''));
  const statusIsCustom = filter.status !== undefined && !STATUS_PRESETS.includes(filter.status);

  const queryObj = (patch: Record<string, string | undefined>, keepOffset = false): Record<string, string | undefined> => {
    const cur: Record<string, string | undefined> = {};
    q.forEach((v, k) => (cur[k] = v));
    const next = { ...cur, ...patch };
    if (!keepOffset && !('offset' in patch)) delete next.offset;
    return next;
  };
  const setQuery = (patch: Record<string, string | undefined>) => navigate('/logs', queryObj(patch), true);
  const filtersActive = !!(filter.pool || filter.providerId || filter.keyId || filter.conversation || filter.status || filter.range !== 'all');
  const filterConversation = (id: string) => setQuery({ conversation: id });
  const keyList = accessKeys.data ?? [];
  // The key filter shows once keys exist (or a link brought one in); a deleted key keeps its own option.
  const showKeyFilter = keyList.length > 0 || filter.keyId !== undefined;
  const keyMissing = filter.keyId !== undefined && filter.keyId !== 'none' && !keyList.some((k) => String(k.id) === filter.keyId);

  const rows = logs.data?.logs ?? [];
  const total = logs.data?.total ?? 0;
  const from = total === 0 ? 0 : filter.offset + 1;
  const to = Math.min(filter.offset + rows.length, total);

  const openRow = (r: LogRow) => navigate(`/logs/${encodeURIComponent(String(r.id))}`, queryObj({}, true));
  const rowFromList = useMemo(() => rows.find((r) => String(r.id) === detailId) ?? null, [rows, detailId]);

  return (
    <div data-testid="logs-page">
      <PageHeader
        title={t('logs.title')}
        description={t('logs.desc')}
        actions={
          <label className="live-toggle" title={t('logs.liveHint')}>
            <span className={`live${live && filter.offset === 0 ? '' : ' live-off'}`}>
              <span className="live-dot" />
            </span>
            <span className="small">{t('logs.live')}</span>
            <Switch size="sm" checked={live} onChange={setLive} label={t('logs.live')} testId="logs-live" />
          </label>
        }
      />

      <div className="filters" role="search" data-testid="logs-filters">
        <div className="filter">
          <label htmlFor="f-pool">{t('logs.f.pool')}</label>
          <select id="f-pool" value={filter.pool ?? ''} onChange={(e) => setQuery({ pool: e.target.value || undefined })} data-testid="filter-pool">
            <option value="">{t('logs.f.all')}</option>
            {POOLS.map((p) => (
              <option key={p} value={p}>
                {t(POOL_LABEL[p])}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="f-provider">{t('logs.f.provider')}</label>
          <select id="f-provider" value={filter.providerId ?? ''} onChange={(e) => setQuery({ providerId: e.target.value || undefined })} data-testid="filter-provider">
            <option value="">{t('logs.f.all')}</option>
            {providers.data?.map((p) => (
              <option key={p.id} value={String(p.id)}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        {showKeyFilter && (
          <div className="filter">
            <label htmlFor="f-key">{t('logs.f.key')}</label>
            <select id="f-key" value={filter.keyId ?? ''} onChange={(e) => setQuery({ keyId: e.target.value || undefined })} data-testid="filter-key">
              <option value="">{t('logs.f.all')}</option>
              {keyList.map((k) => (
                <option key={k.id} value={String(k.id)}>
                  {k.name}
                </option>
              ))}
              {keyMissing && <option value={filter.keyId}>{t('logs.f.keyId', { id: filter.keyId ?? '' })}</option>}
              <option value="none">{t('logs.f.noKey')}</option>
            </select>
          </div>
        )}
        <ConversationFilter value={filter.conversation} onChange={(v) => setQuery({ conversation: v })} />
        <div className="filter">
          <label htmlFor="f-status">{t('logs.f.status')}</label>
          <div className="filter-pair">
            <select
              id="f-status"
              value={statusIsCustom ? 'code' : (filter.status ?? '')}
              onChange={(e) => {
                const v = e.target.value;
                if (v === 'code') setQuery({ status: customCode || undefined });
                else setQuery({ status: v || undefined });
                if (v === 'code') setTimeout(() => document.getElementById('f-code')?.focus(), 0);
              }}
              data-testid="filter-status"
            >
              <option value="">{t('logs.f.all')}</option>
              <option value="ok">{t('logs.f.ok')}</option>
              <option value="error">{t('logs.f.error')}</option>
              {STATUS_PRESETS.filter((s) => /^\d(\d\d|xx)$/.test(s)).map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
              <option value="code">{t('logs.f.code')}</option>
            </select>
            {(statusIsCustom || (customCode !== '' && !filter.status)) && (
              <input
                id="f-code"
                className="code-input mono"
                inputMode="numeric"
                maxLength={3}
                placeholder="404"
                value={customCode}
                aria-label={t('logs.f.code')}
                onChange={(e) => {
                  const v = e.target.value.replace(/\D/g, '').slice(0, 3);
                  setCustomCode(v);
                  if (v.length === 3) setQuery({ status: v });
                }}
              />
            )}
          </div>
        </div>
        <div className="filter">
          <label htmlFor="f-range">{t('logs.f.range')}</label>
          <select id="f-range" value={filter.range} onChange={(e) => setQuery({ range: e.target.value === 'all' ? undefined : e.target.value })} data-testid="filter-range">
            {RANGES.map((r) => (
              <option key={r} value={r}>
                {t(`logs.range.${r}` as 'logs.range.all')}
              </option>
            ))}
          </select>
        </div>
        {filter.range === 'custom' && (
          <>
            <div className="filter">
              <label htmlFor="f-since">{t('logs.f.since')}</label>
              <input id="f-since" type="datetime-local" value={toLocalInput(filter.since)} onChange={(e) => setQuery({ since: fromLocalInput(e.target.value) })} data-testid="filter-since" />
            </div>
            <div className="filter">
              <label htmlFor="f-until">{t('logs.f.until')}</label>
              <input id="f-until" type="datetime-local" value={toLocalInput(filter.until)} onChange={(e) => setQuery({ until: fromLocalInput(e.target.value) })} data-testid="filter-until" />
            </div>
          </>
        )}
        {filtersActive && (
          <Button
            variant="ghost"
            size="sm"
            icon="x"
            className="filter-clear"
            onClick={() => {
              setCustomCode('');
              navigate('/logs', {}, true);
            }}
            data-testid="filter-clear"
          >
            {t('logs.f.clear')}
          </Button>
        )}
      </div>

      {logs.isLoading ? (
        <Skeleton rows={6} height={40} />
      ) : !logs.data ? (
        <ErrorState error={logs.error} onRetry={() => logs.refetch()} testId="logs-error" />
      ) : rows.length === 0 ? (
        <EmptyState icon="list" title={filtersActive ? t('logs.emptyFiltered') : t('logs.empty')} testId="logs-empty">
          {filtersActive ? t('logs.emptyFilteredBody') : t('logs.emptyBody')}
        </EmptyState>
      ) : (
        <>
          {logs.isError && <ErrorState error={logs.error} compact />}
          <div className={`table-wrap${logs.isPlaceholderData ? ' is-stale' : ''}`}>
            <table className="table table-cards logs-table" data-testid="logs-table">
              <thead>
                <tr>
                  <th>{t('logs.col.time')}</th>
                  <th>{t('logs.col.model')}</th>
                  <th>{t('logs.col.route')}</th>
                  <th>{t('logs.col.status')}</th>
                  <th className="num">{t('logs.col.latency')}</th>
                  <th className="num">{t('logs.col.ttft')}</th>
                  <th className="num">{t('logs.col.tokens')}</th>
                  <th className="num">{t('logs.col.cost')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <LogTableRow key={r.id} r={r} onOpen={() => openRow(r)} onConversation={filterConversation} />
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager" data-testid="logs-pager">
            <span className="muted small" data-testid="logs-range">
              {t('logs.showing', { from: fmtInt(from, locale), to: fmtInt(to, locale), total: fmtInt(total, locale) })}
            </span>
            <div className="pager-buttons">
              <Button size="sm" icon="chevronLeft" disabled={filter.offset === 0} onClick={() => setQuery({ offset: filter.offset - LIMIT > 0 ? String(filter.offset - LIMIT) : undefined })} data-testid="logs-prev">
                {t('logs.prev')}
              </Button>
              <Button size="sm" disabled={filter.offset + LIMIT >= total} onClick={() => setQuery({ offset: String(filter.offset + LIMIT) })} data-testid="logs-next">
                {t('logs.next')}
                <Icon name="chevronRight" size={14} />
              </Button>
            </div>
          </div>
        </>
      )}

      {detailId !== null && <LogDetail id={detailId} fallback={rowFromList} onClose={() => navigate('/logs', queryObj({}, true))} />}
    </div>
  );
}

/** The conversation filter: an id typed or pasted (Enter or leaving the field applies it), or set by a row's click. */
function ConversationFilter({ value, onChange }: { value: string | undefined; onChange(v: string | undefined): void }) {
  const { t } = useI18n();
  const [text, setText] = useState(value ?? '');
  const [seen, setSeen] = useState(value);
  if (seen !== value) {
    setSeen(value);
    setText(value ?? '');
  }
  const apply = () => {
    const v = text.trim() || undefined;
    if (v !== value) onChange(v);
  };
  return (
    <div className="filter filter-conversation">
      <label htmlFor="f-conversation">{t('logs.f.conversation')}</label>
      <input
        id="f-conversation"
        className="mono"
        type="search"
        placeholder={t('logs.f.conversationPlaceholder')}
        value={text}
        title={value}
        onChange={(e) => setText(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === 'Enter') apply();
        }}
        data-testid="filter-conversation"
      />
    </div>
  );
}

function LogTableRow({ r, onOpen, onConversation }: { r: LogRow; onOpen(): void; onConversation(id: string): void }) {
  const { t, locale } = useI18n();
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onOpen();
    }
  };
  return (
    <tr className="clickable" tabIndex={0} onClick={onOpen} onKeyDown={onKey} data-testid="log-row" data-log-id={r.id} aria-label={t('logs.openRow', { model: r.requestedModel, status: r.status })}>
      <td data-label={t('logs.col.time')}>
        <div className="cell-stack">
          <span className="mono" title={fmtDateTime(r.time, locale)}>
            {fmtTime(r.time, locale)}
          </span>
          <span className="cell-sub">
            <FormatBadge format={r.entryFormat} />
            {r.stream && (
              <span className="stream-tag" title={t('logs.streamed')}>
                <Icon name="stream" size={12} /> SSE
              </span>
            )}
          </span>
        </div>
      </td>
      <td data-label={t('logs.col.model')}>
        <div className="cell-stack">
          <span className="mono truncate" title={r.requestedModel}>
            {r.requestedModel}
          </span>
          <span className="cell-sub muted small">
            {r.pool ? t(POOL_LABEL[r.pool]) : t('logs.noPool')}
            {r.keyName && (
              <span className="key-tag" title={t('logs.d.key')} data-testid="log-key">
                <Icon name="key" size={11} />
                <span className="key-tag-name">{r.keyName}</span>
              </span>
            )}
            {r.conversation && <ConversationTag id={r.conversation} onFilter={onConversation} />}
          </span>
        </div>
      </td>
      <td data-label={t('logs.col.route')}>
        <div className="cell-stack">
          <span className="truncate">
            {r.provider ?? DASH}
            {r.attempts.length > 0 && (
              <Badge
                tone="amber"
                title={[t('logs.retriesHint', { n: r.attempts.length }), ...r.attempts.map((a) => `• ${a.provider} / ${a.model}: ${a.status ?? ''} ${a.reason}`)].join('\n')}
                testId="log-retries"
              >
                <Icon name="rotate" size={11} /> {r.attempts.length}
              </Badge>
            )}
            <AffinityBadge result={r.affinity} />
          </span>
          {r.provider || !r.error ? (
            <span className="cell-sub mono muted small truncate" title={r.upstreamModel ?? ''}>
              {r.upstreamModel ?? DASH}
            </span>
          ) : (
            <span className="cell-error" title={r.error} data-testid="log-error">
              {localizedError(r.error, t)}
            </span>
          )}
        </div>
      </td>
      <td data-label={t('logs.col.status')}>
        <Badge tone={statusTone(r.status)} mono testId="log-status">
          {r.status || DASH}
        </Badge>
      </td>
      <td data-label={t('logs.col.latency')} className="num mono">
        {fmtMs(r.latencyMs)}
      </td>
      <td data-label={t('logs.col.ttft')} className="num mono">
        {fmtMs(r.ttftMs)}
      </td>
      <td data-label={t('logs.col.tokens')} className="num mono">
        <span title={t('logs.tokensTitle')}>
          {fmtCompact(r.inputTokens, locale)} <span className="muted">/</span> {fmtCompact(r.outputTokens, locale)}
        </span>
        {!!r.cacheReadTokens && <div className="cell-sub muted small">{t('logs.cacheShort', { n: fmtCompact(r.cacheReadTokens, locale) })}</div>}
      </td>
      <td data-label={t('logs.col.cost')} className="num mono" data-testid="log-cost" title={r.costUsd === null ? t('logs.noPrice') : r.costUsd !== undefined ? `$${r.costUsd}` : undefined}>
        {r.costUsd === null ? <span className="muted">{DASH}</span> : fmtUsd(r.costUsd, locale)}
      </td>
    </tr>
  );
}

function LogDetail({ id, fallback, onClose }: { id: string; fallback: LogRow | null; onClose(): void }) {
  const { t, locale } = useI18n();
  const q = useLog(id);
  const r = q.data ?? fallback;
  return (
    <Dialog open drawer onClose={onClose} title={t('logs.detail')} description={r ? fmtDateTime(r.time, locale) : undefined} testId="log-detail">
      {!r ? (
        q.isError ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : (
          <Skeleton rows={6} height={28} />
        )
      ) : (
        <div className="detail">
          <div className="detail-status">
            <Badge tone={statusTone(r.status)} mono testId="detail-status">
              {r.status || DASH}
            </Badge>
            <span className="mono">{r.requestedModel}</span>
            <Icon name="chevronRight" size={14} className="muted" />
            {r.provider ? (
              <span>
                {r.provider} <span className="mono muted">/ {r.upstreamModel ?? DASH}</span>
              </span>
            ) : (
              <span className="muted">{t('logs.d.noProvider')}</span>
            )}
          </div>
          <dl className="kv-grid" data-testid="detail-fields">
            <Kv label={t('logs.d.entry')}>
              <FormatBadge format={r.entryFormat} /> <span className="mono small muted">{r.entryFormat === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}</span>
            </Kv>
            <Kv label={t('logs.d.pool')}>{r.pool ? t(POOL_LABEL[r.pool]) : DASH}</Kv>
            <Kv label={t('logs.d.key')}>
              <span data-testid="detail-key">{r.keyName ?? (r.keyId != null ? `#${r.keyId}` : t('logs.d.noKey'))}</span>
            </Kv>
            {r.affinity !== undefined && (
              <Kv label={t('logs.d.conversation')}>
                {r.conversation ? (
                  <span className="mono small break" data-testid="detail-conversation">
                    {r.conversation}
                  </span>
                ) : (
                  <span className="muted">{t('logs.d.noConversation')}</span>
                )}{' '}
                <AffinityBadge result={r.affinity} />
              </Kv>
            )}
            <Kv label={t('logs.col.latency')} mono>
              {fmtMs(r.latencyMs)}
            </Kv>
            <Kv label={t('logs.col.ttft')} mono>
              {fmtMs(r.ttftMs)}
            </Kv>
            <Kv label={t('logs.d.stream')}>{r.stream ? t('common.yes') : t('common.no')}</Kv>
            <Kv label={t('logs.d.in')} mono>
              {fmtInt(r.inputTokens, locale)}
            </Kv>
            <Kv label={t('logs.d.out')} mono>
              {fmtInt(r.outputTokens, locale)}
            </Kv>
            <Kv label={t('logs.d.cacheRead')} mono>
              {fmtInt(r.cacheReadTokens, locale)}
            </Kv>
            <Kv label={t('logs.d.cacheWrite')} mono>
              {fmtInt(r.cacheCreationTokens, locale)}
            </Kv>
            {r.costUsd !== undefined && (
              <Kv label={t('logs.d.cost')} mono>
                <span data-testid="detail-cost">{r.costUsd === null ? t('logs.noPrice') : `$${r.costUsd}`}</span>
              </Kv>
            )}
            {!!r.cacheSavingsUsd && (
              <Kv label={t('logs.d.saved')} mono>
                {`$${r.cacheSavingsUsd}`}
              </Kv>
            )}
            <Kv label="ID" mono>
              {String(r.id)}
            </Kv>
          </dl>

          <h3 className="detail-h">{t('logs.d.route')}</h3>
          <ol className="timeline" data-testid="detail-attempts">
            {r.attempts.map((a, i) => (
              <li key={i} className="tl-item tl-fail" data-testid="detail-attempt">
                <span className="tl-dot">
                  <Icon name="x" size={11} />
                </span>
                <div className="tl-body">
                  <div>
                    <strong>{a.provider}</strong> <span className="mono muted">/ {a.model}</span>
                  </div>
                  <div className="small">
                    {a.status ? <Badge tone={statusTone(a.status)} mono>{a.status}</Badge> : null}
                    {a.ms !== null && <span className="muted mono"> {fmtMs(a.ms)} · </span>} <ExplainedError raw={a.reason} testId="detail-attempt-reason" />
                  </div>
                </div>
              </li>
            ))}
            <li className={`tl-item ${statusClass(r.status) === 'ok' ? 'tl-ok' : 'tl-fail'}`}>
              <span className="tl-dot">
                <Icon name={statusClass(r.status) === 'ok' ? 'check' : 'x'} size={11} />
              </span>
              <div className="tl-body">
                <div>
                  <strong>{r.provider ?? t('logs.d.noProvider')}</strong> {r.upstreamModel && <span className="mono muted">/ {r.upstreamModel}</span>}
                </div>
                <div className="small">
                  <Badge tone={statusTone(r.status)} mono>
                    {r.status || DASH}
                  </Badge>{' '}
                  <span className="muted mono">{fmtMs(r.latencyMs)}</span>
                  {r.attempts.length === 0 && statusClass(r.status) === 'ok' && <span className="muted"> · {t('logs.d.firstTry')}</span>}
                </div>
              </div>
            </li>
          </ol>

          {r.error && (
            <>
              <h3 className="detail-h">{t('logs.d.error')}</h3>
              <div className="code err">
                <ExplainedError raw={r.error} className="block" testId="detail-error" />
              </div>
            </>
          )}

          <BodyBlock title={t('logs.d.request')} body={q.data?.requestBody ?? r.requestBody} loading={q.isLoading} testId="detail-request" />
          <BodyBlock title={t('logs.d.response')} body={q.data?.responseBody ?? r.responseBody} loading={q.isLoading} testId="detail-response" />
        </div>
      )}
    </Dialog>
  );
}

function Kv({ label, children, mono }: { label: string; children: ReactNode; mono?: boolean }) {
  return (
    <div className="kv-item">
      <dt>{label}</dt>
      <dd className={mono ? 'mono' : undefined}>{children}</dd>
    </div>
  );
}

function BodyBlock({ title, body, loading, testId }: { title: string; body: string | null | undefined; loading: boolean; testId: string }) {
  const { t } = useI18n();
  const pretty = useMemo(() => (body ? prettyBody(body) : ''), [body]);
  return (
    <div className="body-block" data-testid={testId}>
      <div className="body-head">
        <h3 className="detail-h">{title}</h3>
        {body && <CopyButton size="sm" text={body} />}
      </div>
      {body ? (
        <pre className="code">{pretty}</pre>
      ) : loading ? (
        <Skeleton rows={1} height={40} />
      ) : (
        <p className="muted small body-none">
          {t('logs.d.noBody')} <a href="#/settings">{t('logs.d.enableBodies')}</a>
        </p>
      )}
    </div>
  );
}

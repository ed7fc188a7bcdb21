import { useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client';
import { usePrices, useResetPrices, useSavePrices } from '../api/prices';
import type { Price, PriceTable } from '../api/types';
import { useI18n } from '../i18n';
import { fmtInt } from '../lib/format';
import { localizedFieldError } from '../errors/ExplainedError';
import { Badge, Button, Card, ConfirmDialog, ErrorState, Skeleton, describeError } from '../components/ui';
import { Icon } from '../components/Icon';
import { useToast } from '../components/Toast';

/** A row as edited: numbers as typed; `id` keeps React's rows apart while matches change. */
interface DraftRow {
  id: number;
  match: string;
  input: string;
  output: string;
  cacheRead: string;
  cacheWrite: string;
}
type NumField = 'input' | 'output' | 'cacheRead' | 'cacheWrite';
type RowField = 'match' | NumField;
const NUMS: NumField[] = ['input', 'output', 'cacheRead', 'cacheWrite'];

let nextId = 1;
const toDraft = (prices: Price[]): DraftRow[] =>
  prices.map((p) => ({ id: nextId++, match: p.match, input: String(p.input), output: String(p.output), cacheRead: String(p.cacheRead), cacheWrite: String(p.cacheWrite) }));
const same = (d: DraftRow[], prices: Price[]) =>
  d.length === prices.length && d.every((r, i) => r.match === prices[i]!.match && NUMS.every((k) => r[k] === String(prices[i]![k])));

/** Brings the first row with an error into view (inside the table's scroll box). */
const showFirstError = () =>
  setTimeout(() => document.querySelector('[data-testid="prices-table"] tr.has-error')?.scrollIntoView({ block: 'nearest' }), 0);

/** `prices[3].input` → row 3, field input. */
function rowFieldOf(field: string | undefined): { index: number; field: RowField | null } | null {
  const m = field ? /^prices\[(\d+)\](?:\.(\w+))?/.exec(field) : null;
  if (!m) return null;
  const f = m[2] as RowField | undefined;
  return { index: Number(m[1]), field: f && (f === 'match' || (NUMS as string[]).includes(f)) ? f : null };
}

/**
 * The price table editor (Settings): USD per million tokens per model id or glob. Edits stay in
 * the page until saved; Save sends the whole table (PUT /admin/prices), Reset goes back to the
 * table shipped with the gateway (POST /admin/prices/reset).
 */
export function PriceTableCard() {
  const { t } = useI18n();
  const q = usePrices();
  return (
    <Card title={t('prices.title')} testId="prices-card">
      {q.isLoading ? <Skeleton rows={5} height={28} /> : !q.data ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : <Editor table={q.data} />}
    </Card>
  );
}

function Editor({ table }: { table: PriceTable }) {
  const { t, locale } = useI18n();
  const toast = useToast();
  const save = useSavePrices();
  const reset = useResetPrices();
  const [draft, setDraft] = useState<DraftRow[]>(() => toDraft(table.prices));
  const [filter, setFilter] = useState('');
  const [errors, setErrors] = useState<Record<number, Partial<Record<RowField, string>>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [confirmReset, setConfirmReset] = useState(false);

  // A table saved elsewhere (another tab, a configuration import) replaces an unedited draft.
  const dirty = !same(draft, table.prices);
  useEffect(() => {
    if (!dirty) setDraft(toDraft(table.prices));
  }, [table]);

  const needle = filter.trim().toLowerCase();
  const visible = useMemo(() => draft.map((r, i) => ({ r, i })).filter(({ r }) => !needle || r.match.toLowerCase().includes(needle)), [draft, needle]);

  const setCell = (id: number, field: RowField, value: string) => {
    setDraft((d) => d.map((r) => (r.id === id ? { ...r, [field]: value } : r)));
    const i = draft.findIndex((r) => r.id === id);
    setErrors((e) => (e[i]?.[field] ? { ...e, [i]: { ...e[i], [field]: undefined } } : e));
    setFormError(null);
  };
  const add = () => {
    setFilter('');
    setDraft((d) => [...d, { id: nextId++, match: '', input: '0', output: '0', cacheRead: '0', cacheWrite: '0' }]);
    // focus the new row's model cell once it is there
    setTimeout(() => document.querySelector<HTMLInputElement>('[data-testid="prices-table"] tbody tr:last-child input')?.focus(), 0);
  };
  const remove = (id: number) => {
    setDraft((d) => d.filter((r) => r.id !== id));
    setErrors({});
    setFormError(null);
  };

  /** The draft as Prices, or the errors found in the page (the server checks again). */
  function check(): Price[] | null {
    const errs: Record<number, Partial<Record<RowField, string>>> = {};
    const seen = new Map<string, number>();
    const out: Price[] = [];
    draft.forEach((r, i) => {
      const e: Partial<Record<RowField, string>> = {};
      const match = r.match.trim();
      if (!match) e.match = t('prices.err.match');
      else if (seen.has(match.toLowerCase())) e.match = t('prices.err.duplicate');
      else seen.set(match.toLowerCase(), i);
      const p: Price = { match, input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
      for (const k of NUMS) {
        const v = r[k].trim().replace(',', '.');
        const n = Number(v);
        if (v === '' || !Number.isFinite(n) || n < 0) e[k] = t('prices.err.number');
        else p[k] = n;
      }
      if (Object.keys(e).length) errs[i] = e;
      out.push(p);
    });
    setErrors(errs);
    return Object.keys(errs).length ? null : out;
  }

  async function submit() {
    setFormError(null);
    const prices = check();
    if (!prices) {
      setFilter('');
      showFirstError();
      return;
    }
    try {
      const saved = await save.mutateAsync(prices);
      setDraft(toDraft(saved.prices));
      setErrors({});
      toast.ok(t('prices.saved'));
    } catch (err) {
      const at = err instanceof ApiError && err.status === 400 ? rowFieldOf(err.field) : null;
      if (at && at.field) {
        setErrors({ [at.index]: { [at.field]: localizedFieldError(err as ApiError, t) } });
        setFilter('');
        showFirstError();
      } else {
        const d = describeError(err, t);
        setFormError(d.detail ?? d.title);
      }
    }
  }

  async function doReset() {
    try {
      const r = await reset.mutateAsync();
      setDraft(toDraft(r.prices));
      setErrors({});
      setFilter('');
      setConfirmReset(false);
      toast.ok(t('prices.resetDone'));
    } catch (err) {
      setConfirmReset(false);
      const d = describeError(err, t);
      setFormError(d.detail ?? d.title);
    }
  }

  const errorCount = Object.keys(errors).length;
  return (
    <div className="prices" data-testid="prices-editor">
      <p className="muted small card-intro">{t('prices.desc')}</p>
      <div className="prices-bar">
        <span data-testid="prices-status">
          {table.shipped && !dirty ? (
            <Badge tone="green">{t('prices.shipped', { date: table.shippedAsOf })}</Badge>
          ) : (
            <Badge tone="amber">{t('prices.edited', { date: table.shippedAsOf })}</Badge>
          )}
        </span>
        <span className="muted small" data-testid="prices-count">
          {t('prices.rows', { n: fmtInt(draft.length, locale) })} · {t('prices.unit')}
        </span>
        <div className="input-group prices-filter">
          <span className="input-addon">
            <Icon name="search" size={14} />
          </span>
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t('prices.filter')} aria-label={t('prices.filter')} data-testid="prices-filter" />
        </div>
      </div>
      {formError && (
        <div className="inline-error" role="alert" data-testid="prices-error">
          {formError}
        </div>
      )}
      <div className="table-scroll prices-scroll">
        <table className="table table-compact prices-table" data-testid="prices-table">
          <thead>
            <tr>
              <th>{t('prices.col.match')}</th>
              <th className="num">{t('prices.col.input')}</th>
              <th className="num">{t('prices.col.output')}</th>
              <th className="num">{t('prices.col.cacheRead')}</th>
              <th className="num">{t('prices.col.cacheWrite')}</th>
              <th aria-label={t('common.actions')} />
            </tr>
          </thead>
          <tbody>
            {visible.map(({ r, i }) => {
              const e = errors[i] ?? {};
              const cellError = e.match ?? NUMS.map((k) => e[k]).find(Boolean);
              return (
                <tr key={r.id} data-testid="price-row" data-match={r.match} className={cellError ? 'has-error' : undefined}>
                  <td>
                    <input
                      className="mono"
                      value={r.match}
                      onChange={(ev) => setCell(r.id, 'match', ev.target.value)}
                      aria-label={t('prices.col.match')}
                      aria-invalid={e.match ? true : undefined}
                      spellCheck={false}
                      data-testid="price-match"
                    />
                    {cellError && (
                      <p className="field-error" role="alert" data-testid="price-row-error">
                        {cellError}
                      </p>
                    )}
                  </td>
                  {NUMS.map((k) => (
                    <td key={k} className="num">
                      <input
                        className="mono num"
                        inputMode="decimal"
                        value={r[k]}
                        onChange={(ev) => setCell(r.id, k, ev.target.value)}
                        aria-label={t(`prices.col.${k}`)}
                        aria-invalid={e[k] ? true : undefined}
                        data-testid={`price-${k}`}
                      />
                    </td>
                  ))}
                  <td>
                    <Button size="sm" variant="ghost" icon="trash" title={t('prices.remove')} aria-label={t('prices.remove')} onClick={() => remove(r.id)} data-testid="price-remove" />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {visible.length === 0 && <div className="table-empty muted">{t('prices.noMatch')}</div>}
      </div>
      <details className="prices-sources small muted">
        <summary>{t('prices.sources')}</summary>
        <ul>
          {table.shippedSource.map((u) => (
            <li key={u}>
              <a href={u} target="_blank" rel="noreferrer noopener">
                {u}
              </a>
            </li>
          ))}
        </ul>
      </details>
      <div className="form-actions">
        <Button icon="plus" onClick={add} data-testid="price-add">
          {t('prices.add')}
        </Button>
        <Button icon="rotate" onClick={() => setConfirmReset(true)} disabled={table.shipped && !dirty} data-testid="prices-reset">
          {t('prices.reset')}
        </Button>
        <span className="spacer" />
        {dirty && (
          <Button
            onClick={() => {
              setDraft(toDraft(table.prices));
              setErrors({});
              setFormError(null);
            }}
            data-testid="prices-discard"
          >
            {t('common.discard')}
          </Button>
        )}
        <Button variant="primary" onClick={submit} disabled={!dirty} loading={save.isPending} data-testid="prices-save">
          {t('common.save')}
          {errorCount > 0 ? ` (${errorCount})` : ''}
        </Button>
      </div>
      <ConfirmDialog
        open={confirmReset}
        title={t('prices.resetTitle')}
        body={t('prices.resetBody', { date: table.shippedAsOf })}
        confirmLabel={t('prices.reset')}
        onConfirm={doReset}
        onClose={() => setConfirmReset(false)}
        busy={reset.isPending}
      />
    </div>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { localizedFieldError } from '../errors/ExplainedError';
import { useAccessKeys, useCreateAccessKey, useDeleteAccessKey, usePatchAccessKey, usePools, useStatus } from '../api/hooks';
import { POOLS, type AccessKey, type AccessKeyInput, type CreatedAccessKey, type PoolName } from '../api/types';
import { useI18n, type MessageKey } from '../i18n';
import { claudeSettingsJson } from '../lib/connect';
import { fmtCompact, fmtDate, fmtDateTime, fmtInt, keyHint } from '../lib/format';
import { DEFAULT_VIRTUAL } from '../lib/pools';
import { href } from '../lib/router';
import { Badge, Button, ConfirmDialog, CopyButton, Dialog, EmptyState, ErrorState, Field, PageHeader, Skeleton, Switch, describeError } from '../components/ui';
import { useToast } from '../components/Toast';
import { Icon } from '../components/Icon';

export const POOL_SHORT: Record<PoolName, MessageKey> = { tool: 'keys.pool.tool', normal: 'keys.pool.normal', advanced: 'keys.pool.advanced' };

const expired = (k: AccessKey, now = Date.now()) => k.expiresAt !== null && Date.parse(k.expiresAt) <= now;

/** Access keys for /v1: list with usage, create (the secret is shown once), edit, enable, delete. */
export function AccessKeysPage() {
  const { t } = useI18n();
  const toast = useToast();
  const keys = useAccessKeys(10_000);
  const patch = usePatchAccessKey();
  const del = useDeleteAccessKey();
  const [form, setForm] = useState<{ key: AccessKey | null } | null>(null);
  const [created, setCreated] = useState<CreatedAccessKey | null>(null);
  const [deleting, setDeleting] = useState<AccessKey | null>(null);
  const list = keys.data ?? [];
  const showError = (e: unknown) => toast.fail(e);

  const addButton = (
    <Button variant="primary" icon="plus" onClick={() => setForm({ key: null })} data-testid="add-key">
      {t('keys.add')}
    </Button>
  );

  return (
    <div data-testid="keys-page">
      <PageHeader title={t('keys.title')} description={t('keys.desc')} actions={list.length > 0 ? addButton : undefined} />

      {keys.isLoading ? (
        <Skeleton rows={3} height={52} />
      ) : keys.isError && !keys.data ? (
        <ErrorState error={keys.error} onRetry={() => keys.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState icon="key" title={t('keys.emptyTitle')} testId="keys-empty" action={addButton}>
          {t('keys.emptyBody')}
        </EmptyState>
      ) : (
        <>
          <p className="keys-hint muted small" data-testid="keys-hint">
            <Icon name="info" size={14} />
            <span>{t('keys.howToSend')}</span>
          </p>
          <div className="table-wrap">
            <table className="table table-cards keys-table" data-testid="keys-table">
              <thead>
                <tr>
                  <th>{t('keys.col.name')}</th>
                  <th>{t('keys.col.pools')}</th>
                  <th>{t('keys.col.limits')}</th>
                  <th>{t('keys.col.expires')}</th>
                  <th>{t('keys.col.lastUsed')}</th>
                  <th className="num">{t('keys.col.usage')}</th>
                  <th>{t('keys.col.enabled')}</th>
                  <th className="actions-col">
                    <span className="sr-only">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((k) => (
                  <KeyRow
                    key={k.id}
                    k={k}
                    onToggle={(v) => patch.mutate({ id: k.id, patch: { enabled: v } }, { onError: showError })}
                    onEdit={() => setForm({ key: k })}
                    onDelete={() => setDeleting(k)}
                  />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}

      <KeyFormDialog
        open={form !== null}
        accessKey={form?.key ?? null}
        onClose={() => setForm(null)}
        onCreated={(k) => {
          setForm(null);
          setCreated(k);
        }}
        onSaved={(k) => {
          setForm(null);
          toast.ok(t('keys.saved', { name: k.name }));
        }}
      />
      {created && <KeySecretDialog created={created} onClose={() => setCreated(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        title={t('keys.deleteTitle', { name: deleting?.name ?? '' })}
        body={(keys.data?.length ?? 0) <= 1 ? t('keys.deleteLastBody') : t('keys.deleteBody')}
        confirmLabel={t('common.delete')}
        busy={del.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          try {
            await del.mutateAsync(deleting.id);
            toast.ok(t((keys.data?.length ?? 0) <= 1 ? 'keys.deletedLast' : 'keys.deleted', { name: deleting.name }));
            setDeleting(null);
          } catch (e) {
            showError(e);
          }
        }}
      />
    </div>
  );
}

function KeyRow({ k, onToggle, onEdit, onDelete }: { k: AccessKey; onToggle(v: boolean): void; onEdit(): void; onDelete(): void }) {
  const { t, locale } = useI18n();
  const isExpired = expired(k);
  const u = k.usage;
  const allPools = POOLS.every((p) => k.pools.includes(p));
  return (
    <tr data-testid="key-row" data-key-name={k.name} data-enabled={k.enabled} className={!k.enabled || isExpired ? 'row-off' : undefined}>
      <td data-label={t('keys.col.name')}>
        <div className="cell-stack">
          <span className="cell-title">
            <strong className="key-name" title={k.name}>
              {k.name}
            </strong>
            {isExpired && <Badge tone="red">{t('keys.expired')}</Badge>}
          </span>
          <span className="cell-sub mono muted small key" data-testid="key-masked">
            <Icon name="key" size={12} />
            {keyHint(k.keyMasked)}
          </span>
        </div>
      </td>
      <td data-label={t('keys.col.pools')}>
        <span className="pool-badges" data-testid="key-pools">
          {allPools ? (
            <Badge tone="violet">{t('keys.pool.all')}</Badge>
          ) : (
            POOLS.filter((p) => k.pools.includes(p)).map((p) => (
              <Badge key={p} tone="violet">
                {t(POOL_SHORT[p])}
              </Badge>
            ))
          )}
        </span>
      </td>
      <td data-label={t('keys.col.limits')}>
        <div className="cell-stack small" data-testid="key-limits">
          <span>{k.rpm === null ? t('keys.noRpm') : t('keys.rpmN', { n: fmtInt(k.rpm, locale) })}</span>
          <span className="muted">{k.maxConcurrent === null ? t('keys.noConcurrent') : t('keys.concurrentN', { n: fmtInt(k.maxConcurrent, locale) })}</span>
        </div>
      </td>
      <td data-label={t('keys.col.expires')}>
        <span className={`small${isExpired ? ' text-red' : ''}`} title={k.expiresAt ? fmtDateTime(k.expiresAt, locale) : undefined} data-testid="key-expires">
          {k.expiresAt ? fmtDate(k.expiresAt, locale) : <span className="muted">{t('keys.never')}</span>}
        </span>
      </td>
      <td data-label={t('keys.col.lastUsed')}>
        <span className="small" data-testid="key-last-used">
          {k.lastUsedAt ? fmtDateTime(k.lastUsedAt, locale) : <span className="muted">{t('keys.neverUsed')}</span>}
        </span>
      </td>
      <td data-label={t('keys.col.usage')} className="num">
        <div className="cell-stack usage">
          <a href={href('/logs', { keyId: String(k.id) })} className="mono" title={t('keys.viewLogs', { name: k.name })} data-testid="key-requests">
            {t('keys.requestsN', { n: fmtInt(u?.requests ?? 0, locale) })}
          </a>
          <span className="cell-sub mono muted small" title={t('logs.tokensTitle')}>
            {t('keys.tokensN', { in: fmtCompact(u?.inputTokens ?? null, locale), out: fmtCompact(u?.outputTokens ?? null, locale) })}
            {u && u.errors > 0 && <span className="text-red"> · {t('keys.errorsN', { n: fmtInt(u.errors, locale) })}</span>}
          </span>
        </div>
      </td>
      <td data-label={t('keys.col.enabled')}>
        <Switch size="sm" checked={k.enabled} label={t('keys.toggle', { name: k.name })} testId="key-enabled" onChange={onToggle} />
      </td>
      <td className="actions-col">
        <div className="row-actions">
          <Button size="sm" variant="ghost" icon="edit" aria-label={t('keys.edit', { name: k.name })} title={t('common.edit')} onClick={onEdit} data-testid="key-edit" />
          <Button size="sm" variant="ghost" icon="trash" aria-label={t('keys.delete', { name: k.name })} title={t('common.delete')} onClick={onDelete} data-testid="key-delete" className="danger-hover" />
        </div>
      </td>
    </tr>
  );
}

// ---- Create / edit --------------------------------------------------------------------------

interface Draft {
  name: string;
  pools: PoolName[];
  rpm: string;
  maxConcurrent: string;
  /** yyyy-mm-dd (local) or ''. */
  expires: string;
}
type DraftErrors = Partial<Record<keyof Draft | 'form', string>>;

const pad = (n: number) => String(n).padStart(2, '0');
const localDay = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
/** The end of a local day, as the ISO time the key stops working. */
const endOfDay = (day: string) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y!, m! - 1, d!, 23, 59, 59, 999).toISOString();
};

const toDraft = (k: AccessKey | null): Draft =>
  k
    ? {
        name: k.name,
        pools: [...k.pools],
        rpm: k.rpm === null ? '' : String(k.rpm),
        maxConcurrent: k.maxConcurrent === null ? '' : String(k.maxConcurrent),
        expires: k.expiresAt ? localDay(new Date(k.expiresAt)) : '',
      }
    : { name: '', pools: [...POOLS], rpm: '', maxConcurrent: '', expires: '' };

/** API field name → form field. */
const FIELD: Record<string, keyof Draft> = { name: 'name', pools: 'pools', rpm: 'rpm', maxConcurrent: 'maxConcurrent', expiresAt: 'expires' };

function KeyFormDialog({
  open,
  accessKey,
  onClose,
  onCreated,
  onSaved,
}: {
  open: boolean;
  accessKey: AccessKey | null;
  onClose(): void;
  onCreated(k: CreatedAccessKey): void;
  onSaved(k: AccessKey): void;
}) {
  const { t } = useI18n();
  const create = useCreateAccessKey();
  const patch = usePatchAccessKey();
  const pools = usePools();
  const status = useStatus();
  const [draft, setDraft] = useState<Draft>(() => toDraft(accessKey));
  const [errors, setErrors] = useState<DraftErrors>({});
  useEffect(() => {
    if (open) {
      setDraft(toDraft(accessKey));
      setErrors({});
    }
  }, [open, accessKey]);

  const virtual = (p: PoolName) => pools.data?.find((x) => x.name === p)?.virtualModel ?? status.data?.virtualModels?.[p] ?? DEFAULT_VIRTUAL[p];
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setDraft((d) => ({ ...d, [k]: v }));
    setErrors((e) => ({ ...e, [k]: undefined, form: undefined }));
  };
  const today = localDay(new Date());

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs: DraftErrors = {};
    const name = draft.name.trim();
    if (!name) errs.name = t('keys.err.name');
    else if (name.length > 100) errs.name = t('keys.err.nameLong');
    if (draft.pools.length === 0) errs.pools = t('keys.err.pools');
    const limit = (v: string) => (v.trim() === '' ? null : Number(v));
    const rpm = limit(draft.rpm);
    if (rpm !== null && (!Number.isInteger(rpm) || rpm < 1)) errs.rpm = t('keys.err.int');
    const conc = limit(draft.maxConcurrent);
    if (conc !== null && (!Number.isInteger(conc) || conc < 1)) errs.maxConcurrent = t('keys.err.int');
    const unchangedExpiry = accessKey !== null && draft.expires === toDraft(accessKey).expires;
    if (draft.expires && !unchangedExpiry && draft.expires < today) errs.expires = t('keys.err.past');
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    const input: AccessKeyInput = {
      name,
      pools: POOLS.filter((p) => draft.pools.includes(p)),
      rpm,
      maxConcurrent: conc,
      // An untouched day keeps the exact time the key already had.
      expiresAt: unchangedExpiry ? (accessKey?.expiresAt ?? null) : draft.expires ? endOfDay(draft.expires) : null,
    };
    try {
      if (accessKey === null) onCreated(await create.mutateAsync(input));
      else onSaved(await patch.mutateAsync({ id: accessKey.id, patch: input }));
    } catch (err) {
      const f = err instanceof ApiError && err.status === 400 && err.field ? FIELD[err.field] : undefined;
      if (err instanceof ApiError && f) setErrors({ [f]: localizedFieldError(err, t) });
      else setErrors({ form: describeError(err, t).detail ?? describeError(err, t).title });
    }
  }

  const busy = create.isPending || patch.isPending;
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={accessKey ? t('keys.editTitle', { name: accessKey.name }) : t('keys.addTitle')}
      description={accessKey ? undefined : t('keys.addDesc')}
      testId="key-form"
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="key-form" loading={busy} data-testid="key-save">
            {accessKey ? t('common.save') : t('keys.create')}
          </Button>
        </>
      }
    >
      <form id="key-form" className="form" onSubmit={submit} noValidate>
        {errors.form && (
          <div className="inline-error" role="alert" data-testid="key-form-error">
            {errors.form}
          </div>
        )}
        <Field label={t('keys.name')} htmlFor="k-name" error={errors.name} hint={t('keys.nameHint')} testId="kf-name-field">
          <input id="k-name" autoFocus maxLength={100} value={draft.name} onChange={(e) => set('name', e.target.value)} placeholder={t('keys.namePlaceholder')} aria-invalid={!!errors.name} data-testid="kf-name" />
        </Field>
        <fieldset className={`field fieldset${errors.pools ? ' has-error' : ''}`} data-testid="kf-pools-field">
          <legend>{t('keys.pools')}</legend>
          <div className="check-list">
            {POOLS.map((p) => (
              <label key={p} className="check">
                <input
                  type="checkbox"
                  checked={draft.pools.includes(p)}
                  onChange={(e) => set('pools', e.target.checked ? [...draft.pools, p] : draft.pools.filter((x) => x !== p))}
                  data-testid={`kf-pool-${p}`}
                />
                <span>{t(POOL_SHORT[p])}</span>
                <span className="mono muted small">{virtual(p)}</span>
              </label>
            ))}
          </div>
          {errors.pools ? (
            <p className="field-error" role="alert" data-testid="kf-pools-field-error">
              {errors.pools}
            </p>
          ) : (
            <p className="field-hint">{t('keys.poolsHint')}</p>
          )}
        </fieldset>
        <div className="grid-2">
          <Field label={t('keys.rpm')} htmlFor="k-rpm" error={errors.rpm} hint={t('keys.rpmHint')} optional testId="kf-rpm-field">
            <div className="input-group">
              <input id="k-rpm" inputMode="numeric" value={draft.rpm} onChange={(e) => set('rpm', e.target.value.replace(/\D/g, ''))} placeholder={t('keys.unlimited')} aria-invalid={!!errors.rpm} data-testid="kf-rpm" />
              <span className="input-suffix">{t('keys.perMinute')}</span>
            </div>
          </Field>
          <Field label={t('keys.concurrent')} htmlFor="k-conc" error={errors.maxConcurrent} hint={t('keys.concurrentHint')} optional testId="kf-concurrent-field">
            <div className="input-group">
              <input id="k-conc" inputMode="numeric" value={draft.maxConcurrent} onChange={(e) => set('maxConcurrent', e.target.value.replace(/\D/g, ''))} placeholder={t('keys.unlimited')} aria-invalid={!!errors.maxConcurrent} data-testid="kf-concurrent" />
              <span className="input-suffix">{t('keys.atOnce')}</span>
            </div>
          </Field>
        </div>
        <Field label={t('keys.expires')} htmlFor="k-exp" error={errors.expires} hint={t('keys.expiresHint')} optional testId="kf-expires-field">
          <div className="date-row">
            <input id="k-exp" type="date" min={today} value={draft.expires} onChange={(e) => set('expires', e.target.value)} aria-invalid={!!errors.expires} data-testid="kf-expires" />
            {draft.expires && (
              <Button size="sm" variant="ghost" icon="x" onClick={() => set('expires', '')} data-testid="kf-expires-clear">
                {t('keys.noExpiry')}
              </Button>
            )}
          </div>
        </Field>
      </form>
    </Dialog>
  );
}

// ---- The secret, once --------------------------------------------------------------------------

function KeySecretDialog({ created, onClose }: { created: CreatedAccessKey; onClose(): void }) {
  const { t } = useI18n();
  const settingsJson = claudeSettingsJson(window.location.origin, created.key);
  return (
    <Dialog
      open
      onClose={onClose}
      title={t('keys.createdTitle', { name: created.name })}
      testId="key-secret-dialog"
      footer={
        <Button variant="primary" icon="check" onClick={onClose} data-testid="key-secret-done">
          {t('keys.savedIt')}
        </Button>
      }
    >
      <div className="secret">
        <div className="callout callout-warn" role="note">
          <Icon name="alert" size={16} />
          <span>{t('keys.onceNote')}</span>
        </div>
        <div className="secret-box">
          <code className="mono break" data-testid="key-secret">
            {created.key}
          </code>
          <CopyButton text={created.key} testId="copy-key-secret" />
        </div>
        <h3 className="detail-h">{t('keys.useInClaude')}</h3>
        <div className="snippet">
          <div className="snippet-head">
            <span className="mono small muted">~/.claude/settings.json</span>
            <CopyButton size="sm" text={settingsJson} testId="copy-key-settings" />
          </div>
          <pre className="code" data-testid="key-settings-json">
            {settingsJson}
          </pre>
        </div>
        <p className="muted small">{t('keys.envNote')}</p>
      </div>
    </Dialog>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { localizedFieldError } from '../errors/ExplainedError';
import { useSaveSettings, useSettings, useStatus } from '../api/hooks';
import type { Settings } from '../api/types';
import { useI18n } from '../i18n';
import { fmtDuration } from '../lib/format';
import { Badge, Button, Card, ErrorState, Field, PageHeader, Skeleton, Switch, describeError } from '../components/ui';
import { Preferences } from '../components/Preferences';
import { PasswordForm } from '../components/PasswordForm';
import { Icon } from '../components/Icon';
import { useQueryClient } from '@tanstack/react-query';
import { useToast } from '../components/Toast';
import { ConfigTransfer } from '../components/ConfigTransfer';
import { PriceTableCard } from './PriceTable';

type Draft = { logBodies: boolean; logBodyMaxBytes: string; logRetentionCount: string; logRetentionDays: string };
type NumKey = 'logBodyMaxBytes' | 'logRetentionCount' | 'logRetentionDays';

const toDraft = (s: Settings): Draft => ({
  logBodies: s.logBodies,
  logBodyMaxBytes: String(s.logBodyMaxBytes),
  logRetentionCount: String(s.logRetentionCount),
  logRetentionDays: String(s.logRetentionDays),
});

export function SettingsPage() {
  const { t } = useI18n();
  return (
    <div data-testid="settings-page">
      <PageHeader title={t('settings.title')} description={t('settings.desc')} />
      <div className="settings-grid">
        <div className="stack">
          <LogSettings />
          <AdminPassword />
        </div>
        <div className="stack">
          <Card title={t('settings.appearance')} testId="settings-appearance">
            <Preferences />
          </Card>
          <ConfigTransfer />
          <About />
        </div>
      </div>
      <div className="settings-wide">
        <PriceTableCard />
      </div>
    </div>
  );
}

function LogSettings() {
  const { t } = useI18n();
  const toast = useToast();
  const settings = useSettings();
  const save = useSaveSettings();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Partial<Record<keyof Draft | 'form', string>>>({});

  useEffect(() => {
    if (settings.data && draft === null) setDraft(toDraft(settings.data));
  }, [settings.data, draft]);

  if (settings.isLoading)
    return (
      <Card title={t('settings.logs')}>
        <Skeleton rows={4} />
      </Card>
    );
  if (!settings.data || !draft)
    return (
      <Card title={t('settings.logs')} testId="settings-logs">
        <ErrorState error={settings.error} onRetry={() => settings.refetch()} />
      </Card>
    );

  const base = toDraft(settings.data);
  const dirty = JSON.stringify(base) !== JSON.stringify(draft);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setDraft((d) => (d ? { ...d, [k]: v } : d));
    setErrors((e) => ({ ...e, [k]: undefined }));
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!draft) return;
    const errs: typeof errors = {};
    const nums: NumKey[] = ['logBodyMaxBytes', 'logRetentionCount', 'logRetentionDays'];
    for (const k of nums) {
      const n = Number(draft[k]);
      if (draft[k].trim() === '' || !Number.isInteger(n) || n < 0) errs[k] = t('settings.err.int');
    }
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    try {
      const s = await save.mutateAsync({
        logBodies: draft.logBodies,
        logBodyMaxBytes: Number(draft.logBodyMaxBytes),
        logRetentionCount: Number(draft.logRetentionCount),
        logRetentionDays: Number(draft.logRetentionDays),
      });
      setDraft(toDraft(s));
      toast.ok(t('settings.saved'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.field && err.field in draft) setErrors({ [err.field]: localizedFieldError(err, t) });
      else setErrors({ form: describeError(err, t).detail ?? describeError(err, t).title });
    }
  }

  return (
    <Card title={t('settings.logs')} testId="settings-logs">
      <form className="form" onSubmit={submit} noValidate>
        {errors.form && (
          <div className="inline-error" role="alert">
            {errors.form}
          </div>
        )}
        <div className="switch-row">
          <div>
            <div className="switch-label">{t('settings.logBodies')}</div>
            <div className="field-hint">{t('settings.logBodiesHint')}</div>
          </div>
          <Switch checked={draft.logBodies} onChange={(v) => set('logBodies', v)} label={t('settings.logBodies')} testId="settings-logBodies" />
        </div>
        <Field label={t('settings.maxBytes')} htmlFor="s-max" error={errors.logBodyMaxBytes} hint={t('settings.maxBytesHint')}>
          <div className="input-group">
            <input id="s-max" inputMode="numeric" value={draft.logBodyMaxBytes} onChange={(e) => set('logBodyMaxBytes', e.target.value.replace(/\D/g, ''))} data-testid="settings-maxBytes" disabled={!draft.logBodies} />
            <span className="input-suffix">{t('common.bytes')}</span>
          </div>
        </Field>
        <div className="grid-2">
          <Field label={t('settings.retentionCount')} htmlFor="s-count" error={errors.logRetentionCount} hint={t('settings.retentionCountHint')}>
            <div className="input-group">
              <input id="s-count" inputMode="numeric" value={draft.logRetentionCount} onChange={(e) => set('logRetentionCount', e.target.value.replace(/\D/g, ''))} data-testid="settings-retentionCount" />
              <span className="input-suffix">{t('common.requests')}</span>
            </div>
          </Field>
          <Field label={t('settings.retentionDays')} htmlFor="s-days" error={errors.logRetentionDays} hint={t('settings.retentionDaysHint')} testId="settings-days-field">
            <div className="input-group">
              <input id="s-days" inputMode="numeric" value={draft.logRetentionDays} onChange={(e) => set('logRetentionDays', e.target.value.replace(/\D/g, ''))} data-testid="settings-retentionDays" />
              <span className="input-suffix">{t('common.days')}</span>
            </div>
          </Field>
        </div>
        <div className="form-actions">
          {dirty && (
            <Button
              onClick={() => {
                setDraft(base);
                setErrors({});
              }}
            >
              {t('common.discard')}
            </Button>
          )}
          <Button type="submit" variant="primary" disabled={!dirty} loading={save.isPending} data-testid="settings-save">
            {t('common.save')}
          </Button>
        </div>
      </form>
    </Card>
  );
}

/** Change the admin password (POST /admin/password); not possible when it comes from ADMIN_PASSWORD. */
function AdminPassword() {
  const { t } = useI18n();
  const toast = useToast();
  const qc = useQueryClient();
  const status = useStatus();
  const fromEnv = status.data?.security?.passwordFromEnv === true;
  // The form stays usable against an older gateway without `security`: the API itself then says no.
  return (
    <Card title={t('password.title')} testId="settings-password">
      <p className="muted small card-intro">{t('password.desc')}</p>
      {fromEnv && (
        <div className="callout callout-info" data-testid="password-from-env">
          <Icon name="info" size={16} />
          <span>{t('password.fromEnv')}</span>
        </div>
      )}
      <PasswordForm
        disabled={fromEnv}
        submitLabel={t('password.submit')}
        onChanged={() => {
          void qc.invalidateQueries();
          toast.ok(t('password.changed'));
        }}
      />
    </Card>
  );
}

function About() {
  const { t, locale } = useI18n();
  const status = useStatus();
  const s = status.data;
  return (
    <Card title={t('settings.about')} testId="settings-about">
      {status.isLoading ? (
        <Skeleton rows={3} height={20} />
      ) : !s ? (
        <ErrorState error={status.error} compact />
      ) : (
        <dl className="kv-grid kv-grid-1">
          <div className="kv-item">
            <dt>{t('settings.version')}</dt>
            <dd className="mono">{s.version ?? '–'}</dd>
          </div>
          <div className="kv-item">
            <dt>{t('settings.uptime')}</dt>
            <dd>{fmtDuration(s.uptimeSeconds, locale)}</dd>
          </div>
          <div className="kv-item">
            <dt>{t('settings.storage')}</dt>
            <dd className="mono">{s.storage ?? '–'}</dd>
          </div>
          <div className="kv-item">
            <dt>Redis</dt>
            <dd>{s.redis ? <Badge tone="green">{t('settings.redisOn')}</Badge> : <Badge>{t('settings.redisOff')}</Badge>}</dd>
          </div>
          <div className="kv-item">
            <dt>{t('settings.adminPassword')}</dt>
            <dd>{s.defaultPassword ? <Badge tone="amber">{t('settings.passwordDefault')}</Badge> : <Badge tone="green">{t('settings.passwordCustom')}</Badge>}</dd>
          </div>
        </dl>
      )}
    </Card>
  );
}

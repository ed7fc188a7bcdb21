import { useState } from 'react';
import { useDeleteProvider, usePools, useProviders, useSaveProvider } from '../api/hooks';
import type { Provider, ProviderKeyState } from '../api/types';
import { useI18n, type MessageKey } from '../i18n';
import { providerHealth, type Health } from '../lib/pools';
import { fmtCountdown } from '../lib/format';
import { useNow } from '../lib/hooks';
import { Badge, Button, ConfirmDialog, EmptyState, ErrorState, PageHeader, Skeleton, Switch, type Tone } from '../components/ui';
import { ExplainedError } from '../errors/ExplainedError';
import { useToast } from '../components/Toast';
import { Icon } from '../components/Icon';
import { ProviderFormDialog } from './ProviderForm';
import { ModelsDialog } from './ModelsDialog';
import { TestDialog } from './TestDialog';

const HEALTH: Record<Health, { tone: Tone; label: MessageKey }> = {
  none: { tone: 'neutral', label: 'health.none' },
  ready: { tone: 'green', label: 'health.ready' },
  partial: { tone: 'amber', label: 'health.partial' },
  cooling: { tone: 'red', label: 'health.cooling' },
  disabled: { tone: 'neutral', label: 'health.disabled' },
};

export function FormatBadge({ format }: { format: string | undefined }) {
  if (!format) return null;
  return (
    <Badge tone={format === 'anthropic' ? 'amber' : 'blue'} testId="format-badge">
      {format === 'anthropic' ? 'Anthropic' : 'OpenAI'}
    </Badge>
  );
}

/** A key's state: ready, or cooling with the time left (its reason in the title). */
function KeyState({ k }: { k: ProviderKeyState }) {
  const { t } = useI18n();
  const now = useNow(1000, k.state === 'cooling');
  if (k.state !== 'cooling') {
    return (
      <Badge tone="green" dot testId="provider-key-state">
        <span data-state="ready">{t('state.ready')}</span>
      </Badge>
    );
  }
  const title = [
    k.cooldownUntil ? t('pools.coolingUntil', { time: new Date(k.cooldownUntil).toLocaleTimeString() }) : '',
    k.cooldownKind === 'auth' || k.cooldownKind === 'rate-limit' ? t(`providers.keyKind.${k.cooldownKind}`) : '',
  ].filter(Boolean).join(' — ');
  const left = fmtCountdown(k.cooldownUntil, now);
  return (
    <Badge tone="amber" dot testId="provider-key-state" title={title || undefined}>
      <span data-state="cooling">{t('state.cooling')}</span>
      {left && <span className="mono countdown">{left}</span>}
    </Badge>
  );
}

/** Several keys: each masked, with its state, cooldown and last error (a key cools alone). */
function KeyList({ keys }: { keys: ProviderKeyState[] }) {
  const { t } = useI18n();
  const cooling = keys.filter((k) => k.state === 'cooling').length;
  return (
    <div className="key-list" data-testid="provider-keys">
      <span className="cell-sub muted small key" title={t('providers.keysHint')}>
        <Icon name="key" size={12} />
        {t('providers.keys', { n: keys.length })}
        {cooling > 0 && <span data-testid="provider-keys-cooling">· {t('providers.keysCooling', { n: cooling })}</span>}
      </span>
      <ul>
        {keys.map((k, i) => (
          <li key={i} className="key-item" data-testid="provider-key-item" data-state={k.state}>
            <span className="mono small">{k.masked}</span>
            <KeyState k={k} />
            {k.lastError && (
              <span className={`key-error small${k.state === 'cooling' ? '' : ' muted'}`} data-testid="provider-key-error">
                <ExplainedError raw={k.lastError} testId="provider-key-error-explained" />
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ProvidersPage() {
  const { t } = useI18n();
  const toast = useToast();
  const providers = useProviders(5000);
  const pools = usePools(5000);
  const del = useDeleteProvider();
  const save = useSaveProvider();
  const [form, setForm] = useState<{ provider: Provider | null } | null>(null);
  const [modelsFor, setModelsFor] = useState<number | null>(null);
  const [testFor, setTestFor] = useState<Provider | null>(null);
  const [deleting, setDeleting] = useState<Provider | null>(null);

  const list = providers.data ?? [];

  return (
    <div data-testid="providers-page">
      <PageHeader
        title={t('providers.title')}
        description={t('providers.desc')}
        actions={
          <Button variant="primary" icon="plus" onClick={() => setForm({ provider: null })} data-testid="add-provider">
            {t('providers.add')}
          </Button>
        }
      />

      {providers.isLoading ? (
        <Skeleton rows={3} height={52} />
      ) : providers.isError ? (
        <ErrorState error={providers.error} onRetry={() => providers.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState
          icon="server"
          title={t('providers.emptyTitle')}
          testId="providers-empty"
          action={
            <Button variant="primary" icon="plus" onClick={() => setForm({ provider: null })}>
              {t('providers.add')}
            </Button>
          }
        >
          {t('providers.emptyBody')}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table table-cards providers-table" data-testid="providers-table">
            <thead>
              <tr>
                <th>{t('providers.col.name')}</th>
                <th>
                  {t('providers.col.baseUrl')} <span className="th-sub">· {t('providers.col.key')}</span>
                </th>
                <th className="num">{t('providers.col.members')}</th>
                <th>{t('providers.col.health')}</th>
                <th>{t('providers.col.enabled')}</th>
                <th className="actions-col">
                  <span className="sr-only">{t('common.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => {
                const h = providerHealth(pools.data, p.id);
                const hv = p.enabled ? HEALTH[h.health] : HEALTH.disabled;
                const count = p.memberCount ?? h.total;
                return (
                  <tr key={p.id} data-testid="provider-row" data-provider={p.name}>
                    <td data-label={t('providers.col.name')}>
                      <div className="cell-title">
                        <strong>{p.name}</strong>
                        <FormatBadge format={p.format} />
                      </div>
                    </td>
                    <td data-label={t('providers.col.baseUrl')}>
                      <div className="cell-stack">
                        <span className="mono url" title={p.baseUrl}>
                          {p.baseUrl}
                        </span>
                        {p.keys && p.keys.length > 1 ? (
                          <KeyList keys={p.keys} />
                        ) : (
                          <span className="cell-sub mono muted small key" title={t('providers.col.key')} data-testid="provider-key">
                            <Icon name="key" size={12} />
                            {p.apiKeyMasked || t('provider.noKey')}
                            {p.keys?.[0]?.state === 'cooling' && <KeyState k={p.keys[0]} />}
                          </span>
                        )}
                        {p.enabled && h.lastError && (
                          <div className="provider-error small" data-testid="provider-error">
                            <span className="muted">{t('pools.lastError')}</span> <ExplainedError raw={h.lastError} testId="provider-error-explained" />
                          </div>
                        )}
                      </div>
                    </td>
                    <td data-label={t('providers.col.members')} className="num">
                      <span data-testid="provider-members">{count}</span>
                    </td>
                    <td data-label={t('providers.col.health')}>
                      <Badge tone={hv.tone} dot testId="provider-health" title={h.total ? t('health.detail', { ready: h.ready, cooling: h.cooling, disabled: h.disabled }) : undefined}>
                        {t(hv.label)}
                        {h.health === 'partial' && p.enabled ? ` ${h.cooling}/${h.ready + h.cooling}` : ''}
                      </Badge>
                    </td>
                    <td data-label={t('providers.col.enabled')}>
                      <Switch
                        size="sm"
                        checked={p.enabled}
                        label={t('providers.toggle', { name: p.name })}
                        testId="provider-enabled"
                        onChange={(v) =>
                          save.mutate(
                            { id: p.id, input: { enabled: v } },
                            { onError: (e) => toast.fail(e) },
                          )
                        }
                      />
                    </td>
                    <td className="actions-col">
                      <div className="row-actions">
                        <Button size="sm" icon="download" onClick={() => setModelsFor(p.id)} data-testid="provider-models">
                          {t('providers.fetchModels')}
                        </Button>
                        <Button size="sm" icon="play" onClick={() => setTestFor(p)} data-testid="provider-test">
                          {t('providers.test')}
                        </Button>
                        <Button size="sm" variant="ghost" icon="edit" aria-label={t('providers.edit', { name: p.name })} title={t('common.edit')} onClick={() => setForm({ provider: p })} data-testid="provider-edit" />
                        <Button size="sm" variant="ghost" icon="trash" aria-label={t('providers.delete', { name: p.name })} title={t('common.delete')} onClick={() => setDeleting(p)} data-testid="provider-delete" className="danger-hover" />
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <ProviderFormDialog
        open={form !== null}
        provider={form?.provider ?? null}
        onClose={() => setForm(null)}
        onSaved={(p, created) => {
          setForm(null);
          if (created) {
            toast.ok(t('providers.created', { name: p.name }));
            // Straight on to the next step of the flow: fetch its models and put them in a pool.
            setModelsFor(p.id);
          } else toast.ok(t('providers.saved', { name: p.name }));
        }}
      />
      {modelsFor !== null && <ModelsDialog open providerId={modelsFor} onClose={() => setModelsFor(null)} />}
      {testFor && <TestDialog provider={testFor} onClose={() => setTestFor(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        title={t('providers.deleteTitle', { name: deleting?.name ?? '' })}
        body={deleting && (deleting.memberCount ?? providerHealth(pools.data, deleting.id).total) > 0 ? t('providers.deleteBodyMembers', { n: deleting.memberCount ?? providerHealth(pools.data, deleting.id).total }) : t('providers.deleteBody')}
        confirmLabel={t('common.delete')}
        busy={del.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          try {
            await del.mutateAsync(deleting.id);
            toast.ok(t('providers.deleted', { name: deleting.name }));
            setDeleting(null);
          } catch (e) {
            toast.fail(e);
          }
        }}
      />
    </div>
  );
}

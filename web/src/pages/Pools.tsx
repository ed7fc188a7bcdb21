import { useEffect, useState } from 'react';
import { usePatchMember, usePools, useRemoveMember, useResetMember } from '../api/hooks';
import type { Member, Pool, PoolName } from '../api/types';
import { useI18n } from '../i18n';
import { fmtCountdown } from '../lib/format';
import { useNow } from '../lib/hooks';
import { POOL_DESC, POOL_LABEL, groupByProvider } from '../lib/pools';
import { Badge, Button, ConfirmDialog, EmptyState, ErrorState, PageHeader, Skeleton, Switch } from '../components/ui';
import { ExplainedError } from '../errors/ExplainedError';
import { useToast } from '../components/Toast';
import { ModelsDialog } from './ModelsDialog';
import { FormatBadge } from './Providers';
import { AffinityControl, MemberCapabilities } from './PoolCapabilities';

export function PoolsPage() {
  const { t } = useI18n();
  const pools = usePools(2000);
  const [addTo, setAddTo] = useState<PoolName | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const remove = useRemoveMember();
  const toast = useToast();
  const anyCooling = pools.data?.some((p) => p.members.some((m) => m.state === 'cooling')) ?? false;
  const now = useNow(1000, anyCooling);

  return (
    <div data-testid="pools-page">
      <PageHeader
        title={t('pools.title')}
        description={t('pools.desc')}
        actions={
          <span className={`live${pools.isError ? ' live-off' : ''}`} title={t('pools.liveHint')} data-testid="pools-live">
            <span className="live-dot" />
            {pools.isError ? t('pools.offline') : t('pools.live')}
          </span>
        }
      />
      {pools.isError && pools.data && <ErrorState error={pools.error} compact />}
      {pools.isLoading ? (
        <Skeleton rows={3} height={140} />
      ) : !pools.data ? (
        <ErrorState error={pools.error} onRetry={() => pools.refetch()} />
      ) : (
        <div className="pools">
          {pools.data.map((p) => (
            <PoolCard key={p.name} pool={p} now={now} onAdd={() => setAddTo(p.name)} onRemove={setRemoving} />
          ))}
        </div>
      )}
      {addTo && <ModelsDialog open providerId={null} initialPool={addTo} onClose={() => setAddTo(null)} />}
      <ConfirmDialog
        open={removing !== null}
        title={t('pools.removeTitle')}
        body={removing ? t('pools.removeBody', { model: removing.model, provider: removing.providerName, pool: t(POOL_LABEL[removing.pool]) }) : ''}
        confirmLabel={t('pools.remove')}
        busy={remove.isPending}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          if (!removing) return;
          try {
            await remove.mutateAsync({ pool: removing.pool, id: removing.id });
            toast.ok(t('pools.removed', { model: removing.model }));
            setRemoving(null);
          } catch (e) {
            toast.fail(e);
          }
        }}
      />
    </div>
  );
}

function PoolCard({ pool, now, onAdd, onRemove }: { pool: Pool; now: number; onAdd(): void; onRemove(m: Member): void }) {
  const { t } = useI18n();
  const ready = pool.members.filter((m) => m.state === 'ready').length;
  const cooling = pool.members.filter((m) => m.state === 'cooling').length;
  const groups = groupByProvider(pool.members);
  return (
    <section className="card pool-card" data-testid={`pool-${pool.name}`} aria-labelledby={`pool-h-${pool.name}`}>
      <header className="pool-header">
        <div className="pool-heading">
          <div className="pool-title">
            <h2 id={`pool-h-${pool.name}`}>{t(POOL_LABEL[pool.name])}</h2>
            <Badge tone="violet" mono title={t('pools.virtualHint')} testId="pool-virtual">
              {pool.virtualModel}
            </Badge>
          </div>
          <p className="muted small">{t(POOL_DESC[pool.name])}</p>
          <AffinityControl pool={pool} />
        </div>
        <div className="pool-meta">
          <span className="pool-counts small" data-testid="pool-counts">
            {pool.members.length > 0 ? (
              <>
                <span>{t('pools.count', { n: pool.members.length })}</span>
                <span className="sep">·</span>
                <span className={ready > 0 ? 'text-green' : undefined}>{t('pools.readyCount', { n: ready })}</span>
                {cooling > 0 && (
                  <>
                    <span className="sep">·</span>
                    <span className="text-amber">{t('pools.coolingCount', { n: cooling })}</span>
                  </>
                )}
              </>
            ) : (
              <span className="muted">{t('pools.count', { n: 0 })}</span>
            )}
          </span>
          <Button size="sm" icon="plus" onClick={onAdd} data-testid={`pool-add-${pool.name}`}>
            {t('pools.addModels')}
          </Button>
        </div>
      </header>
      {pool.members.length === 0 ? (
        <EmptyState icon="layers" title={t('pools.emptyTitle')}>
          {t('pools.emptyBody', { model: pool.virtualModel })}
        </EmptyState>
      ) : (
        <div className="member-groups">
          {groups.map((g) => (
            <div className="member-group" key={g.providerId} data-testid="member-group" data-provider={g.providerName}>
              <div className="member-group-head">
                <strong>{g.providerName}</strong>
                <FormatBadge format={g.providerFormat} />
                <span className="muted small">{t('pools.models', { n: g.members.length })}</span>
              </div>
              <ul className="members">
                {g.members.map((m) => (
                  <MemberRow key={m.id} m={m} now={now} onRemove={() => onRemove(m)} />
                ))}
              </ul>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function StateBadge({ m, now }: { m: Member; now: number }) {
  const { t } = useI18n();
  if (m.state === 'cooling' && m.probing) {
    return (
      <Badge tone="blue" dot testId="member-state" title={t('pools.probingHint')}>
        <span data-state="probing">{t('pools.probing')}</span>
      </Badge>
    );
  }
  if (m.state === 'cooling') {
    const left = fmtCountdown(m.cooldownUntil, now);
    const title = [
      m.cooldownUntil ? t('pools.coolingUntil', { time: new Date(m.cooldownUntil).toLocaleTimeString() }) : '',
      m.cooldownKind ? t(`pools.kind.${m.cooldownKind}`) : '',
    ].filter(Boolean).join(' — ');
    return (
      <Badge tone="amber" dot testId="member-state" title={title || undefined}>
        <span data-state="cooling">{t('state.cooling')}</span>
        {left && <span className="mono countdown">{left}</span>}
      </Badge>
    );
  }
  if (m.state === 'disabled')
    return (
      <Badge tone="neutral" dot testId="member-state">
        <span data-state="disabled">{t('state.disabled')}</span>
      </Badge>
    );
  return (
    <Badge tone="green" dot testId="member-state">
      <span data-state="ready">{t('state.ready')}</span>
    </Badge>
  );
}

function MemberRow({ m, now, onRemove }: { m: Member; now: number; onRemove(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const patch = usePatchMember();
  const reset = useResetMember();
  const [weight, setWeight] = useState(String(m.weight));
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    if (!editing) setWeight(String(m.weight));
  }, [m.weight, editing]);

  function commitWeight() {
    setEditing(false);
    const n = Number(weight);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      toast.error(t('pools.weightInvalid'));
      setWeight(String(m.weight));
      return;
    }
    if (n === m.weight) return;
    patch.mutate(
      { pool: m.pool, id: m.id, patch: { weight: n } },
      {
        onSuccess: () => toast.ok(t('pools.weightSaved', { model: m.model, n })),
        onError: (e) => {
          setWeight(String(m.weight));
          toast.fail(e);
        },
      },
    );
  }

  return (
    <li className={`member state-${m.state}`} data-testid="member-row" data-model={m.model} data-pool={m.pool} data-member-id={m.id} data-state={m.state}>
      <div className="member-main">
        <span className="mono member-model" title={m.model}>
          {m.model}
        </span>
        <StateBadge m={m} now={now} />
      </div>
      {m.lastError && (
        <div className="member-error small" data-testid="member-error">
          <span className="muted">{t('pools.lastError')}</span> <ExplainedError raw={m.lastError} testId="member-error-explained" />
          {(m.failures ?? 0) > 1 && (
            <span className="muted" title={t('pools.failuresHint')} data-testid="member-failures">
              {' · '}
              {t('pools.failures', { n: m.failures ?? 0 })}
            </span>
          )}
        </div>
      )}
      <div className="member-controls">
        <MemberCapabilities m={m} />
        <label className="weight" title={t('pools.weightHint')}>
          <span className="muted small">{t('pools.weight')}</span>
          <input
            type="number"
            min={1}
            max={1000}
            step={1}
            value={weight}
            onFocus={() => setEditing(true)}
            onChange={(e) => setWeight(e.target.value)}
            onBlur={commitWeight}
            onKeyDown={(e) => {
              if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
              if (e.key === 'Escape') {
                setWeight(String(m.weight));
                setEditing(false);
              }
            }}
            aria-label={t('pools.weightFor', { model: m.model })}
            data-testid="member-weight"
          />
        </label>
        <Switch
          size="sm"
          checked={m.enabled}
          label={m.enabled ? t('pools.disableMember', { model: m.model }) : t('pools.enableMember', { model: m.model })}
          testId="member-enabled"
          onChange={(v) => patch.mutate({ pool: m.pool, id: m.id, patch: { enabled: v } }, { onError: (e) => toast.fail(e) })}
        />
        <Button
          size="sm"
          variant="ghost"
          icon="rotate"
          disabled={m.state !== 'cooling' && !m.lastError}
          loading={reset.isPending}
          title={t('pools.reset')}
          aria-label={t('pools.resetFor', { model: m.model })}
          data-testid="member-reset"
          onClick={() =>
            reset.mutate(
              { pool: m.pool, id: m.id },
              {
                onSuccess: () => toast.ok(t('pools.resetDone', { model: m.model })),
                onError: (e) => toast.fail(e),
              },
            )
          }
        />
        <Button size="sm" variant="ghost" icon="trash" className="danger-hover" title={t('pools.remove')} aria-label={t('pools.removeFor', { model: m.model })} onClick={onRemove} data-testid="member-remove" />
      </div>
    </li>
  );
}

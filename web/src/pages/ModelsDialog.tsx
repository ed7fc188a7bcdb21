import { useEffect, useMemo, useRef, useState } from 'react';
import { useAddMembers, useFetchModels, usePools, useProviders, useStoredModels } from '../api/hooks';
import { POOLS, type PoolName } from '../api/types';
import { useI18n } from '../i18n';
import { DEFAULT_VIRTUAL, POOL_LABEL, membershipOf } from '../lib/pools';
import { Badge, Button, Dialog, ErrorState, RawDetail, Segmented, Spinner, describeError } from '../components/ui';
import { Icon } from '../components/Icon';
import { useToast } from '../components/Toast';

/**
 * "Fetch models → tick → choose a pool → add": the provider's model list (fetched fresh on open,
 * the last fetched list meanwhile), a search box, checkboxes, a pool selector and a hand-typed model.
 * Mount it per opening (`{open && <ModelsDialog open … />}`): its state starts fresh each time.
 */
export function ModelsDialog({
  open,
  providerId: initialProviderId,
  initialPool = 'normal',
  onClose,
}: {
  open: boolean;
  /** null: choose the provider inside the dialog (opened from the Pools page). */
  providerId: number | null;
  initialPool?: PoolName;
  onClose(): void;
}) {
  const { t } = useI18n();
  const toast = useToast();
  const providers = useProviders();
  const [providerId, setProviderId] = useState<number | null>(initialProviderId);
  const provider = providers.data?.find((p) => p.id === providerId) ?? null;
  const stored = useStoredModels(open ? providerId : null);
  const fetchModels = useFetchModels();
  const pools = usePools(open ? 4000 : false);
  const add = useAddMembers();
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [extra, setExtra] = useState<string[]>([]);
  const [manual, setManual] = useState('');
  const [pool, setPool] = useState<PoolName>(initialPool);
  const [added, setAdded] = useState<{ n: number; pool: PoolName } | null>(null);
  const fetchedFor = useRef<number | null>(null);

  // Choosing a provider inside the dialog: default to the first one.
  useEffect(() => {
    if (open && providerId === null && initialProviderId === null && providers.data?.length) setProviderId(providers.data[0]!.id);
  }, [open, providerId, initialProviderId, providers.data]);

  // Fetch a fresh list from the provider once per provider (the dialog is mounted per opening).
  useEffect(() => {
    if (!open || providerId === null || fetchedFor.current === providerId) return;
    fetchedFor.current = providerId;
    setSelected(new Set());
    setExtra([]);
    fetchModels.mutate(providerId);
  }, [open, providerId, fetchModels]);

  const fetched = fetchModels.data && fetchModels.variables === providerId ? fetchModels.data : undefined;
  const base = fetched ?? stored.data ?? [];
  const all = useMemo(() => {
    const seen = new Set(base);
    return [...extra.filter((m) => !seen.has(m)), ...base];
  }, [base, extra]);
  const q = search.trim().toLowerCase();
  const visible = useMemo(() => (q ? all.filter((m) => m.toLowerCase().includes(q)) : all), [all, q]);
  const membership = useMemo(() => (providerId === null ? new Map<string, PoolName[]>() : membershipOf(pools.data, providerId)), [pools.data, providerId]);
  const virtual = (p: PoolName) => pools.data?.find((x) => x.name === p)?.virtualModel ?? DEFAULT_VIRTUAL[p];

  const allVisibleSelected = visible.length > 0 && visible.every((m) => selected.has(m));
  const someVisibleSelected = visible.some((m) => selected.has(m));
  const selectAllRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (selectAllRef.current) selectAllRef.current.indeterminate = someVisibleSelected && !allVisibleSelected;
  }, [someVisibleSelected, allVisibleSelected]);

  const toggle = (m: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(m)) n.delete(m);
      else n.add(m);
      return n;
    });

  const toggleAllVisible = () =>
    setSelected((s) => {
      const n = new Set(s);
      if (allVisibleSelected) visible.forEach((m) => n.delete(m));
      else visible.forEach((m) => n.add(m));
      return n;
    });

  function addManual() {
    const names = manual
      .split(/[,\s]+/)
      .map((x) => x.trim())
      .filter(Boolean);
    if (!names.length) return;
    setExtra((e) => [...names.filter((x) => !e.includes(x)), ...e]);
    setSelected((s) => new Set([...s, ...names]));
    setManual('');
  }

  async function submit() {
    if (providerId === null || selected.size === 0) return;
    const models = all.filter((m) => selected.has(m));
    try {
      const members = await add.mutateAsync({ pool, providerId, models });
      const label = t(POOL_LABEL[pool]);
      toast.ok(t('models.addedToast', { n: members.length, pool: label }));
      setAdded({ n: members.length, pool });
      setSelected(new Set());
    } catch (err) {
      toast.fail(err);
    }
  }

  const loadingList = (fetchModels.isPending && !base.length) || (stored.isLoading && !fetched);

  return (
    <Dialog
      open={open}
      onClose={onClose}
      wide
      testId="models-dialog"
      title={provider ? t('models.titleFor', { name: provider.name }) : t('models.title')}
      description={t('models.desc')}
      footer={
        <div className="models-footer">
          <div className="models-pool">
            <span className="muted small">{t('models.toPool')}</span>
            <Segmented<PoolName>
              label={t('models.toPool')}
              value={pool}
              onChange={setPool}
              testId="models-pool"
              options={POOLS.map((p) => ({
                value: p,
                testId: `models-pool-${p}`,
                label: (
                  <span className="pool-opt">
                    {t(POOL_LABEL[p])} <span className="mono muted">{virtual(p)}</span>
                  </span>
                ),
              }))}
            />
          </div>
          <div className="models-actions">
            <Button onClick={onClose} data-testid="models-done">
              {added ? t('common.done') : t('common.cancel')}
            </Button>
            <Button variant="primary" icon="plus" disabled={selected.size === 0 || providerId === null} loading={add.isPending} onClick={submit} data-testid="models-add">
              {selected.size ? t('models.addN', { n: selected.size }) : t('models.add')}
            </Button>
          </div>
        </div>
      }
    >
      {initialProviderId === null && (
        <div className="field models-provider">
          <label htmlFor="md-provider">{t('models.provider')}</label>
          {providers.data && providers.data.length === 0 ? (
            <p className="muted">{t('models.noProviders')}</p>
          ) : (
            <select id="md-provider" value={providerId ?? ''} onChange={(e) => setProviderId(Number(e.target.value))} data-testid="models-provider">
              {providers.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </div>
      )}

      <div className="models-toolbar">
        <div className="search">
          <Icon name="search" size={15} />
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder={t('models.search')}
            aria-label={t('models.search')}
            data-testid="models-search"
          />
        </div>
        <Button icon="refresh" loading={fetchModels.isPending} disabled={providerId === null} onClick={() => providerId !== null && fetchModels.mutate(providerId)} data-testid="models-refetch">
          {t('models.refetch')}
        </Button>
      </div>

      {fetchModels.isError && (
        <div className="inline-error" role="alert" data-testid="models-fetch-error">
          <Icon name="alert" size={15} />
          <div>
            <strong>{t('models.fetchFailed')}</strong>
            <FetchErrorDetail error={fetchModels.error} />
            {base.length > 0 && <div className="small muted">{t('models.showingStored')}</div>}
          </div>
        </div>
      )}

      {added && (
        <div className="inline-ok" role="status" data-testid="models-added">
          <Icon name="check" size={15} />
          <span>
            {t('models.addedInline', { n: added.n, pool: t(POOL_LABEL[added.pool]) })}{' '}
            <a href="#/pools" onClick={onClose}>
              {t('models.viewPools')}
            </a>
          </span>
        </div>
      )}

      <div className="model-list" data-testid="models-list">
        <label className="model-row model-row-head">
          <input ref={selectAllRef} type="checkbox" checked={allVisibleSelected} onChange={toggleAllVisible} disabled={!visible.length} data-testid="models-select-all" />
          <span>{q ? t('models.selectAllVisible', { n: visible.length }) : t('models.selectAll', { n: visible.length })}</span>
          <span className="spacer" />
          <span className="muted small">
            {fetchModels.isPending && base.length > 0 && (
              <>
                <Spinner size={11} /> {t('models.refreshing')} ·{' '}
              </>
            )}
            {t('models.selectedCount', { n: selected.size })}
          </span>
        </label>
        <div className="model-scroll">
          {loadingList ? (
            <div className="model-loading">
              <Spinner /> {t('models.fetching')}
            </div>
          ) : stored.isError && !fetched && !fetchModels.isError ? (
            <ErrorState error={stored.error} compact />
          ) : visible.length === 0 ? (
            <div className="model-loading muted">{q ? t('models.noMatch') : t('models.empty')}</div>
          ) : (
            visible.map((m) => {
              const inPools = membership.get(m) ?? [];
              return (
                <label key={m} className={`model-row${selected.has(m) ? ' selected' : ''}`} data-testid="model-row" data-model={m}>
                  <input type="checkbox" checked={selected.has(m)} onChange={() => toggle(m)} data-testid={`model-check-${m}`} />
                  <span className="mono model-name">{m}</span>
                  <span className="spacer" />
                  {inPools.map((p) => (
                    <Badge key={p} tone={p === pool ? 'violet' : 'neutral'} title={t('models.alreadyIn', { pool: t(POOL_LABEL[p]) })}>
                      {t(POOL_LABEL[p])}
                    </Badge>
                  ))}
                </label>
              );
            })
          )}
        </div>
      </div>

      <form
        className="manual-add"
        onSubmit={(e) => {
          e.preventDefault();
          addManual();
        }}
      >
        <input value={manual} onChange={(e) => setManual(e.target.value)} placeholder={t('models.manualPlaceholder')} aria-label={t('models.manual')} className="mono" data-testid="models-manual" spellCheck={false} autoCapitalize="off" />
        <Button type="submit" icon="plus" disabled={!manual.trim()} data-testid="models-manual-add">
          {t('models.manualAdd')}
        </Button>
      </form>
    </Dialog>
  );
}

/** Why the model list could not be fetched, in the UI's language, the gateway's own words one click away. */
function FetchErrorDetail({ error }: { error: unknown }) {
  const { t } = useI18n();
  const d = describeError(error, t);
  return (
    <>
      <div className="small break" data-testid="models-fetch-error-detail">
        {d.detail}
      </div>
      {d.raw && <RawDetail raw={d.raw} testId="models-fetch-error-raw" />}
    </>
  );
}

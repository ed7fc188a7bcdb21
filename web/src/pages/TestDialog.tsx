import { useId, useMemo, useState, type FormEvent } from 'react';
import { usePools, useStoredModels, useTestProvider } from '../api/hooks';
import type { Provider } from '../api/types';
import { useI18n } from '../i18n';
import { fmtMs } from '../lib/format';
import { Badge, Button, Dialog, ErrorState } from '../components/ui';
import { Icon } from '../components/Icon';
import { ExplainedError } from '../errors/ExplainedError';

/** Sends one small request to a provider with a chosen model and shows what came back. */
export function TestDialog({ provider, onClose }: { provider: Provider; onClose(): void }) {
  const { t } = useI18n();
  const stored = useStoredModels(provider.id);
  const pools = usePools();
  const test = useTestProvider();
  const listId = useId();

  const suggestions = useMemo(() => {
    const s = new Set<string>();
    for (const p of pools.data ?? []) for (const m of p.members) if (m.providerId === provider.id) s.add(m.model);
    for (const m of stored.data ?? []) s.add(m);
    return [...s];
  }, [pools.data, stored.data, provider.id]);

  const [model, setModel] = useState('');
  const effective = model.trim() || suggestions[0] || '';

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!effective) return;
    test.mutate({ id: provider.id, model: effective });
  }

  const r = test.data;
  return (
    <Dialog open onClose={onClose} title={t('test.title', { name: provider.name })} description={t('test.desc')} testId="test-dialog">
      <form className="test-form" onSubmit={submit}>
        <div className="field grow">
          <label htmlFor="test-model">{t('test.model')}</label>
          <input
            id="test-model"
            list={listId}
            value={model}
            onChange={(e) => setModel(e.target.value)}
            placeholder={suggestions[0] ?? t('test.modelPlaceholder')}
            className="mono"
            autoFocus
            spellCheck={false}
            autoCapitalize="off"
            data-testid="test-model"
          />
          <datalist id={listId}>
            {suggestions.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </div>
        <Button type="submit" variant="primary" icon="play" loading={test.isPending} disabled={!effective} data-testid="test-send">
          {t('test.send')}
        </Button>
      </form>
      {!effective && <p className="field-hint">{t('test.noModel')}</p>}

      {test.isError && <ErrorState error={test.error} testId="test-error" />}
      {r && (
        <div className={`test-result ${r.ok ? 'ok' : 'err'}`} data-testid="test-result">
          <div className="test-result-head">
            <Badge tone={r.ok ? 'green' : 'red'} dot testId="test-result-badge">
              {r.ok ? t('test.ok') : t('test.failed')}
            </Badge>
            <span className="kv">
              <span className="muted">{t('test.status')}</span> <strong className="mono">{r.status || '–'}</strong>
            </span>
            <span className="kv">
              <Icon name="clock" size={13} /> <strong className="mono">{fmtMs(r.latencyMs)}</strong>
            </span>
            <span className="kv muted mono small">{test.variables?.model}</span>
          </div>
          {r.ok ? (
            <div>
              <div className="small muted">{t('test.answer')}</div>
              <pre className="answer" data-testid="test-answer">{r.answer || t('test.emptyAnswer')}</pre>
            </div>
          ) : (
            <div>
              <div className="small muted">{t('test.upstreamError')}</div>
              <div className="answer err">
                {r.error ? <ExplainedError raw={r.error} status={r.status} className="block" testId="test-upstream-error" /> : '–'}
              </div>
            </div>
          )}
        </div>
      )}
    </Dialog>
  );
}

// The Settings page's "Configuration as data" card: export the whole setup as YAML or JSON (provider
// keys only when asked), and import a file: a dry run shows what would change, then Apply applies it
// (GET / POST /admin/config).
import { useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, ApiError, RawBody } from '../api/client';
import type { ConfigApplyResult, ConfigChange, ConfigDocument } from '../api/types';
import { useI18n } from '../i18n';
import { localizedFieldError } from '../errors/ExplainedError';
import { Badge, Button, Card, CopyButton, Dialog, Segmented, Switch, describeError, type Tone } from './ui';
import { Icon } from './Icon';
import { useToast } from './Toast';

type ExportFormat = 'yaml' | 'json';

/** A file chosen for import: its text and how to send it. */
interface Picked {
  name: string;
  body: RawBody;
}

const ACTION_TONE: Record<ConfigChange['action'], Tone> = { create: 'green', update: 'blue', delete: 'red' };

/** Saves `text` as a file the browser downloads. */
function download(text: string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** JSON when the file says so (its name, or a first character of `{`), else YAML. */
function bodyOf(name: string, text: string): RawBody {
  const json = /\.json$/i.test(name) || /^\s*\{/.test(text);
  return new RawBody(text, json ? 'application/json' : 'application/yaml');
}

export function ConfigTransfer() {
  const { t } = useI18n();
  const toast = useToast();
  const qc = useQueryClient();
  const [format, setFormat] = useState<ExportFormat>('yaml');
  const [secrets, setSecrets] = useState(false);
  const [exporting, setExporting] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);

  const [picked, setPicked] = useState<Picked | null>(null);
  const [prune, setPrune] = useState(false);
  const [plan, setPlan] = useState<ConfigApplyResult | null>(null);
  const [applied, setApplied] = useState<ConfigApplyResult | null>(null);
  const [problem, setProblem] = useState<{ text: string; field?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function exportNow() {
    setExporting(true);
    try {
      const q = `?format=${format}${secrets ? '&secrets=true' : ''}`;
      const stamp = new Date().toISOString().slice(0, 10);
      if (format === 'yaml') {
        const text = await api<string>('GET', `/admin/config${q}`);
        download(text, `api-pool-gateway-${stamp}.yaml`, 'application/yaml');
      } else {
        const doc = await api<ConfigDocument>('GET', `/admin/config${q}`);
        download(`${JSON.stringify(doc, null, 2)}\n`, `api-pool-gateway-${stamp}.json`, 'application/json');
      }
      toast.ok(t('config.exported'));
    } catch (err) {
      const d = describeError(err, t);
      toast.error(d.detail ?? d.title);
    } finally {
      setExporting(false);
    }
  }

  /** Asks the gateway what the file would change (`dryRun`), or applies it. */
  async function send(p: Picked, withPrune: boolean, dryRun: boolean): Promise<ConfigApplyResult | null> {
    setBusy(true);
    setProblem(null);
    try {
      const q = `?${dryRun ? 'dryRun=true&' : ''}prune=${withPrune}`;
      return await api<ConfigApplyResult>('POST', `/admin/config${q}`, p.body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) setProblem({ text: localizedFieldError(err, t), field: err.field });
      else {
        const d = describeError(err, t);
        setProblem({ text: d.detail ?? d.title });
      }
      return null;
    } finally {
      setBusy(false);
    }
  }

  async function onFile(file: File | undefined) {
    if (!file) return;
    const p: Picked = { name: file.name, body: bodyOf(file.name, await file.text()) };
    setPicked(p);
    setPlan(null);
    setApplied(null);
    setPrune(false);
    setPlan(await send(p, false, true));
  }

  async function togglePrune(v: boolean) {
    setPrune(v);
    if (picked) setPlan(await send(picked, v, true));
  }

  async function applyNow() {
    if (!picked) return;
    const r = await send(picked, prune, false);
    if (!r) return;
    setApplied(r);
    void qc.invalidateQueries();
    toast.ok(t('config.applied', { n: r.changes.length }));
    if (r.createdKeys.length === 0) close();
  }

  function close() {
    setPicked(null);
    setPlan(null);
    setApplied(null);
    setProblem(null);
    if (fileRef.current) fileRef.current.value = '';
  }

  const changes = plan?.changes ?? [];
  return (
    <Card title={t('config.title')} testId="settings-config">
      <p className="muted small card-intro">{t('config.desc')}</p>
      <div className="config-row">
        <Segmented<ExportFormat>
          value={format}
          onChange={setFormat}
          label={t('config.format')}
          size="sm"
          testId="config-format"
          options={[
            { value: 'yaml', label: 'YAML', testId: 'config-format-yaml' },
            { value: 'json', label: 'JSON', testId: 'config-format-json' },
          ]}
        />
        <label className="config-secrets">
          <Switch checked={secrets} onChange={setSecrets} label={t('config.withKeys')} size="sm" testId="config-secrets" />
          <span className="small">{t('config.withKeys')}</span>
        </label>
      </div>
      {secrets && (
        <div className="callout callout-warn" data-testid="config-secrets-warning">
          <Icon name="alert" size={16} />
          <span>{t('config.withKeysWarn')}</span>
        </div>
      )}
      <div className="form-actions">
        <Button icon="download" onClick={exportNow} loading={exporting} data-testid="config-export">
          {t('config.export')}
        </Button>
        <Button icon="layers" variant="primary" onClick={() => fileRef.current?.click()} data-testid="config-import">
          {t('config.import')}
        </Button>
        <input ref={fileRef} type="file" accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml" hidden onChange={(e) => void onFile(e.target.files?.[0])} data-testid="config-file" />
      </div>

      <Dialog
        open={picked !== null}
        onClose={close}
        wide
        title={applied ? t('config.appliedTitle') : t('config.previewTitle', { file: picked?.name ?? '' })}
        description={applied ? undefined : t('config.previewDesc')}
        testId="config-dialog"
        footer={
          applied ? (
            <Button variant="primary" onClick={close} data-testid="config-done">
              {t('common.done')}
            </Button>
          ) : (
            <>
              <Button onClick={close}>{t('common.cancel')}</Button>
              <Button variant="primary" onClick={applyNow} loading={busy} disabled={!plan || changes.length === 0} data-testid="config-apply">
                {t('config.apply', { n: changes.length })}
              </Button>
            </>
          )
        }
      >
        {applied ? (
          <div className="stack" data-testid="config-created-keys">
            <div className="callout callout-warn">
              <Icon name="key" size={16} />
              <span>{t('config.createdKeys')}</span>
            </div>
            {applied.createdKeys.map((k) => (
              <div key={k.name} className="config-key">
                <span className="config-key-name">{k.name}</span>
                <code className="mono break">{k.key}</code>
                <CopyButton text={k.key} size="sm" />
              </div>
            ))}
          </div>
        ) : (
          <div className="stack">
            <div className="switch-row">
              <div>
                <div className="switch-label">{t('config.prune')}</div>
                <div className="field-hint">{t('config.pruneHint')}</div>
              </div>
              <Switch checked={prune} onChange={(v) => void togglePrune(v)} label={t('config.prune')} testId="config-prune" disabled={busy} />
            </div>
            {problem && (
              <div className="inline-error" role="alert" data-testid="config-error">
                {problem.field && <code className="mono">{problem.field}</code>} {problem.text}
              </div>
            )}
            {plan && changes.length === 0 && (
              <p className="muted" data-testid="config-no-changes">
                {t('config.noChanges')}
              </p>
            )}
            {changes.length > 0 && (
              <ul className="config-changes" data-testid="config-changes">
                {changes.map((c, i) => (
                  <li key={i} data-testid="config-change">
                    <Badge tone={ACTION_TONE[c.action]}>{t(`config.action.${c.action}`)}</Badge>
                    <span className="muted">{t(`config.kind.${c.kind}`)}</span>
                    <span className="mono">{c.name}</span>
                    {c.fields && <span className="muted small">{c.fields.join(', ')}</span>}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </Dialog>
    </Card>
  );
}

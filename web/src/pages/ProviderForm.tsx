import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { localizedError, localizedFieldError } from '../errors/ExplainedError';
import { useSaveProvider } from '../api/hooks';
import type { Format, Provider, ProviderInput } from '../api/types';
import { useI18n } from '../i18n';
import { isHttpUrl, upstreamPreview } from '../lib/pools';
import { Button, Dialog, Field, Segmented, Switch } from '../components/ui';
import { Icon } from '../components/Icon';

interface FormState {
  name: string;
  format: Format;
  baseUrl: string;
  /** One key per line (several keys: requests take them in turn). */
  apiKey: string;
  enabled: boolean;
  cooldownSeconds: string;
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  maxTokensCap: string;
  streamOptions: boolean;
  stripUnsupported: boolean;
  reasoning: boolean;
  /** OpenAI format: send earlier thinking back as reasoning_content. */
  reasoningContent: boolean;
  /** Anthropic format: how reasoning_effort becomes thinking; '' = by model. */
  thinkingStyle: '' | 'adaptive' | 'budget';
}

type Errors = Partial<Record<keyof FormState | 'form', string>>;

const ADVANCED: (keyof FormState)[] = ['cooldownSeconds', 'maxTokensField', 'maxTokensCap', 'streamOptions', 'stripUnsupported', 'reasoning', 'reasoningContent', 'thinkingStyle'];

function fromProvider(p: Provider | null): FormState {
  const o = p?.options ?? {};
  return {
    name: p?.name ?? '',
    format: p?.format ?? 'openai',
    baseUrl: p?.baseUrl ?? '',
    apiKey: '',
    enabled: p?.enabled ?? true,
    cooldownSeconds: p && p.cooldownIsDefault === false ? String(p.cooldownSeconds) : '',
    maxTokensField: o.maxTokensField ?? 'max_tokens',
    maxTokensCap: o.maxTokensCap ? String(o.maxTokensCap) : '',
    streamOptions: o.streamOptions ?? true,
    stripUnsupported: o.stripUnsupported ?? false,
    reasoning: o.reasoning ?? true,
    reasoningContent: o.reasoningContent ?? false,
    thinkingStyle: o.thinkingStyle ?? '',
  };
}

/** The keys typed, one per line: trimmed, blank lines and repeats left out. */
export function keyLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const k = line.trim();
    if (k !== '' && !out.includes(k)) out.push(k);
  }
  return out;
}

/** Keys one provider may hold (the gateway's limit). */
const MAX_KEYS = 100;

/** Maps the API's error field ("options.maxTokensCap", "apiKeys.1") to a form field. */
function fieldOf(apiField: string | undefined): keyof FormState | 'form' {
  if (!apiField) return 'form';
  if (/^apiKeys\b/.test(apiField)) return 'apiKey';
  const f = apiField.replace(/^options\./, '');
  const known: (keyof FormState)[] = ['name', 'format', 'baseUrl', 'apiKey', 'enabled', 'cooldownSeconds', 'maxTokensField', 'maxTokensCap', 'streamOptions', 'stripUnsupported', 'reasoning', 'reasoningContent', 'thinkingStyle'];
  return (known as string[]).includes(f) ? (f as keyof FormState) : 'form';
}

export function ProviderFormDialog({
  open,
  provider,
  onClose,
  onSaved,
}: {
  open: boolean;
  provider: Provider | null;
  onClose(): void;
  onSaved(p: Provider, created: boolean): void;
}) {
  const { t } = useI18n();
  const [s, setS] = useState<FormState>(() => fromProvider(provider));
  const [errors, setErrors] = useState<Errors>({});
  const [showKey, setShowKey] = useState(false);
  const advancedRef = useRef<HTMLDetailsElement>(null);
  const save = useSaveProvider();
  const editing = provider !== null;

  useEffect(() => {
    if (open) {
      setS(fromProvider(provider));
      setErrors({});
      setShowKey(false);
      save.reset();
    }
  }, [open, provider?.id]);

  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => {
    setS((x) => ({ ...x, [k]: v }));
    if (errors[k]) setErrors((e) => ({ ...e, [k]: undefined }));
  };

  function validate(): Errors {
    const e: Errors = {};
    if (!s.name.trim()) e.name = t('provider.err.name');
    else if (s.name.trim().length > 100) e.name = t('provider.err.nameLong');
    if (!s.baseUrl.trim()) e.baseUrl = t('provider.err.baseUrlRequired');
    else if (!isHttpUrl(s.baseUrl)) e.baseUrl = t('provider.err.baseUrl');
    if (s.format !== 'openai' && s.format !== 'anthropic') e.format = t('provider.err.format');
    if (keyLines(s.apiKey).length > MAX_KEYS) e.apiKey = t('provider.err.apiKeys', { n: MAX_KEYS });
    if (s.cooldownSeconds.trim() !== '') {
      const n = Number(s.cooldownSeconds);
      if (!Number.isInteger(n) || n < 0 || n > 604800) e.cooldownSeconds = t('provider.err.cooldown');
    }
    if (s.maxTokensCap.trim() !== '') {
      const n = Number(s.maxTokensCap);
      if (!Number.isInteger(n) || n < 1) e.maxTokensCap = t('provider.err.cap');
    }
    return e;
  }

  function focusFirstError(e: Errors) {
    const first = (Object.keys(e) as (keyof Errors)[]).find((k) => e[k]);
    if (!first || first === 'form') return;
    if (ADVANCED.includes(first as keyof FormState) && advancedRef.current) advancedRef.current.open = true;
    setTimeout(() => document.getElementById(`pf-${first}`)?.focus(), 0);
  }

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    const e = validate();
    setErrors(e);
    if (Object.values(e).some(Boolean)) {
      focusFirstError(e);
      return;
    }
    const input: ProviderInput = {
      name: s.name.trim(),
      format: s.format,
      baseUrl: s.baseUrl.trim(),
      enabled: s.enabled,
      cooldownSeconds: s.cooldownSeconds.trim() === '' ? null : Number(s.cooldownSeconds),
      options: {
        maxTokensField: s.maxTokensField,
        maxTokensCap: s.maxTokensCap.trim() === '' ? null : Number(s.maxTokensCap),
        streamOptions: s.streamOptions,
        stripUnsupported: s.stripUnsupported,
        reasoning: s.reasoning,
        reasoningContent: s.reasoningContent,
        // null: back to the default (by model)
        thinkingStyle: s.thinkingStyle === '' ? null : s.thinkingStyle,
      },
    };
    // One key per line: several go as apiKeys, one as apiKey. Editing: an empty field keeps the stored keys.
    const keys = keyLines(s.apiKey);
    if (keys.length > 1) input.apiKeys = keys;
    else if (!editing || keys.length === 1) input.apiKey = keys[0] ?? '';
    try {
      const p = await save.mutateAsync({ id: provider?.id ?? null, input });
      onSaved(p, !editing);
    } catch (err) {
      // 400: a bad field; 409: the name is another provider's.
      if (err instanceof ApiError && (err.status === 400 || err.status === 409)) {
        const f = fieldOf(err.field);
        const next = { [f]: f === 'form' ? localizedError(err.message, t) : localizedFieldError(err, t) } as Errors;
        setErrors(next);
        focusFirstError(next);
      } else {
        setErrors({ form: err instanceof ApiError && err.status === 0 ? t('error.network') : err instanceof Error ? localizedError(err.message, t) : String(err) });
      }
    }
  }

  const preview = upstreamPreview(s.baseUrl, s.format);
  const err = (k: keyof FormState) => errors[k] ?? null;

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={editing ? t('provider.editTitle', { name: provider!.name }) : t('provider.addTitle')}
      description={editing ? undefined : t('provider.addDesc')}
      testId="provider-form"
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="provider-form" loading={save.isPending} data-testid="provider-save">
            {editing ? t('common.save') : t('provider.add')}
          </Button>
        </>
      }
    >
      <form id="provider-form" className="form" onSubmit={submit} noValidate>
        {errors.form && (
          <div className="inline-error" role="alert" data-testid="provider-form-error">
            <Icon name="alert" size={15} />
            {errors.form}
          </div>
        )}
        <Field label={t('provider.name')} htmlFor="pf-name" error={err('name')} testId="pf-name-field">
          <input id="pf-name" value={s.name} onChange={(e) => set('name', e.target.value)} placeholder={t('provider.namePlaceholder')} autoFocus data-testid="pf-name" aria-invalid={!!err('name')} maxLength={100} />
        </Field>
        <Field label={t('provider.format')} error={err('format')} testId="pf-format-field" hint={t('provider.formatHint')}>
          <Segmented<Format>
            label={t('provider.format')}
            value={s.format}
            onChange={(v) => set('format', v)}
            testId="pf-format"
            options={[
              { value: 'openai', label: 'OpenAI', testId: 'pf-format-openai' },
              { value: 'anthropic', label: 'Anthropic', testId: 'pf-format-anthropic' },
            ]}
          />
        </Field>
        <Field
          label={t('provider.baseUrl')}
          htmlFor="pf-baseUrl"
          error={err('baseUrl')}
          testId="pf-baseUrl-field"
          hint={preview ? <>{t('provider.baseUrlPreview')} <code className="break">{preview}</code></> : t('provider.baseUrlHint')}
        >
          <input
            id="pf-baseUrl"
            value={s.baseUrl}
            onChange={(e) => set('baseUrl', e.target.value)}
            placeholder="https://api.example.com/v1"
            inputMode="url"
            spellCheck={false}
            autoCapitalize="off"
            className="mono"
            data-testid="pf-baseUrl"
            aria-invalid={!!err('baseUrl')}
          />
        </Field>
        <Field
          label={t('provider.apiKey')}
          htmlFor="pf-apiKey"
          error={err('apiKey')}
          testId="pf-apiKey-field"
          hint={
            editing
              ? t('provider.apiKeyKeep', { masked: (provider!.apiKeysMasked ?? [provider!.apiKeyMasked]).filter(Boolean).join(', ') || t('provider.noKey') })
              : t('provider.apiKeyHint')
          }
        >
          <div className="input-group keys-group">
            {/* one key per line; hidden like a password field until shown */}
            <textarea
              id="pf-apiKey"
              value={s.apiKey}
              onChange={(e) => set('apiKey', e.target.value)}
              placeholder={editing ? t('provider.apiKeyKeepPlaceholder') : 'sk-…'}
              rows={Math.min(6, Math.max(1, s.apiKey.split('\n').length))}
              autoComplete="off"
              autoCorrect="off"
              autoCapitalize="off"
              spellCheck={false}
              className={`mono keys-input${showKey ? '' : ' concealed'}`}
              data-testid="pf-apiKey"
              aria-invalid={!!err('apiKey')}
            />
            <button type="button" className="input-addon" onClick={() => setShowKey((x) => !x)} aria-label={showKey ? t('common.hide') : t('common.show')} title={showKey ? t('common.hide') : t('common.show')}>
              <Icon name={showKey ? 'eyeOff' : 'eye'} size={15} />
            </button>
          </div>
        </Field>
        {keyLines(s.apiKey).length > 1 && (
          <p className="field-hint keys-count" data-testid="pf-apiKey-count">
            {t('provider.keysCount', { n: keyLines(s.apiKey).length })}
          </p>
        )}
        <div className="switch-row">
          <div>
            <div className="switch-label">{t('provider.enabled')}</div>
            <div className="field-hint">{t('provider.enabledHint')}</div>
          </div>
          <Switch checked={s.enabled} onChange={(v) => set('enabled', v)} label={t('provider.enabled')} testId="pf-enabled" />
        </div>

        <details className="advanced" ref={advancedRef} data-testid="pf-advanced">
          <summary>
            <Icon name="chevronRight" size={14} className="chev" />
            {t('provider.advanced')}
            <span className="muted"> · {t('provider.advancedHint')}</span>
          </summary>
          <div className="advanced-body">
            <div className="grid-2">
              <Field label={t('provider.cooldown')} htmlFor="pf-cooldownSeconds" error={err('cooldownSeconds')} hint={t('provider.cooldownHint')} testId="pf-cooldown-field" optional>
                <div className="input-group">
                  <input
                    id="pf-cooldownSeconds"
                    inputMode="numeric"
                    value={s.cooldownSeconds}
                    onChange={(e) => set('cooldownSeconds', e.target.value.replace(/[^\d]/g, ''))}
                    placeholder={provider?.cooldownIsDefault ? String(provider.cooldownSeconds) : t('common.default')}
                    data-testid="pf-cooldownSeconds"
                    aria-invalid={!!err('cooldownSeconds')}
                  />
                  <span className="input-suffix">{t('common.seconds')}</span>
                </div>
              </Field>
              <Field label={t('provider.maxTokensCap')} htmlFor="pf-maxTokensCap" error={err('maxTokensCap')} hint={t('provider.maxTokensCapHint')} testId="pf-cap-field" optional>
                <input
                  id="pf-maxTokensCap"
                  inputMode="numeric"
                  value={s.maxTokensCap}
                  onChange={(e) => set('maxTokensCap', e.target.value.replace(/[^\d]/g, ''))}
                  placeholder={t('provider.noCap')}
                  data-testid="pf-maxTokensCap"
                  aria-invalid={!!err('maxTokensCap')}
                />
              </Field>
            </div>
            <Field label={t('provider.maxTokensField')} htmlFor="pf-maxTokensField" error={err('maxTokensField')} hint={t('provider.maxTokensFieldHint')}>
              <select id="pf-maxTokensField" value={s.maxTokensField} onChange={(e) => set('maxTokensField', e.target.value as FormState['maxTokensField'])} data-testid="pf-maxTokensField" className="mono">
                <option value="max_tokens">max_tokens</option>
                <option value="max_completion_tokens">max_completion_tokens</option>
              </select>
            </Field>
            <div className="switch-list">
              <SwitchRow label={t('provider.streamOptions')} hint={t('provider.streamOptionsHint')} checked={s.streamOptions} onChange={(v) => set('streamOptions', v)} testId="pf-streamOptions" error={err('streamOptions')} />
              <SwitchRow label={t('provider.stripUnsupported')} hint={t('provider.stripUnsupportedHint')} checked={s.stripUnsupported} onChange={(v) => set('stripUnsupported', v)} testId="pf-stripUnsupported" error={err('stripUnsupported')} />
              <SwitchRow label={t('provider.reasoning')} hint={t('provider.reasoningHint')} checked={s.reasoning} onChange={(v) => set('reasoning', v)} testId="pf-reasoning" error={err('reasoning')} />
              {s.format === 'openai' && (
                <SwitchRow label={t('provider.reasoningContent')} hint={t('provider.reasoningContentHint')} checked={s.reasoningContent} onChange={(v) => set('reasoningContent', v)} testId="pf-reasoningContent" error={err('reasoningContent')} />
              )}
            </div>
            {s.format === 'anthropic' && (
              <Field label={t('provider.thinkingStyle')} htmlFor="pf-thinkingStyle" error={err('thinkingStyle')} hint={t('provider.thinkingStyleHint')}>
                <select id="pf-thinkingStyle" value={s.thinkingStyle} onChange={(e) => set('thinkingStyle', e.target.value as FormState['thinkingStyle'])} data-testid="pf-thinkingStyle">
                  <option value="">{t('provider.thinkingStyleAuto')}</option>
                  <option value="adaptive">{t('provider.thinkingStyleAdaptive')}</option>
                  <option value="budget">{t('provider.thinkingStyleBudget')}</option>
                </select>
              </Field>
            )}
          </div>
        </details>
      </form>
    </Dialog>
  );
}

function SwitchRow({ label, hint, checked, onChange, testId, error }: { label: string; hint: string; checked: boolean; onChange(v: boolean): void; testId: string; error: string | null }) {
  return (
    <div className="switch-row">
      <div>
        <div className="switch-label">{label}</div>
        {error ? <p className="field-error">{error}</p> : <div className="field-hint">{hint}</div>}
      </div>
      <Switch checked={checked} onChange={onChange} label={label} testId={testId} />
    </div>
  );
}

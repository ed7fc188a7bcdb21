import { useState } from 'react';
import { useAccessKeys, usePools, useStatus } from '../api/hooks';
import { POOLS } from '../api/types';
import { useI18n } from '../i18n';
import { claudeSettingsJson, claudeShell, shellQuote } from '../lib/connect';
import { keyHint } from '../lib/format';
import { DEFAULT_VIRTUAL, POOL_LABEL } from '../lib/pools';
import { Badge, Card, CopyButton, PageHeader } from '../components/ui';
import { Icon } from '../components/Icon';

/** Everything a client needs to point at this gateway, with copy buttons. */
export function ConnectPage() {
  const { t } = useI18n();
  const status = useStatus();
  const pools = usePools();
  const accessKeys = useAccessKeys();
  const origin = window.location.origin;
  const openaiBase = `${origin}/v1`;
  const virtual = (p: (typeof POOLS)[number]) => pools.data?.find((x) => x.name === p)?.virtualModel ?? status.data?.virtualModels?.[p] ?? DEFAULT_VIRTUAL[p];

  // With access keys the snippets name one of them; its secret was shown only once, so a placeholder
  // with its mask stands in for it. Without keys any token works.
  const keyList = accessKeys.data ?? [];
  const [chosenId, setChosenId] = useState<number | null>(null);
  const chosen = keyList.find((k) => k.id === chosenId) ?? keyList.find((k) => k.enabled) ?? keyList[0];
  const open = status.data?.security?.openAccess ?? (accessKeys.data !== undefined && keyList.length === 0);
  const token = chosen ? t('connect.keyPlaceholder', { mask: keyHint(chosen.keyMasked) }) : 'any-value';

  const settingsJson = claudeSettingsJson(origin, token);
  const shell = claudeShell(origin, token);
  const keyHeader = chosen ? ` \\\n  -H ${shellQuote(`x-api-key: ${token}`)}` : '';
  const curl = `curl ${origin}/v1/messages \\\n  -H 'content-type: application/json' \\\n  -H 'anthropic-version: 2023-06-01'${keyHeader} \\\n  -d '{"model":"${virtual('normal')}","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'`;
  const openaiSnippet = `from openai import OpenAI\n\nclient = OpenAI(base_url="${openaiBase}", api_key=${JSON.stringify(token)})\nr = client.chat.completions.create(\n    model="${virtual('normal')}",\n    messages=[{"role": "user", "content": "hi"}],\n)`;

  return (
    <div data-testid="connect-page">
      <PageHeader title={t('connect.title')} description={t('connect.desc')} />
      <div className="connect-grid">
        <Card title={t('connect.claudeTitle')} className="span-2" testId="connect-claude">
          <p className="muted">
            {t('connect.claudeBody1')} <code>~/.claude/settings.json</code> {t('connect.claudeBody2')}
          </p>
          {chosen ? (
            <div className="connect-key">
              <label htmlFor="c-key" className="small">
                {t('connect.keyChoose')}
              </label>
              <select id="c-key" value={chosen.id} onChange={(e) => setChosenId(Number(e.target.value))} data-testid="connect-key-select">
                {keyList.map((k) => (
                  <option key={k.id} value={k.id}>
                    {k.name} · {keyHint(k.keyMasked)}
                    {k.enabled ? '' : ` (${t('state.disabled')})`}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            open && (
              <div className="callout callout-warn" data-testid="connect-open-access">
                <Icon name="alert" size={16} />
                <span>
                  {t('connect.openAccess')} <a href="#/keys">{t('connect.openAccessLink')}</a>
                </span>
              </div>
            )
          )}
          <div className="snippet">
            <div className="snippet-head">
              <span className="mono small muted">~/.claude/settings.json</span>
              <CopyButton size="sm" text={settingsJson} testId="copy-settings-json" />
            </div>
            <pre className="code" data-testid="settings-json">
              {settingsJson}
            </pre>
          </div>
          {chosen ? (
            <p className="muted small" data-testid="connect-key-note">
              {t('connect.keyNote', { placeholder: token, name: chosen.name })} {t('connect.keyEnvNote')}
            </p>
          ) : (
            <p className="muted small">{open ? t('connect.claudeNote') : t('connect.claudeNoteModels')}</p>
          )}
          <details className="more">
            <summary>{t('connect.shellTitle')}</summary>
            <div className="snippet">
              <div className="snippet-head">
                <span className="mono small muted">bash / zsh</span>
                <CopyButton size="sm" text={shell} />
              </div>
              <pre className="code">{shell}</pre>
            </div>
          </details>
        </Card>

        <Card title={t('connect.modelsTitle')} testId="connect-models">
          <p className="muted small">{t('connect.modelsBody')}</p>
          <ul className="vm-list">
            {POOLS.map((p) => (
              <li key={p}>
                <Badge tone="violet" mono>
                  {virtual(p)}
                </Badge>
                <span className="muted">→</span>
                <span>{t(POOL_LABEL[p])}</span>
              </li>
            ))}
          </ul>
          <p className="muted small">{t('connect.modelsNote')}</p>
        </Card>

        <Card title={t('connect.urlsTitle')} testId="connect-urls">
          <UrlRow label={t('connect.openaiBase')} value={openaiBase} testId="openai-base-url" />
          <UrlRow label={t('connect.anthropicBase')} value={origin} testId="anthropic-base-url" />
        </Card>

        <Card title={t('connect.openaiTitle')} testId="connect-openai">
          <div className="snippet">
            <div className="snippet-head">
              <span className="mono small muted">Python</span>
              <CopyButton size="sm" text={openaiSnippet} />
            </div>
            <pre className="code">{openaiSnippet}</pre>
          </div>
        </Card>

        <Card title={t('connect.curlTitle')} testId="connect-curl">
          <div className="snippet">
            <div className="snippet-head">
              <span className="mono small muted">curl</span>
              <CopyButton size="sm" text={curl} />
            </div>
            <pre className="code">{curl}</pre>
          </div>
        </Card>
      </div>
    </div>
  );
}

function UrlRow({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="url-row">
      <div className="url-row-text">
        <div className="small muted">{label}</div>
        <code className="mono break" data-testid={testId}>
          {value}
        </code>
      </div>
      <CopyButton size="sm" text={value} testId={`copy-${testId}`} />
    </div>
  );
}

import { usePools, useStatus } from '../api/hooks';
import { POOLS } from '../api/types';
import { useI18n } from '../i18n';
import { DEFAULT_VIRTUAL, POOL_LABEL } from '../lib/pools';
import { Badge, Card, CopyButton, PageHeader } from '../components/ui';

/** Everything a client needs to point at this gateway, with copy buttons. */
export function ConnectPage() {
  const { t } = useI18n();
  const status = useStatus();
  const pools = usePools();
  const origin = window.location.origin;
  const openaiBase = `${origin}/v1`;
  const virtual = (p: (typeof POOLS)[number]) => pools.data?.find((x) => x.name === p)?.virtualModel ?? status.data?.virtualModels?.[p] ?? DEFAULT_VIRTUAL[p];

  const settingsJson = JSON.stringify({ env: { ANTHROPIC_BASE_URL: origin, ANTHROPIC_AUTH_TOKEN: 'any-value' } }, null, 2);
  const shell = `export ANTHROPIC_BASE_URL=${origin}\nexport ANTHROPIC_AUTH_TOKEN=any-value\nclaude`;
  const curl = `curl ${origin}/v1/messages \\\n  -H 'content-type: application/json' \\\n  -H 'anthropic-version: 2023-06-01' \\\n  -d '{"model":"${virtual('normal')}","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'`;
  const openaiSnippet = `from openai import OpenAI\n\nclient = OpenAI(base_url="${openaiBase}", api_key="any-value")\nr = client.chat.completions.create(\n    model="${virtual('normal')}",\n    messages=[{"role": "user", "content": "hi"}],\n)`;

  return (
    <div data-testid="connect-page">
      <PageHeader title={t('connect.title')} description={t('connect.desc')} />
      <div className="connect-grid">
        <Card title={t('connect.claudeTitle')} className="span-2" testId="connect-claude">
          <p className="muted">
            {t('connect.claudeBody1')} <code>~/.claude/settings.json</code> {t('connect.claudeBody2')}
          </p>
          <div className="snippet">
            <div className="snippet-head">
              <span className="mono small muted">~/.claude/settings.json</span>
              <CopyButton size="sm" text={settingsJson} testId="copy-settings-json" />
            </div>
            <pre className="code" data-testid="settings-json">
              {settingsJson}
            </pre>
          </div>
          <p className="muted small">{t('connect.claudeNote')}</p>
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

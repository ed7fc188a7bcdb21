import { useState, type FormEvent } from 'react';
import { ApiError, api, setToken } from '../api/client';
import type { LoginResult } from '../api/types';
import { useI18n } from '../i18n';
import { Button, Field } from '../components/ui';
import { Icon } from '../components/Icon';
import { Preferences } from '../components/Preferences';
import { localizedError } from '../errors/ExplainedError';

export function LoginPage({ onLoggedIn }: { onLoggedIn(mustChangePassword: boolean): void }) {
  const { t } = useI18n();
  const [password, setPassword] = useState('');
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!password) {
      setError(t('login.required'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await api<LoginResult>('POST', '/admin/login', { password }, { auth: false });
      setToken(r.token, r.expiresAt, r.mustChangePassword === true);
      onLoggedIn(r.mustChangePassword === true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError(t('login.wrong'));
      else if (err instanceof ApiError && err.status === 400 && err.field === 'password') setError(t('login.required'));
      else if (err instanceof ApiError && err.status === 429) setError(t('login.throttled'));
      else if (err instanceof ApiError && err.status === 0) setError(t('error.network'));
      else setError(err instanceof Error ? localizedError(err.message, t) : String(err));
      setBusy(false);
    }
  }

  return (
    <div className="login" data-testid="login-page">
      <div className="login-prefs">
        <Preferences compact />
      </div>
      <form className="login-card" onSubmit={submit} noValidate>
        <div className="login-logo">
          <img src="/favicon.svg" width={40} height={40} alt="" />
        </div>
        <h1>API Pool Gateway</h1>
        <p className="muted">{t('login.subtitle')}</p>
        <Field label={t('login.password')} htmlFor="password" error={error} testId="login-password-field">
          <div className="input-group">
            <input
              id="password"
              type={show ? 'text' : 'password'}
              autoComplete="current-password"
              autoFocus
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              placeholder={t('login.placeholder')}
              data-testid="login-password"
              aria-invalid={!!error}
            />
            <button type="button" className="input-addon" onClick={() => setShow((s) => !s)} aria-label={show ? t('common.hide') : t('common.show')} title={show ? t('common.hide') : t('common.show')}>
              <Icon name={show ? 'eyeOff' : 'eye'} size={15} />
            </button>
          </div>
        </Field>
        <Button type="submit" variant="primary" loading={busy} className="btn-block" data-testid="login-submit">
          {t('login.submit')}
        </Button>
        <p className="login-hint muted">{t('login.hint')}</p>
      </form>
    </div>
  );
}

import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { localizedFieldError } from '../errors/ExplainedError';
import { changeAdminPassword } from '../api/hooks';
import { useI18n } from '../i18n';
import { Button, Field, describeError } from './ui';
import { Icon } from './Icon';

export const MIN_PASSWORD = 12;
const DEFAULT_PASSWORD = 'admin123';

/**
 * New admin password + confirmation → POST /admin/password. The answer is a fresh session, stored
 * by changeAdminPassword before `onChanged` runs. Used by the first-login screen and by Settings.
 */
export function PasswordForm({ onChanged, submitLabel, disabled, autoFocus, block }: { onChanged(): void; submitLabel: string; disabled?: boolean; autoFocus?: boolean; block?: boolean }) {
  const { t } = useI18n();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<{ password?: string; confirm?: string; form?: string }>({});

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs: typeof errors = {};
    if (password.length < MIN_PASSWORD) errs.password = t('password.err.short', { n: MIN_PASSWORD });
    else if (password === DEFAULT_PASSWORD) errs.password = t('password.err.default');
    if (!errs.password && confirm !== password) errs.confirm = t('password.err.mismatch');
    setErrors(errs);
    if (errs.password || errs.confirm) return;
    setBusy(true);
    try {
      await changeAdminPassword(password);
      setPassword('');
      setConfirm('');
      setBusy(false);
      onChanged();
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 400) setErrors(err.field === 'password' || !err.field ? { password: localizedFieldError(err, t) } : { form: err.message });
      else if (err instanceof ApiError && err.status === 409) setErrors({ form: t('password.err.fromEnv') });
      else if (err instanceof ApiError && err.status === 429) setErrors({ form: t('login.throttled') });
      else setErrors({ form: describeError(err, t).detail ?? describeError(err, t).title });
    }
  }

  const eye = (
    <button type="button" className="input-addon" onClick={() => setShow((s) => !s)} aria-label={show ? t('common.hide') : t('common.show')} title={show ? t('common.hide') : t('common.show')}>
      <Icon name={show ? 'eyeOff' : 'eye'} size={15} />
    </button>
  );

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="password-form">
      {errors.form && (
        <div className="inline-error" role="alert" data-testid="password-form-error">
          {errors.form}
        </div>
      )}
      <Field label={t('password.new')} htmlFor="pw-new" error={errors.password} hint={t('password.hint', { n: MIN_PASSWORD })} testId="password-new-field">
        <div className="input-group">
          <input
            id="pw-new"
            type={show ? 'text' : 'password'}
            autoComplete="new-password"
            autoFocus={autoFocus}
            value={password}
            disabled={disabled}
            onChange={(e) => {
              setPassword(e.target.value);
              setErrors({});
            }}
            aria-invalid={!!errors.password}
            data-testid="password-new"
          />
          {eye}
        </div>
      </Field>
      <Field label={t('password.confirm')} htmlFor="pw-confirm" error={errors.confirm} testId="password-confirm-field">
        <input
          id="pw-confirm"
          type={show ? 'text' : 'password'}
          autoComplete="new-password"
          value={confirm}
          disabled={disabled}
          onChange={(e) => {
            setConfirm(e.target.value);
            setErrors((x) => ({ ...x, confirm: undefined, form: undefined }));
          }}
          aria-invalid={!!errors.confirm}
          data-testid="password-confirm"
        />
      </Field>
      <div className={block ? undefined : 'form-actions'}>
        <Button type="submit" variant="primary" loading={busy} disabled={disabled} className={block ? 'btn-block' : undefined} data-testid="password-submit">
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}

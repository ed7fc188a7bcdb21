import { useI18n } from '../i18n';
import { PasswordForm } from '../components/PasswordForm';
import { Preferences } from '../components/Preferences';
import { Icon } from '../components/Icon';

/**
 * First sign-in with the default password from another machine: the session may do nothing but set
 * a new password (every other admin route answers 403 password_change_required until then).
 */
export function ChangePasswordPage({ onDone, onSignOut }: { onDone(): void; onSignOut(): void }) {
  const { t } = useI18n();
  return (
    <div className="login" data-testid="change-password-page">
      <div className="login-prefs">
        <Preferences compact />
      </div>
      <div className="login-card">
        <div className="login-logo">
          <img src="/favicon.svg" width={40} height={40} alt="" />
        </div>
        <h1>{t('password.firstTitle')}</h1>
        <div className="callout callout-warn login-callout">
          <Icon name="alert" size={16} />
          <span>{t('password.firstBody')}</span>
        </div>
        <PasswordForm onChanged={onDone} submitLabel={t('password.firstSubmit')} autoFocus block />
        <button type="button" className="link-button login-hint" onClick={onSignOut} data-testid="change-password-signout">
          {t('password.signOut')}
        </button>
      </div>
    </div>
  );
}

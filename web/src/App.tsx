import { Suspense, lazy, useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, clearToken, getToken, mustChangePassword, onPasswordChangeRequired, onUnauthorized } from './api/client';
import { useStatus } from './api/hooks';
import { useI18n, type MessageKey } from './i18n';
import { navigate, useRoute } from './lib/router';
import { Icon, type IconName } from './components/Icon';
import { Button, Skeleton } from './components/ui';
import { Preferences } from './components/Preferences';
import { LoginPage } from './pages/Login';
import { ChangePasswordPage } from './pages/ChangePassword';
import { AccessKeysPage } from './pages/AccessKeys';
import { ProvidersPage } from './pages/Providers';
import { PoolsPage } from './pages/Pools';
import { LogsPage } from './pages/Logs';
import { SettingsPage } from './pages/Settings';
import { ConnectPage } from './pages/Connect';

const DashboardPage = lazy(() => import('./pages/Dashboard'));

const NAV: { id: string; icon: IconName; label: MessageKey }[] = [
  { id: 'dashboard', icon: 'dashboard', label: 'nav.dashboard' },
  { id: 'providers', icon: 'server', label: 'nav.providers' },
  { id: 'pools', icon: 'layers', label: 'nav.pools' },
  { id: 'keys', icon: 'key', label: 'nav.keys' },
  { id: 'logs', icon: 'list', label: 'nav.logs' },
  { id: 'connect', icon: 'plug', label: 'nav.connect' },
  { id: 'settings', icon: 'settings', label: 'nav.settings' },
];

type Mode = 'login' | 'changePassword' | 'app';

export function App() {
  const [mode, setMode] = useState<Mode>(() => (getToken() === null ? 'login' : mustChangePassword() ? 'changePassword' : 'app'));
  const qc = useQueryClient();
  useEffect(() => {
    // Leaving the shell unmounts every query, so nothing keeps polling with a dead token.
    const offUnauthorized = onUnauthorized(() => {
      setMode('login');
      qc.clear();
    });
    const offMustChange = onPasswordChangeRequired(() => {
      setMode((m) => (m === 'login' ? m : 'changePassword'));
      qc.clear();
    });
    return () => {
      offUnauthorized();
      offMustChange();
    };
  }, [qc]);
  const logout = async () => {
    // End the session on the server too (best effort: an older gateway has no logout route).
    await api('POST', '/admin/logout').catch(() => undefined);
    clearToken();
    qc.clear();
    setMode('login');
  };
  if (mode === 'login') return <LoginPage onLoggedIn={(mustChange) => setMode(mustChange ? 'changePassword' : 'app')} />;
  if (mode === 'changePassword')
    return (
      <ChangePasswordPage
        onDone={() => {
          qc.clear();
          setMode('app');
        }}
        onSignOut={() => void logout()}
      />
    );
  return <Shell onLogout={logout} />;
}

function Shell({ onLogout }: { onLogout(): Promise<void> }) {
  const { t } = useI18n();
  const route = useRoute();
  const page = route.path[0] ?? 'dashboard';
  const [menuOpen, setMenuOpen] = useState(false);
  const status = useStatus();
  const security = status.data?.security;
  const defaultPassword = security?.defaultPassword ?? status.data?.defaultPassword ?? false;

  useEffect(() => setMenuOpen(false), [page]);
  useEffect(() => {
    const label = NAV.find((n) => n.id === page)?.label;
    document.title = label ? `${t(label)} · API Pool Gateway` : 'API Pool Gateway';
  }, [page, t]);
  useEffect(() => {
    if (!NAV.some((n) => n.id === page)) navigate('/dashboard', undefined, true);
  }, [page]);

  return (
    <div className={`shell${menuOpen ? ' menu-open' : ''}`}>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        {t('nav.skip')}
      </a>
      <header className="topbar">
        <Brand />
        <Button variant="ghost" icon={menuOpen ? 'x' : 'menu'} aria-label={t('nav.menu')} aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)} data-testid="menu-toggle" />
      </header>
      <aside className="sidebar" data-testid="sidebar">
        <div className="sidebar-brand">
          <Brand />
        </div>
        <nav aria-label={t('nav.main')}>
          <ul>
            {NAV.map((n) => (
              <li key={n.id}>
                <a href={`#/${n.id}`} className={page === n.id ? 'active' : ''} aria-current={page === n.id ? 'page' : undefined} data-testid={`nav-${n.id}`}>
                  <Icon name={n.icon} size={16} />
                  <span>{t(n.label)}</span>
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-footer">
          <Preferences />
          <button type="button" className="nav-button" onClick={() => void onLogout()} data-testid="logout">
            <Icon name="logout" size={16} />
            <span>{t('nav.logout')}</span>
          </button>
          {status.data?.version && <div className="version">v{status.data.version}</div>}
        </div>
      </aside>
      {menuOpen && <div className="scrim" onClick={() => setMenuOpen(false)} />}
      <main id="main" tabIndex={-1} className="main">
        {security?.exposed && security.openAccess && (
          <div className="banner banner-danger" role="alert" data-testid="open-access-banner">
            <Icon name="alert" size={16} />
            <span>{t('banner.openAccess')}</span>
            {page !== 'keys' && (
              <a className="btn btn-sm btn-secondary" href="#/keys" data-testid="open-access-banner-action">
                <Icon name="key" size={14} />
                {t('banner.openAccessAction')}
              </a>
            )}
          </div>
        )}
        {defaultPassword && (
          <div className="banner banner-warn" role="alert" data-testid="default-password-banner">
            <Icon name="alert" size={16} />
            <span>{security && !security.passwordFromEnv ? t('banner.defaultPasswordChange') : t('banner.defaultPassword')}</span>
            {security && !security.passwordFromEnv && page !== 'settings' && (
              <a className="btn btn-sm btn-secondary" href="#/settings" data-testid="default-password-banner-action">
                {t('banner.defaultPasswordAction')}
              </a>
            )}
          </div>
        )}
        <div className="page" key={page}>
          {page === 'dashboard' && (
            <Suspense fallback={<Skeleton rows={4} height={80} />}>
              <DashboardPage />
            </Suspense>
          )}
          {page === 'providers' && <ProvidersPage />}
          {page === 'pools' && <PoolsPage />}
          {page === 'keys' && <AccessKeysPage />}
          {page === 'logs' && <LogsPage />}
          {page === 'connect' && <ConnectPage />}
          {page === 'settings' && <SettingsPage />}
        </div>
      </main>
    </div>
  );
}

export function Brand() {
  return (
    <a className="brand" href="#/dashboard" aria-label="API Pool Gateway">
      <img src="/favicon.svg" width={22} height={22} alt="" />
      <span>API Pool Gateway</span>
    </a>
  );
}

import { useI18n, type Lang } from '../i18n';
import { useTheme, type ThemePref } from '../lib/theme';
import { Icon } from './Icon';
import { Segmented } from './ui';

/** Language and theme switches (remembered in localStorage). */
export function Preferences({ compact }: { compact?: boolean }) {
  const { t, lang, setLang } = useI18n();
  const { pref, setPref } = useTheme();
  return (
    <div className={`prefs${compact ? ' prefs-compact' : ''}`}>
      <Segmented<Lang>
        size="sm"
        label={t('prefs.language')}
        value={lang}
        onChange={setLang}
        testId="lang-switch"
        options={[
          { value: 'zh-CN', label: '中文', title: '简体中文', testId: 'lang-zh' },
          { value: 'en', label: 'EN', title: 'English', testId: 'lang-en' },
        ]}
      />
      <Segmented<ThemePref>
        size="sm"
        label={t('prefs.theme')}
        value={pref}
        onChange={setPref}
        testId="theme-switch"
        options={[
          { value: 'light', label: <Icon name="sun" size={14} />, title: t('prefs.light'), testId: 'theme-light' },
          { value: 'dark', label: <Icon name="moon" size={14} />, title: t('prefs.dark'), testId: 'theme-dark' },
          { value: 'system', label: <Icon name="monitor" size={14} />, title: t('prefs.system'), testId: 'theme-system' },
        ]}
      />
    </div>
  );
}

import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { Icon } from './Icon';
import { useI18n } from '../i18n';
import { describeError } from './ui';

interface ToastItem {
  id: number;
  tone: 'ok' | 'err' | 'info';
  message: string;
  /** The raw server text behind an explained error, one click away. */
  raw?: string;
}

interface ToastApi {
  ok(message: string): void;
  /** `raw`: the server's own text, when `message` explains it. */
  error(message: string, raw?: string): void;
  /** An error as describeError puts it: its explanation, with the raw text one click away. */
  fail(error: unknown): void;
  info(message: string): void;
}

const Ctx = createContext<ToastApi | null>(null);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ToastItem[]>([]);
  const next = useRef(1);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const { t } = useI18n();
  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setItems((xs) => xs.filter((x) => x.id !== id));
  }, []);
  const push = useCallback(
    (tone: ToastItem['tone'], message: string, raw?: string) => {
      const id = next.current++;
      setItems((xs) => [...xs.slice(-3), { id, tone, message, raw }]);
      timers.current.set(id, setTimeout(() => dismiss(id), tone === 'err' ? 7000 : 3500));
    },
    [dismiss],
  );
  // A toast whose raw detail was opened stays until it is closed.
  const hold = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
  }, []);
  const api = useMemo<ToastApi>(
    () => ({
      ok: (m) => push('ok', m),
      error: (m, raw) => push('err', m, raw),
      fail: (e) => {
        const d = describeError(e, t);
        push('err', d.detail ?? d.title, d.raw);
      },
      info: (m) => push('info', m),
    }),
    [push, t],
  );
  return (
    <Ctx.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {items.map((x) => (
          <div key={x.id} className={`toast toast-${x.tone}`} data-testid={`toast-${x.tone}`}>
            <Icon name={x.tone === 'ok' ? 'check' : x.tone === 'err' ? 'alert' : 'info'} size={15} />
            <span className="toast-body">
              <span>{x.message}</span>
              {x.raw && (
                <details className="raw-detail" onToggle={(e) => (e.currentTarget as HTMLDetailsElement).open && hold(x.id)}>
                  <summary>{t('explain.raw')}</summary>
                  <code className="mono break raw-text">{x.raw}</code>
                </details>
              )}
            </span>
            <button type="button" className="toast-x" aria-label={t('common.close')} onClick={() => dismiss(x.id)}>
              <Icon name="x" size={14} />
            </button>
          </div>
        ))}
      </div>
    </Ctx.Provider>
  );
}

export function useToast(): ToastApi {
  const v = useContext(Ctx);
  if (!v) throw new Error('useToast outside ToastProvider');
  return v;
}

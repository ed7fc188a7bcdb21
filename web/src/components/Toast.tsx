import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { Icon } from './Icon';
import { useI18n } from '../i18n';

interface ToastItem {
  id: number;
  tone: 'ok' | 'err' | 'info';
  message: string;
}

interface ToastApi {
  ok(message: string): void;
  error(message: string): void;
  info(message: string): void;
}

const Ctx = createContext<ToastApi | null>(null);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ToastItem[]>([]);
  const next = useRef(1);
  const { t } = useI18n();
  const dismiss = useCallback((id: number) => setItems((xs) => xs.filter((x) => x.id !== id)), []);
  const push = useCallback(
    (tone: ToastItem['tone'], message: string) => {
      const id = next.current++;
      setItems((xs) => [...xs.slice(-3), { id, tone, message }]);
      setTimeout(() => dismiss(id), tone === 'err' ? 7000 : 3500);
    },
    [dismiss],
  );
  const api = useMemo<ToastApi>(() => ({ ok: (m) => push('ok', m), error: (m) => push('err', m), info: (m) => push('info', m) }), [push]);
  return (
    <Ctx.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {items.map((x) => (
          <div key={x.id} className={`toast toast-${x.tone}`} data-testid={`toast-${x.tone}`}>
            <Icon name={x.tone === 'ok' ? 'check' : x.tone === 'err' ? 'alert' : 'info'} size={15} />
            <span>{x.message}</span>
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

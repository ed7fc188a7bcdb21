import { useEffect, useId, useRef, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { Icon, type IconName } from './Icon';
import { useI18n } from '../i18n';
import { ApiError } from '../api/client';
import { explainError } from '../errors/explain';
import { explanationText } from '../errors/ExplainedError';

// ---- Button ----------------------------------------------------------------------------------

type Variant = 'primary' | 'secondary' | 'ghost' | 'danger';

export function Button({
  variant = 'secondary',
  size,
  icon,
  loading,
  children,
  className,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; size?: 'sm'; icon?: IconName; loading?: boolean }) {
  const cls = ['btn', `btn-${variant}`, size === 'sm' ? 'btn-sm' : '', !children ? 'btn-icon' : '', className ?? ''].filter(Boolean).join(' ');
  return (
    <button type="button" className={cls} disabled={rest.disabled || loading} aria-busy={loading || undefined} {...rest}>
      {loading ? <Spinner /> : icon ? <Icon name={icon} size={size === 'sm' ? 14 : 16} /> : null}
      {children}
    </button>
  );
}

export function Spinner({ size = 14 }: { size?: number }) {
  return <span className="spinner" style={{ width: size, height: size }} aria-hidden="true" />;
}

// ---- Switch ----------------------------------------------------------------------------------

export function Switch({
  checked,
  onChange,
  label,
  disabled,
  testId,
  size,
}: {
  checked: boolean;
  onChange(v: boolean): void;
  label: string;
  disabled?: boolean;
  testId?: string;
  size?: 'sm';
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      title={label}
      disabled={disabled}
      className={`switch${size === 'sm' ? ' switch-sm' : ''}`}
      data-testid={testId}
      onClick={() => onChange(!checked)}
    >
      <span className="switch-thumb" />
    </button>
  );
}

// ---- Segmented control -----------------------------------------------------------------------

export function Segmented<V extends string>({
  value,
  options,
  onChange,
  label,
  testId,
  size,
}: {
  value: V;
  options: { value: V; label: ReactNode; title?: string; testId?: string }[];
  onChange(v: V): void;
  label: string;
  testId?: string;
  size?: 'sm';
}) {
  return (
    <div className={`segmented${size === 'sm' ? ' segmented-sm' : ''}`} role="radiogroup" aria-label={label} data-testid={testId}>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          role="radio"
          aria-checked={o.value === value}
          title={o.title}
          aria-label={typeof o.label === 'string' ? undefined : o.title}
          className={o.value === value ? 'active' : ''}
          data-testid={o.testId}
          onClick={() => onChange(o.value)}
          onKeyDown={(e) => {
            const i = options.findIndex((x) => x.value === value);
            if (e.key === 'ArrowRight' || e.key === 'ArrowDown') {
              e.preventDefault();
              const next = options[(i + 1) % options.length]!;
              onChange(next.value);
              (e.currentTarget.parentElement?.children[(i + 1) % options.length] as HTMLElement | undefined)?.focus();
            } else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') {
              e.preventDefault();
              const j = (i - 1 + options.length) % options.length;
              onChange(options[j]!.value);
              (e.currentTarget.parentElement?.children[j] as HTMLElement | undefined)?.focus();
            }
          }}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

// ---- Badge -----------------------------------------------------------------------------------

export type Tone = 'neutral' | 'green' | 'amber' | 'red' | 'blue' | 'violet';

export function Badge({ tone = 'neutral', children, dot, title, testId, mono }: { tone?: Tone; children: ReactNode; dot?: boolean; title?: string; testId?: string; mono?: boolean }) {
  return (
    <span className={`badge badge-${tone}${mono ? ' mono' : ''}`} title={title} data-testid={testId}>
      {dot && <span className="dot" />}
      {children}
    </span>
  );
}

// ---- Dialog (native <dialog>: focus trap, Esc, inert background for free) --------------------

export function Dialog({
  open,
  onClose,
  title,
  description,
  children,
  footer,
  wide,
  drawer,
  testId,
}: {
  open: boolean;
  onClose(): void;
  title: ReactNode;
  description?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  drawer?: boolean;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const { t } = useI18n();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  if (!open) return null;
  return (
    <dialog
      ref={ref}
      className={`dialog${wide ? ' dialog-wide' : ''}${drawer ? ' dialog-drawer' : ''}`}
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onMouseDown={(e) => {
        // A click on the backdrop (the dialog element itself, outside its box) closes it.
        if (e.target === e.currentTarget) {
          const r = e.currentTarget.getBoundingClientRect();
          if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) onClose();
        }
      }}
    >
      <div className="dialog-inner">
        <header className="dialog-header">
          <div className="dialog-titles">
            <h2 id={titleId}>{title}</h2>
            {description && <p className="muted">{description}</p>}
          </div>
          <Button variant="ghost" icon="x" aria-label={t('common.close')} onClick={onClose} data-testid="dialog-close" />
        </header>
        <div className="dialog-body">{children}</div>
        {footer && <footer className="dialog-footer">{footer}</footer>}
      </div>
    </dialog>
  );
}

export function ConfirmDialog({
  open,
  title,
  body,
  confirmLabel,
  onConfirm,
  onClose,
  busy,
}: {
  open: boolean;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  onConfirm(): void;
  onClose(): void;
  busy?: boolean;
}) {
  const { t } = useI18n();
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      testId="confirm-dialog"
      footer={
        <>
          <Button onClick={onClose} autoFocus>
            {t('common.cancel')}
          </Button>
          <Button variant="danger" onClick={onConfirm} loading={busy} data-testid="confirm-ok">
            {confirmLabel}
          </Button>
        </>
      }
    >
      <div className="confirm-body">{body}</div>
    </Dialog>
  );
}

// ---- Form field ------------------------------------------------------------------------------

export function Field({
  label,
  hint,
  error,
  children,
  htmlFor,
  testId,
  optional,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | null;
  children: ReactNode;
  htmlFor?: string;
  testId?: string;
  optional?: boolean;
}) {
  const { t } = useI18n();
  return (
    <div className={`field${error ? ' has-error' : ''}`} data-testid={testId}>
      <label htmlFor={htmlFor}>
        {label}
        {optional && <span className="optional">{t('common.optional')}</span>}
      </label>
      {children}
      {error ? (
        <p className="field-error" role="alert" data-testid={testId ? `${testId}-error` : undefined}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint">{hint}</p>
      ) : null}
    </div>
  );
}

// ---- States ----------------------------------------------------------------------------------

export function EmptyState({ icon, title, children, action, testId }: { icon?: IconName; title: string; children?: ReactNode; action?: ReactNode; testId?: string }) {
  return (
    <div className="empty" data-testid={testId}>
      {icon && (
        <div className="empty-icon">
          <Icon name={icon} size={20} />
        </div>
      )}
      <h3>{title}</h3>
      {children && <p className="muted">{children}</p>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

/** What went wrong with a query, in words, with a retry button. */
export function ErrorState({ error, onRetry, compact, testId }: { error: unknown; onRetry?(): void; compact?: boolean; testId?: string }) {
  const { t } = useI18n();
  const msg = describeError(error, t);
  return (
    <div className={`error-state${compact ? ' compact' : ''}`} role="alert" data-testid={testId ?? 'error-state'}>
      <Icon name="alert" size={16} />
      <div className="error-text">
        <strong>{msg.title}</strong>
        {msg.detail && <span className="muted">{msg.detail}</span>}
        {msg.raw && <RawDetail raw={msg.raw} />}
      </div>
      {onRetry && (
        <Button size="sm" icon="refresh" onClick={onRetry}>
          {t('common.retry')}
        </Button>
      )}
    </div>
  );
}

/** The raw text behind an explained error, one click away. */
export function RawDetail({ raw, testId }: { raw: string; testId?: string }) {
  const { t } = useI18n();
  return (
    <details className="raw-detail" data-testid={testId}>
      <summary>{t('explain.raw')}</summary>
      <code className="mono break raw-text">{raw}</code>
    </details>
  );
}

/**
 * An error for the reader: a title, what it means in the UI's language (`detail`), and, when the
 * server's own text was explained, that text (`raw`) to show one click away.
 */
export function describeError(error: unknown, t: ReturnType<typeof useI18n>['t']): { title: string; detail?: string; raw?: string } {
  if (error instanceof ApiError) {
    if (error.status === 0) return { title: t('error.network'), detail: t('error.networkDetail') };
    // A bare "HTTP 500" (no JSON body) is the gateway's own status, not a provider's: nothing to explain.
    const e = error.message === `HTTP ${error.status}` ? null : explainError(error.message);
    if (error.status === 404 && (!e || e.key === 'unknownRoute')) return { title: t('error.notAvailable'), detail: t('error.notAvailableDetail'), raw: error.message };
    return e ? { title: t('error.server', { status: error.status }), detail: explanationText(e, t), raw: error.message } : { title: t('error.server', { status: error.status }), detail: error.message };
  }
  return { title: t('error.unknown'), detail: error instanceof Error ? error.message : String(error) };
}

export function Skeleton({ rows = 3, height = 36 }: { rows?: number; height?: number }) {
  return (
    <div className="skeleton-list" aria-busy="true">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ height }} />
      ))}
    </div>
  );
}

// ---- Copy ------------------------------------------------------------------------------------

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through to the textarea way */
  }
  // Plain http (not a secure context): the old execCommand way still works.
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.top = '-1000px';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  const active = document.activeElement as HTMLElement | null;
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  document.body.removeChild(ta);
  active?.focus();
  return ok;
}

export function CopyButton({ text, label, testId, size }: { text: string; label?: string; testId?: string; size?: 'sm' }) {
  const { t } = useI18n();
  const [state, setState] = useState<'idle' | 'ok' | 'fail'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const id = setTimeout(() => setState('idle'), 1800);
    return () => clearTimeout(id);
  }, [state]);
  return (
    <Button
      size={size}
      icon={state === 'ok' ? 'check' : 'copy'}
      data-testid={testId}
      className={state === 'ok' ? 'copied' : ''}
      onClick={async () => setState((await copyText(text)) ? 'ok' : 'fail')}
      aria-live="polite"
    >
      {state === 'ok' ? t('common.copied') : state === 'fail' ? t('common.copyFailed') : (label ?? t('common.copy'))}
    </Button>
  );
}

// ---- Card ------------------------------------------------------------------------------------

export function Card({ title, actions, children, className, testId, flush }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; testId?: string; flush?: boolean }) {
  return (
    <section className={`card${flush ? ' card-flush' : ''}${className ? ` ${className}` : ''}`} data-testid={testId}>
      {(title || actions) && (
        <header className="card-header">
          {title && <h3 className="card-title">{title}</h3>}
          {actions && <div className="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {description && <p className="muted">{description}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}

// Pools page: a pool's conversation affinity, and what each member can hold (context window, vision).
import { useEffect, useState } from 'react';
import { usePatchMember, usePatchPool } from '../api/hooks';
import type { Member, Pool, PoolAffinity } from '../api/types';
import { useI18n } from '../i18n';
import { fmtInt } from '../lib/format';
import { fmtTokens, parseTokens } from '../lib/capabilities';
import { Segmented } from '../components/ui';
import { useToast } from '../components/Toast';

/** Session (a conversation keeps its member, so the provider's prompt cache holds) or none (every request rotates). */
export function AffinityControl({ pool }: { pool: Pool }) {
  const { t } = useI18n();
  const toast = useToast();
  const patch = usePatchPool();
  const value: PoolAffinity = pool.affinity ?? 'session';
  if (pool.affinity === undefined) return null; // an older gateway: no such setting
  return (
    <div className="pool-affinity" data-testid="pool-affinity" data-affinity={value}>
      <span className="pool-affinity-label small">{t('pools.affinity')}</span>
      <Segmented<PoolAffinity>
        size="sm"
        value={value}
        label={t('pools.affinityFor', { pool: pool.name })}
        testId="pool-affinity-choice"
        options={[
          { value: 'session', label: t('pools.affinity.session'), title: t('pools.affinity.sessionHint'), testId: 'pool-affinity-session' },
          { value: 'none', label: t('pools.affinity.none'), title: t('pools.affinity.noneHint'), testId: 'pool-affinity-none' },
        ]}
        onChange={(v) => {
          if (v === value) return;
          patch.mutate(
            { pool: pool.name, patch: { affinity: v } },
            { onSuccess: () => toast.ok(t(v === 'session' ? 'pools.affinity.savedSession' : 'pools.affinity.savedNone')), onError: (e) => toast.fail(e) },
          );
        }}
      />
      <span className="muted small pool-affinity-why" data-testid="pool-affinity-why">
        {t(value === 'session' ? 'pools.affinity.sessionHint' : 'pools.affinity.noneHint')}
      </span>
    </div>
  );
}

/** A member's context window (tokens, "128k") and vision (yes / no / unknown), edited in place. */
export function MemberCapabilities({ m }: { m: Member }) {
  const { t, locale } = useI18n();
  const toast = useToast();
  const patch = usePatchMember();
  const shown = fmtTokens(m.contextWindow);
  const [text, setText] = useState(shown);
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    if (!editing) setText(fmtTokens(m.contextWindow));
  }, [m.contextWindow, editing]);
  if (m.contextWindow === undefined && m.vision === undefined) return null; // an older gateway

  function commitWindow() {
    setEditing(false);
    const n = parseTokens(text);
    if (n === undefined) {
      toast.error(t('pools.contextInvalid'));
      setText(fmtTokens(m.contextWindow));
      return;
    }
    if (n === (m.contextWindow ?? null)) {
      setText(fmtTokens(m.contextWindow));
      return;
    }
    setText(fmtTokens(n));
    patch.mutate(
      { pool: m.pool, id: m.id, patch: { contextWindow: n } },
      {
        onSuccess: () => toast.ok(n === null ? t('pools.contextCleared', { model: m.model }) : t('pools.contextSaved', { model: m.model, n: fmtTokens(n) })),
        onError: (e) => {
          setText(fmtTokens(m.contextWindow));
          toast.fail(e);
        },
      },
    );
  }

  const vision = m.vision === true ? 'yes' : m.vision === false ? 'no' : '';
  return (
    <>
      <label className="capability" title={m.contextWindow ? t('pools.contextExact', { n: fmtInt(m.contextWindow, locale) }) : t('pools.contextHint')}>
        <span className="muted small">{t('pools.context')}</span>
        <input
          type="text"
          inputMode="numeric"
          className="mono"
          placeholder={t('pools.unknownShort')}
          value={text}
          onFocus={() => {
            setEditing(true);
            // edit the exact count; the short form only shows it
            if (m.contextWindow) setText(String(m.contextWindow));
          }}
          onChange={(e) => setText(e.target.value)}
          onBlur={commitWindow}
          onKeyDown={(e) => {
            if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
            if (e.key === 'Escape') {
              setEditing(false);
              setText(fmtTokens(m.contextWindow));
            }
          }}
          aria-label={t('pools.contextFor', { model: m.model })}
          data-testid="member-context"
          data-value={m.contextWindow ?? ''}
        />
      </label>
      <label className="capability" title={t('pools.visionHint')}>
        <span className="muted small">{t('pools.vision')}</span>
        <select
          value={vision}
          aria-label={t('pools.visionFor', { model: m.model })}
          data-testid="member-vision"
          onChange={(e) => {
            const v = e.target.value === 'yes' ? true : e.target.value === 'no' ? false : null;
            patch.mutate({ pool: m.pool, id: m.id, patch: { vision: v } }, { onError: (err) => toast.fail(err) });
          }}
        >
          <option value="">{t('pools.visionUnknown')}</option>
          <option value="yes">{t('common.yes')}</option>
          <option value="no">{t('common.no')}</option>
        </select>
      </label>
    </>
  );
}

// Logs page: the conversation a request belonged to, and what affinity did with it.
import type { MouseEvent } from 'react';
import type { AffinityResult } from '../api/types';
import { useI18n } from '../i18n';
import { shortConversation } from '../lib/capabilities';
import { Badge, type Tone } from '../components/ui';
import { Icon } from '../components/Icon';

const AFFINITY_TONE: Record<AffinityResult, Tone> = { new: 'blue', kept: 'green', moved: 'amber', none: 'neutral' };

/** The conversation in short (the whole id on hover); a click shows only its requests. */
export function ConversationTag({ id, onFilter }: { id: string; onFilter(id: string): void }) {
  const { t } = useI18n();
  return (
    <button
      type="button"
      className="conv-tag mono"
      title={t('logs.conversationHint', { id })}
      aria-label={t('logs.conversationFilter', { id })}
      data-testid="log-conversation"
      data-conversation={id}
      onClick={(e: MouseEvent) => {
        e.stopPropagation(); // not the row's own click (the detail)
        onFilter(id);
      }}
      onKeyDown={(e) => e.stopPropagation()}
    >
      <Icon name="chat" size={11} />
      <span className="conv-tag-id">{shortConversation(id)}</span>
    </button>
  );
}

/** new / kept / moved / none, with what it means on hover. */
export function AffinityBadge({ result }: { result: AffinityResult | undefined }) {
  const { t } = useI18n();
  if (!result) return null;
  return (
    <span className="affinity-badge" data-testid="log-affinity" data-affinity={result}>
      <Badge tone={AFFINITY_TONE[result]} title={t(`logs.affinity.${result}Hint`)}>
        {t(`logs.affinity.${result}`)}
      </Badge>
    </span>
  );
}

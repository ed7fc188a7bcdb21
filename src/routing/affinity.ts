import { createHash } from 'node:crypto';

/**
 * Session affinity (CONTRACT "Conversations and member capabilities"): which member served a
 * conversation's last turn, so that its next turn goes there while that member is ready — the
 * provider's prompt cache then holds the conversation's prefix. Bounded (least recently used
 * entries dropped first) and forgetful (entries idle longer than `idleMs` are gone). Pure: takes
 * `now`; no I/O (sharing through Redis is the cluster's job).
 */
export class AffinityTable {
  /** conversation → member and when it was last used; Map order is use order (oldest first). */
  private readonly entries = new Map<string, { memberId: number; at: number }>();

  constructor(private readonly max = 50_000, readonly idleMs = 60 * 60_000) {}

  /** The member that served the conversation last, if it is remembered and not idle too long. */
  get(conversation: string, now: number): number | null {
    const e = this.entries.get(conversation);
    if (!e) return null;
    if (now - e.at > this.idleMs) {
      this.entries.delete(conversation);
      return null;
    }
    return e.memberId;
  }

  /** The conversation's turn was served by `memberId`. */
  set(conversation: string, memberId: number, now: number): void {
    this.entries.delete(conversation); // (re-inserted last: the most recently used)
    this.entries.set(conversation, { memberId, at: now });
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  forget(conversation: string): void {
    this.entries.delete(conversation);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** What affinity did for one request (the `x-gateway-affinity` header, the log row). */
export type AffinityResult = 'new' | 'kept' | 'moved' | 'none';

/** The result once a member served: kept when it is the remembered one, moved when another, new when none was. */
export function affinityResult(remembered: number | null, served: number): AffinityResult {
  if (remembered === null) return 'new';
  return remembered === served ? 'kept' : 'moved';
}

/** Longest conversation name kept as it is (longer ones are kept as a hash: they are only compared). */
export const MAX_CONVERSATION_LENGTH = 200;

/**
 * The conversation a request belongs to: the `x-claude-code-session-id` header, else Anthropic
 * `metadata.user_id`, else OpenAI `user`; null when none is there. Claude Code's `user_id` is a
 * JSON text holding a `session_id` too; the whole text names the conversation either way.
 */
export function conversationOf(headers: Record<string, unknown>, body: Record<string, unknown>, read?: { text(s: string): string }): string | null {
  const h = headers['x-claude-code-session-id'];
  const fromHeader = Array.isArray(h) ? h[0] : h;
  if (typeof fromHeader === 'string' && fromHeader.trim() !== '') return cap(fromHeader.trim());
  const meta = body.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const uid = (meta as Record<string, unknown>).user_id;
    if (typeof uid === 'string' && uid !== '') return cap(read ? read.text(uid) : uid);
  }
  if (typeof body.user === 'string' && body.user !== '') return cap(read ? read.text(body.user) : body.user);
  return null;
}

function cap(s: string): string {
  return s.length > MAX_CONVERSATION_LENGTH ? `sha256:${createHash('sha256').update(s).digest('base64url')}` : s;
}

/** Where conversations' members are shared between replicas (Redis), when there is such a place. */
export interface SharedAffinity {
  /** The member remembered for a conversation; null when none (or the store could not answer in time). */
  get(conversation: string): Promise<number | null>;
  set(conversation: string, memberId: number): void;
}

/** How long a request waits for the shared store before this process's table answers. */
export const SHARED_LOOKUP_MS = 50;

/**
 * (Pool, conversation) → member, in this process (AffinityTable) and, when set, shared between
 * replicas: the shared store is asked first (another replica may have moved the conversation);
 * this process's table answers when the store has nothing or does not answer within
 * SHARED_LOOKUP_MS. Keyed by pool too: one Claude Code session sends its haiku requests to the
 * tool pool and its main turns to another, and each keeps its own member.
 */
export class Affinity {
  readonly table: AffinityTable;
  shared: SharedAffinity | null = null;

  constructor(table = new AffinityTable()) {
    this.table = table;
  }

  async get(pool: string, conversation: string): Promise<number | null> {
    const key = `${pool}:${conversation}`;
    if (this.shared) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), SHARED_LOOKUP_MS); });
      const id = await Promise.race([this.shared.get(key), late]).finally(() => clearTimeout(timer));
      if (id !== null) return id;
    }
    return this.table.get(key, Date.now());
  }

  set(pool: string, conversation: string, memberId: number): void {
    const key = `${pool}:${conversation}`;
    this.table.set(key, memberId, Date.now());
    this.shared?.set(key, memberId);
  }
}

/**
 * Which provider produced which thinking signature (CONTRACT "Conversations and member
 * capabilities"). A thinking block is signed by the backend that wrote it, and another backend
 * refuses it ("Invalid `signature` in `thinking` block"); so the gateway remembers, in bounded
 * memory, the provider behind each signature it relayed, and removes from a request's history the
 * blocks another provider signed before the request goes out. Signatures it never saw (written
 * before a restart, or elsewhere) are left alone: an upstream 400 about them makes the relay retry
 * once without the history's thinking. Pure.
 */
export class SignatureBook {
  /** signature key → provider id; Map order is insertion order (oldest dropped first). */
  private readonly byKey = new Map<string, number>();

  constructor(private readonly max = 200_000) {}

  /** The provider `providerId` produced `signature` (a thinking signature or redacted_thinking data). */
  record(signature: string, providerId: number): void {
    if (signature === '') return;
    const k = keyOf(signature);
    this.byKey.delete(k);
    this.byKey.set(k, providerId);
    if (this.byKey.size > this.max) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
  }

  /** The provider that produced `signature`, when the gateway relayed it. */
  producer(signature: string): number | undefined {
    return this.byKey.get(keyOf(signature));
  }

  /** A predicate for the retry after `providerId` refused a signature: drop all but what it signed itself. */
  notSignedBy(providerId: number): (signature: string) => boolean {
    return (signature) => this.producer(signature) !== providerId;
  }

  /** A predicate for the history of a request going to `providerId`: drop what another provider signed. */
  foreignTo(providerId: number): (signature: string) => boolean {
    return (signature) => {
      const p = this.producer(signature);
      return p !== undefined && p !== providerId;
    };
  }

  /**
   * A provider refused a history holding these signatures: those it did not sign (as far as the
   * book knows) are recorded as foreign to every provider, so that later turns drop them up front
   * instead of being refused again.
   */
  refused(signatures: string[], providerId: number): void {
    for (const s of signatures) if (this.producer(s) !== providerId) this.record(s, FOREIGN);
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** The producer recorded for a signature every provider refuses (no provider has this id). */
const FOREIGN = -1;

/** The thinking signatures (and redacted_thinking data) in an Anthropic request's history. */
export function historySignatures(body: Record<string, unknown>): string[] {
  const out: string[] = [];
  const messages = body.messages;
  if (!Array.isArray(messages)) return out;
  for (const m of messages as { role?: unknown; content?: unknown }[]) {
    if (!m || m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    for (const b of m.content as { type?: unknown; signature?: unknown; data?: unknown }[]) {
      if (b?.type === 'thinking' && typeof b.signature === 'string' && b.signature !== '') out.push(b.signature);
      else if (b?.type === 'redacted_thinking' && typeof b.data === 'string' && b.data !== '') out.push(b.data);
    }
  }
  return out;
}

/**
 * A signature's key: its length and its last 64 characters. Signatures are long base64 texts
 * whose tail is random; the key keeps the book small and the lookup cheap (no hashing of every
 * block of every request's history).
 */
function keyOf(signature: string): string {
  return signature.length <= 72 ? signature : `${signature.length}:${signature.slice(-64)}`;
}

/** An upstream 400 that says a thinking block's signature was refused. */
export function isInvalidSignatureError(message: string): boolean {
  const m = message.toLowerCase();
  return m.includes('signature') && (m.includes('thinking') || m.includes('invalid'));
}

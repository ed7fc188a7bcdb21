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

  /** A predicate for the history of a request going to `providerId`: drop what another provider signed. */
  foreignTo(providerId: number): (signature: string) => boolean {
    return (signature) => {
      const p = this.producer(signature);
      return p !== undefined && p !== providerId;
    };
  }

  get size(): number {
    return this.byKey.size;
  }
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

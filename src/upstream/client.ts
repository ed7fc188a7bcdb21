import { Agent, type Dispatcher } from 'undici';
import type { Format } from '../protocol/formats.js';

export interface UpstreamTarget {
  id: number;
  baseUrl: string;
  apiKey: string;
  format: Format;
}

/**
 * One keep-alive connection pool per provider (undici Agent), created on first use and dropped
 * when the provider changes or goes away.
 */
export class UpstreamPool {
  private readonly agents = new Map<number, { agent: Agent; key: string }>();

  constructor(private readonly connectTimeoutMs: number) {}

  dispatcher(target: UpstreamTarget): Dispatcher {
    const key = target.baseUrl;
    const hit = this.agents.get(target.id);
    if (hit && hit.key === key) return hit.agent;
    if (hit) void hit.agent.close().catch(() => {});
    const agent = new Agent({
      connect: { timeout: this.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      // Timeouts are enforced by the relay (first byte, idle, total) with its own timers.
      headersTimeout: 0,
      bodyTimeout: 0,
      pipelining: 1,
    });
    this.agents.set(target.id, { agent, key });
    return agent;
  }

  /** Drops pools of providers that no longer exist (or changed URL). */
  retain(ids: Set<number>): void {
    for (const [id, { agent }] of this.agents) {
      if (!ids.has(id)) {
        this.agents.delete(id);
        void agent.close().catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.agents.values()].map(({ agent }) => agent.destroy().catch(() => {}));
    this.agents.clear();
    await Promise.all(all);
  }
}

/**
 * Headers for one upstream call: the provider's own credential, never the client's — `apiKey`
 * when given (the key this attempt took from the provider's keys), else the provider's first key.
 */
export function upstreamHeaders(
  target: UpstreamTarget,
  opts: { stream: boolean; anthropicVersion?: string; anthropicBeta?: string; json?: boolean; apiKey?: string },
): Record<string, string> {
  const apiKey = opts.apiKey ?? target.apiKey;
  const h: Record<string, string> = {
    'user-agent': 'api-pool-gateway/0.1',
    'accept-encoding': 'identity',
    accept: opts.stream ? 'text/event-stream' : 'application/json',
  };
  if (opts.json !== false) h['content-type'] = 'application/json';
  if (target.format === 'anthropic') {
    if (apiKey) h['x-api-key'] = apiKey;
    h['anthropic-version'] = opts.anthropicVersion || '2023-06-01';
    if (opts.anthropicBeta) h['anthropic-beta'] = opts.anthropicBeta;
  } else if (apiKey) {
    h.authorization = `Bearer ${apiKey}`;
  }
  return h;
}

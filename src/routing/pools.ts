/** The three pools, in the order the contract lists them. */
export type PoolName = 'tool' | 'normal' | 'advanced';

export const POOL_NAMES: readonly PoolName[] = ['tool', 'normal', 'advanced'];

export function isPoolName(value: unknown): value is PoolName {
  return value === 'tool' || value === 'normal' || value === 'advanced';
}

export type VirtualModels = Record<PoolName, string>;

/**
 * The pool a requested model goes to: the pool whose virtual name equals the model
 * (case-insensitive), else the pool whose virtual name the model contains
 * (`claude-3-5-haiku-20241022` → tool). Where several names are contained, the longest wins,
 * then the contract's pool order. Null when none matches.
 */
export function resolvePool(model: string, virtualModels: VirtualModels): PoolName | null {
  const m = model.toLowerCase();
  let best: PoolName | null = null;
  let bestLen = 0;
  for (const pool of POOL_NAMES) {
    const name = virtualModels[pool].toLowerCase();
    if (m === name) return pool;
    if (name.length > bestLen && m.includes(name)) {
      best = pool;
      bestLen = name.length;
    }
  }
  return best;
}

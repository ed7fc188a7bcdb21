import { describe, expect, it } from 'vitest';
import { resolvePool } from '../../../src/routing/pools.js';

const defaults = { tool: 'haiku', normal: 'sonnet', advanced: 'opus' };

describe('resolvePool', () => {
  const table: [string, string | null, Record<string, string>?][] = [
    ['haiku', 'tool'],
    ['sonnet', 'normal'],
    ['opus', 'advanced'],
    ['HAIKU', 'tool'],
    ['Sonnet', 'normal'],
    ['claude-3-5-haiku-20241022', 'tool'],
    ['claude-haiku-4-5-20251001', 'tool'],
    ['claude-sonnet-4-5-20250929', 'normal'],
    ['claude-opus-4-1-20250805', 'advanced'],
    ['anthropic/claude-Opus-4', 'advanced'],
    ['gpt-4o', null],
    ['', null],
    ['son', null],
    // renamed virtual models
    ['fast', 'tool', { tool: 'fast', normal: 'main', advanced: 'big' }],
    ['haiku', null, { tool: 'fast', normal: 'main', advanced: 'big' }],
    ['my-big-model', 'advanced', { tool: 'fast', normal: 'main', advanced: 'big' }],
    // exact match beats containment; the longest contained name wins
    ['main', 'normal', { tool: 'main-lite', normal: 'main', advanced: 'x' }],
    ['main-lite-2', 'tool', { tool: 'main-lite', normal: 'main', advanced: 'x' }],
  ];
  for (const [model, pool, vm] of table) {
    it(`${JSON.stringify(model)} → ${pool}${vm ? ` with ${JSON.stringify(vm)}` : ''}`, () => {
      expect(resolvePool(model, (vm ?? defaults) as any)).toBe(pool);
    });
  }
});

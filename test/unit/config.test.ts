import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8899, host: '127.0.0.1', adminPassword: 'admin123', defaultCooldownSeconds: 60, databaseUrl: null, redisUrl: null });
    expect(c.virtualModels).toEqual({ tool: 'haiku', normal: 'sonnet', advanced: 'opus' });
    expect([c.connectTimeoutMs, c.firstByteTimeoutMs, c.idleTimeoutMs, c.totalTimeoutMs]).toEqual([10_000, 60_000, 120_000, 600_000]);
    expect(c.maxBodyBytes).toBe(32 * 1024 * 1024);
  });
  it('reads every variable', () => {
    const c = loadConfig({ API_PORT: '9000', VIRTUAL_MODEL_TOOL: 'Fast', MAX_BODY_MB: '1', UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS: '5', LOG_LEVEL: 'WARN' });
    expect(c.port).toBe(9000);
    expect(c.virtualModels.tool).toBe('fast');
    expect(c.maxBodyBytes).toBe(1024 * 1024);
    expect(c.firstByteTimeoutMs).toBe(5000);
    expect(c.logLevel).toBe('warn');
  });
  it('LOG_FORMAT: auto (follow the terminal) unless json or pretty', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'JSON' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ API_PORT: '0' }).port).toBe(0);
    expect(loadConfig({ API_PORT: '65535' }).port).toBe(65535);
  });
  const bad: [Record<string, string>, string][] = [
    [{ API_PORT: 'abc' }, 'API_PORT'],
    [{ API_PORT: '70000' }, 'API_PORT'],
    [{ API_PORT: '-1' }, 'API_PORT'],
    [{ API_PORT: '80.5' }, 'API_PORT'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ DEFAULT_COOLDOWN_SECONDS: '-1' }, 'DEFAULT_COOLDOWN_SECONDS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ VIRTUAL_MODEL_TOOL: 'x', VIRTUAL_MODEL_NORMAL: 'x' }, 'VIRTUAL_MODEL'],
  ];
  for (const [env, name] of bad) {
    it(`refuses ${JSON.stringify(env)} naming ${name}`, () => expect(() => loadConfig(env)).toThrow(name));
  }
});

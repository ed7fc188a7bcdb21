import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigFileError, parseConfigText, substituteEnv } from '../../../src/admin/config.js';
import { FieldError, parseWith } from '../../../src/admin/schema/common.js';
import { configDocumentSchema } from '../../../src/admin/schema/config.js';
import { providerCreateSchema, providerPatchSchema } from '../../../src/admin/schema/provider.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const refused = (fn: () => unknown): FieldError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof FieldError) return e;
    throw e;
  }
  throw new Error('not refused');
};

describe('${ENV} substitution in a CONFIG_FILE document', () => {
  const env = { KEY: 'sk-a$b"c#d: e', EMPTY: '', HOST: 'h.example.com' };
  const table: [unknown, unknown][] = [
    ['${KEY}', 'sk-a$b"c#d: e'],
    ['https://${HOST}/v1', 'https://h.example.com/v1'],
    ['${EMPTY}', ''],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${UNSET:-https://x}', 'https://x'],
    ['$${KEY} stays', '${KEY} stays'],
    ['no variables $ here', 'no variables $ here'],
    [{ a: ['${HOST}', 3, true, null] }, { a: ['h.example.com', 3, true, null] }],
  ];
  for (const [input, output] of table) it(`${JSON.stringify(input)} → ${JSON.stringify(output)}`, () => expect(substituteEnv(input, env)).toEqual(output));

  it('a variable that is not set names the variable and where it is used', () => {
    const e = refused(() => substituteEnv({ providers: [{ name: 'a', apiKey: '${NOPE}' }] }, env));
    expect(e.field).toBe('providers[0].apiKey');
    expect(e.message).toContain('environment variable NOPE is not set');
    expect(refused(() => substituteEnv({ a: '${1BAD}' }, env)).message).toContain('is not a variable reference');
  });

  it('a substituted value is data, never YAML: a key with ": " and "#" in it stays whole', () => {
    const doc = substituteEnv(parseConfigText('providers:\n  - {name: a, baseUrl: "http://h", format: openai, apiKey: "${KEY}"} # comment ${NOT_READ}\n'), env) as any;
    expect(doc.providers[0].apiKey).toBe(env.KEY);
  });
});

describe('the provider schema', () => {
  it('takes several keys as apiKeys (blank entries and repeats dropped), one as apiKey, not both', () => {
    const base = { name: 'p', baseUrl: 'http://h', format: 'openai' };
    expect(parseWith(providerCreateSchema, { ...base, apiKeys: [' k1 ', '', 'k2', 'k1'] }).apiKeys).toEqual(['k1', 'k2']);
    expect(parseWith(providerPatchSchema, { apiKey: ' k ' })).toEqual({ apiKey: 'k' });
    expect(refused(() => parseWith(providerPatchSchema, { apiKey: 'a', apiKeys: ['b'] })).field).toBe('apiKeys');
    expect(refused(() => parseWith(providerPatchSchema, { apiKeys: ['ok', 5] })).field).toBe('apiKeys[1]');
    expect(refused(() => parseWith(providerPatchSchema, { apiKeys: ['a\nb'] })).message).toBe('apiKeys[0]: must not contain line breaks');
    expect(refused(() => parseWith(providerPatchSchema, { apiKeys: 'k' })).field).toBe('apiKeys');
  });
  it('takes every provider option, null putting one back to its default', () => {
    const options = { maxTokensField: 'max_completion_tokens', maxTokensCap: null, thinkingStyle: 'adaptive', streamOptions: false, stripUnsupported: true, reasoning: false, reasoningContent: true };
    expect(parseWith(providerPatchSchema, { options }).options).toEqual(options);
    expect(parseWith(providerPatchSchema, { options: { thinkingStyle: null } }).options).toEqual({ thinkingStyle: null });
  });
});

describe('the configuration document', () => {
  it('a part left out is undefined; an empty document is valid', () => {
    expect(parseWith(configDocumentSchema, {})).toEqual({});
    expect(parseWith(configDocumentSchema, { pools: { tool: {} } })).toEqual({ pools: { tool: {} } });
  });
  it('names the first bad field with its full path', () => {
    const table: [unknown, string, string | RegExp][] = [
      [{ pools: { tool: { members: [{ provider: 'p', model: 'm', vision: 'yes' }] } } }, 'pools.tool.members[0].vision', 'must be true, false, or null for unknown'],
      [{ providers: [{ name: 'p', baseUrl: 'http://h', format: 'openai', options: { maxTokensCap: 0 } }] }, 'providers[0].options.maxTokensCap', 'must be a positive integer or null'],
      [{ accessKeys: [{ name: 'k', expiresAt: 'soon' }] }, 'accessKeys[0].expiresAt', 'must be an ISO 8601 date-time, or null for never'],
      [{ accessKeys: [{ name: 'k' }, { name: 'K ' }] }, 'accessKeys[1].name', 'this name is already entry 0 of this list'],
      [{ pools: { normal: { members: [{ provider: 'P', model: 'm' }, { provider: 'p', model: 'm' }] } } }, 'pools.normal.members[1].model', 'this provider and model is already entry 0 of this list'],
      [{ prices: [{ match: 'x', input: 1, output: 1, cacheRead: 1 }] }, 'prices[0].cacheWrite', /USD per million tokens/], // the price table's own message
      [{ settings: { logRetentionDays: 0 } }, 'settings.logRetentionDays', 'must be an integer from 1 to 3650'],
      ['text', 'body', 'must be a mapping (a JSON object or a YAML document of key: value lines)'],
    ];
    for (const [doc, field, message] of table) {
      const e = refused(() => parseWith(configDocumentSchema, doc));
      expect(e.field, JSON.stringify(doc)).toBe(field);
      if (typeof message === 'string') expect(e.message).toBe(`${field}: ${message}`);
      else expect(e.message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: .*${message.source}`));
    }
  });
});

describe('the READMEs\' example document', () => {
  const env = { DEEPSEEK_API_KEY: 'sk-d', RELAY_KEY_1: 'sk-r1', RELAY_KEY_2: 'sk-r2', CI_ACCESS_KEY: 'sk-apg-0123456789abcdef0123456789abcdef' };
  for (const file of ['README.md', 'README.zh-CN.md']) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const yamlBlocks = [...text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    it(`${file}: the document is valid, its keys come from the environment, and the missing-variable line is the gateway's`, () => {
      const docs = yamlBlocks.filter((b) => b.includes('accessKeys:'));
      expect(docs).toHaveLength(1);
      const doc = parseWith(configDocumentSchema, substituteEnv(parseConfigText(docs[0]!), env));
      expect(doc.providers?.map((p) => [p.name, p.apiKey ?? p.apiKeys])).toEqual([['deepseek', 'sk-d'], ['claude-relay', ['sk-r1', 'sk-r2']]]);
      expect(doc.accessKeys?.[0]?.key).toBe(env.CI_ACCESS_KEY);
      expect(doc.pools?.normal?.members).toHaveLength(2);
      // the start-up line the README shows is the one a missing variable gives
      const e = refused(() => substituteEnv(parseConfigText(docs[0]!), { ...env, DEEPSEEK_API_KEY: undefined }));
      expect(text).toContain(`could not start: ${new ConfigFileError('/config/gateway.yaml', e.field, e.message).message}\n`);
      // the compose example sets CONFIG_FILE and mounts the file there
      const compose = yamlBlocks.filter((b) => b.includes('CONFIG_FILE'));
      expect(compose).toHaveLength(1);
      const service = (parseConfigText(compose[0]!) as any).services.gateway;
      expect(service.environment.CONFIG_FILE).toBe('/config/gateway.yaml');
      expect(service.volumes).toContain('./gateway.yaml:/config/gateway.yaml:ro');
    });
  }
});

// The UI's error explanations (web/src/errors/explain.ts): raw server text → {key, params}, and a
// message for every key in both languages.
import { describe, expect, it } from 'vitest';
import { EXPLAIN_KEYS, explainError, type ExplainKey } from '../../../web/src/errors/explain.js';
import { en } from '../../../web/src/i18n/en.js';
import { zhCN } from '../../../web/src/i18n/zh-CN.js';

type Row = [raw: string, status: number | null, key: ExplainKey | null, params?: Record<string, string | number>];

const table: Row[] = [
  // reaching the provider: the gateway's transport errors, a member's lastError, the test and model fetch
  ['ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', null, 'refusedAt', { target: '127.0.0.1:9' }],
  ['provider-wide: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', null, 'refusedAt', { target: '127.0.0.1:9' }],
  ['could not fetch the model list from P: ECONNREFUSED: connect ECONNREFUSED [::1]:8311', null, 'refusedAt', { target: '[::1]:8311' }],
  ['ECONNREFUSED', null, 'refused'],
  ['ENOTFOUND: getaddrinfo ENOTFOUND api.example.invalid', null, 'dnsHost', { host: 'api.example.invalid' }],
  ['provider-wide: EAI_AGAIN: getaddrinfo EAI_AGAIN relay.internal', null, 'dnsHost', { host: 'relay.internal' }],
  ['EHOSTUNREACH: connect EHOSTUNREACH 10.0.0.9:443', null, 'unreachable'],
  ['timeout (UND_ERR_CONNECT_TIMEOUT)', null, 'connectTimeout'],
  ['UND_ERR_CONNECT_TIMEOUT: Connect Timeout Error (attempted address: h:443, timeout: 10000ms)', null, 'connectTimeout'],
  ['ECONNRESET: read ECONNRESET', null, 'reset'],
  ['UND_ERR_SOCKET: other side closed', null, 'reset'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate', null, 'tls'],
  ['EPROTO: error:0A00010B:SSL routines::wrong version number', null, 'tls'],
  ['no answer within 30 s', null, 'timeoutAfter', { seconds: '30' }],
  ['no answer within 15 s', 502, 'timeoutAfter', { seconds: '15' }],
  ['timeout (ETIMEDOUT)', null, 'timeout'],
  ['no first event before UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS', null, 'firstByteTimeout'],
  ['no complete answer before UPSTREAM_TIMEOUT_SECONDS', null, 'totalTimeout'],
  ['upstream went silent', null, 'idleTimeout'],
  // what the provider answered, status in the text
  ['HTTP 401: invalid x-api-key', null, 'auth', { status: 401 }],
  ['provider-wide: HTTP 403: Your account does not have access', null, 'forbidden', { status: 403 }],
  ['HTTP 402: Insufficient Balance', null, 'quota', { status: 402 }],
  ['HTTP 429: You exceeded your current quota, please check your plan and billing details. insufficient_quota', null, 'quota', { status: 429 }],
  ['HTTP 429: Rate limit reached for requests', null, 'rateLimited', { status: 429 }],
  ['HTTP 500', null, 'serverError', { status: 500 }],
  ['HTTP 502: Bad Gateway', null, 'serverError', { status: 502 }],
  ['HTTP 529: Overloaded', null, 'overloaded', { status: 529 }],
  ['HTTP 503: Service Unavailable', null, 'overloaded', { status: 503 }],
  ['HTTP 404: The model `gpt-9` does not exist or you do not have access to it.', null, 'modelNotFound'],
  ['HTTP 404: model: claude-3-opus-20990101', null, 'modelNotFound'],
  ['HTTP 404: model "llama9" not found, try pulling it first', null, 'modelNotFound'],
  ['HTTP 404: 404 page not found', null, 'notFound', { status: 404 }],
  ['HTTP 400: Model Not Exist', null, 'modelNotFound'],
  ['HTTP 400: 模型不存在，请检查模型代码。', null, 'modelNotFound'],
  ['HTTP 400: max_tokens is too large', null, 'badRequest', { status: 400 }],
  ['error event rate_limit_error: slow down', null, 'rateLimited', { status: 429 }],
  ['error event authentication_error: invalid x-api-key', null, 'auth', { status: 401 }],
  ['error event overloaded_error: Overloaded', null, 'overloaded', { status: 529 }],
  ['HTTP 200 carrying an error: The model `x` does not exist', null, 'modelNotFound'],
  // the provider test: the upstream's own message, its status apart
  ['invalid x-api-key', 401, 'auth', { status: 401 }],
  ['Unknown model: gpt-9', 404, 'modelNotFound'],
  ['Not Found', 404, 'notFound', { status: 404 }],
  ['Internal Server Error', 500, 'serverError', { status: 500 }],
  ['', 429, 'rateLimited', { status: 429 }],
  ['prompt is too long: 210000 tokens > 200000 maximum', 400, 'contextTooLong'],
  ["This model's maximum context length is 128000 tokens", 400, 'contextTooLong'],
  ['the answer is not JSON: <!doctype html>', 200, 'notJson'],
  ['HTTP 200 with an unreadable body: <html>', null, 'notJson'],
  ['the answer has no "data" list of models', null, 'noModelList'],
  ['answer without any content (no text, thinking or tool call)', null, 'emptyAnswer'],
  ['mid-stream: upstream stream broke: ECONNRESET: read ECONNRESET', null, 'streamBroke'],
  // the gateway's own messages
  ['no member of the normal pool is ready; the first comes back in 42 s', null, 'noMember', { pool: 'normal' }],
  ['the tool pool has no members: add one in the admin UI', null, 'emptyPool', { pool: 'tool' }],
  ['model "gpt-4o" is not served here: ask for one of haiku, sonnet, opus (or a model id containing one of them)', 404, 'modelNotServed', { model: 'gpt-4o' }],
  ['the gateway is restarting (shutting down): this request was not taken; retry it', 503, 'restarting'],
  ['unknown field logbodies: did you mean logBodies? (known fields: logBodies, logBodyMaxBytes)', null, 'unknownFieldMeant', { field: 'logbodies', meant: 'logBodies' }],
  ['unknown field options.temperature (known fields: options.maxTokensField)', null, 'unknownField', { field: 'options.temperature' }],
  ['name: a provider named "Relay" already exists (id 3): choose another name, or edit that one', null, 'duplicateName', { name: 'Relay' }],
  ['apiKey: is required when baseUrl moves to another origin (http://a → http://b): …', null, 'keyForNewOrigin'],
  ['too many wrong passwords from this address; wait a minute', null, 'throttled'],
  ['password required: send {"password":"…"}', null, 'passwordRequired'],
  ['unknown route GET /admin/prices: see the admin API in the README', null, 'unknownRoute', { route: 'GET /admin/prices' }],
  ['the admin session expired: log in again', null, 'sessionExpired'],
  ['no such provider', null, 'gone'],
  ['logRetentionDays: must be an integer from 1 to 3650', null, 'fieldIntRange', { min: '1', max: '3650' }],
  ['baseUrl: must be an http:// or https:// URL', null, 'fieldUrl'],
  ['name: must be at most 100 characters', null, 'fieldTooLong', { n: '100' }],
  ['enabled: must be true or false', null, 'fieldBoolean'],
  ['name: is required', null, 'fieldRequired'],
  ['password: must be a string of 12 characters or more', null, 'fieldMinLength', { n: '12' }],
  ['expiresAt: is in the past', null, 'fieldPast'],
  // not recognised: shown as it is
  ['something odd happened', null, null],
  ['', null, null],
  ['the model list is empty', null, null],
];

describe('explainError', () => {
  for (const [raw, status, key, params] of table) {
    it(`${JSON.stringify(raw)}${status ? ` (${status})` : ''} → ${key ?? 'as it is'}`, () => {
      const e = explainError(raw, { status });
      if (key === null) expect(e).toBeNull();
      else {
        expect(e?.key).toBe(key);
        if (params) expect(e?.params).toEqual(params);
      }
    });
  }
  it('takes null and undefined', () => {
    expect(explainError(null)).toBeNull();
    expect(explainError(undefined, { status: null })).toBeNull();
  });
});

describe('explanations in both languages', () => {
  const dicts = { en: en as Record<string, string>, 'zh-CN': zhCN as Record<string, string> };
  for (const [lang, dict] of Object.entries(dicts)) {
    it(`${lang} has a message for every key, with the parameters it is given`, () => {
      for (const key of EXPLAIN_KEYS) {
        const message = dict[`explain.${key}`];
        expect(message, `explain.${key}`).toBeTruthy();
        for (const [, , k, params] of table) {
          if (k !== key || !params) continue;
          for (const p of message!.match(/\{(\w+)\}/g) ?? []) expect(Object.keys(params), `${lang} explain.${key} uses ${p}`).toContain(p.slice(1, -1));
        }
      }
      expect(dict['explain.raw']).toBeTruthy();
    });
  }
  it('the Chinese messages are Chinese', () => {
    for (const key of EXPLAIN_KEYS) expect(zhCN[`explain.${key}`], key).toMatch(/[\u4e00-\u9fff]/);
  });
});

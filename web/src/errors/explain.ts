// Raw error text (from a provider, from the network, or the gateway's own English messages) → what it
// means, as a message key and its parameters, so that the UI can say it in the reader's language and
// keep the raw text one click away. Pure (no React, no DOM): tested with a table in
// test/unit/web/explain.test.ts. Every key has a message `explain.<key>` in i18n/en.ts and zh-CN.ts.
//
// Where the texts come from: the gateway's transport errors (`ECONNREFUSED: connect ECONNREFUSED
// 127.0.0.1:9`, `timeout (UND_ERR_CONNECT_TIMEOUT)`), its upstream failures (`HTTP 401: …`,
// `error event rate_limit_error: …`), a member's lastError (`provider-wide: …`), the provider test
// (the upstream's own message, with the status given apart), and the admin API's own messages.

/** Every explanation there is; each has the message `explain.<key>` in i18n/en.ts and zh-CN.ts. */
export const EXPLAIN_KEYS = [
  // reaching the provider
  'refused', 'refusedAt', 'dns', 'dnsHost', 'unreachable', 'connectTimeout', 'reset', 'tls', 'timeout',
  'timeoutAfter', 'firstByteTimeout', 'totalTimeout', 'idleTimeout',
  // what the provider answered
  'auth', 'forbidden', 'quota', 'modelNotFound', 'notFound', 'rateLimited', 'overloaded', 'serverError',
  'badRequest', 'contextTooLong', 'emptyAnswer', 'streamBroke', 'notJson', 'noModelList',
  // the gateway's own messages
  'noMember', 'emptyPool', 'modelNotServed', 'restarting', 'unknownField', 'unknownFieldMeant',
  'duplicateName', 'keyForNewOrigin', 'throttled', 'passwordRequired', 'unknownRoute', 'sessionExpired',
  'gone',
  // admin API field messages
  'fieldRequired', 'fieldBoolean', 'fieldIntRange', 'fieldUrl', 'fieldTooLong', 'fieldMinLength',
  'fieldPast',
] as const;

export type ExplainKey = (typeof EXPLAIN_KEYS)[number];

export interface Explanation {
  key: ExplainKey;
  params: Record<string, string | number>;
}

const ex = (key: ExplainKey, params: Record<string, string | number> = {}): Explanation => ({ key, params });

/** Text rules, tried in order: the first whose pattern matches explains the text. */
const RULES: { re: RegExp; explain(m: RegExpMatchArray): Explanation }[] = [
  // The gateway's own messages (most specific first).
  { re: /unknown field (\S+?): did you mean (\S+?)\?/, explain: (m) => ex('unknownFieldMeant', { field: m[1]!, meant: m[2]! }) },
  { re: /unknown field (\S+?)(?:[\s:;,(]|$)/, explain: (m) => ex('unknownField', { field: m[1]! }) },
  { re: /a provider named "(.+?)" already exists/, explain: (m) => ex('duplicateName', { name: m[1]! }) },
  { re: /is required when baseUrl moves to another origin/, explain: () => ex('keyForNewOrigin') },
  { re: /too many wrong passwords/, explain: () => ex('throttled') },
  { re: /^password required/, explain: () => ex('passwordRequired') },
  { re: /unknown route (\S+ [^\s:]+)/, explain: (m) => ex('unknownRoute', { route: m[1]! }) },
  { re: /session expired/, explain: () => ex('sessionExpired') },
  { re: /^no such (provider|member|access key|log entry)/, explain: () => ex('gone') },
  { re: /\b(\w+) pool has no members?\b/, explain: (m) => ex('emptyPool', { pool: m[1]! }) },
  { re: /no member of the (\w+) pool is ready/, explain: (m) => ex('noMember', { pool: m[1]! }) },
  { re: /model "(.+?)" is not served here/, explain: (m) => ex('modelNotServed', { model: m[1]! }) },
  { re: /gateway is restarting/, explain: () => ex('restarting') },
  // Field messages of the admin API ("name: must be a non-empty string").
  { re: /must be an integer from (\d+) to (\d+)/, explain: (m) => ex('fieldIntRange', { min: m[1]!, max: m[2]! }) },
  { re: /must be (?:an )?http:\/\/ or https:\/\/ URL/, explain: () => ex('fieldUrl') },
  { re: /must be at most (\d+) characters/, explain: (m) => ex('fieldTooLong', { n: m[1]! }) },
  { re: /must be a string of (\d+) characters or more/, explain: (m) => ex('fieldMinLength', { n: m[1]! }) },
  { re: /^(?:\S+: )?is in the past$/, explain: () => ex('fieldPast') },
  { re: /^(?:\S+: )?must be true or false$/, explain: () => ex('fieldBoolean') },
  { re: /^(?:\S+: )?(?:is required|must be a non-empty string)$/, explain: () => ex('fieldRequired') },
  // A stream that broke after it began (whatever broke it).
  { re: /stream broke|ended before completion|mid-stream/, explain: () => ex('streamBroke') },
  // Reaching the provider.
  // (node names the address after the code: `connect ECONNREFUSED 127.0.0.1:9`, `getaddrinfo ENOTFOUND h`)
  { re: /ECONNREFUSED\s+([^\s,;)]+)/, explain: (m) => ex('refusedAt', { target: m[1]! }) },
  { re: /ECONNREFUSED/, explain: () => ex('refused') },
  { re: /(?:ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL)\s+([^\s,;)]+)/, explain: (m) => ex('dnsHost', { host: m[1]! }) },
  { re: /ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL/, explain: () => ex('dns') },
  { re: /EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN/, explain: () => ex('unreachable') },
  { re: /UND_ERR_CONNECT_TIMEOUT|Connect Timeout/i, explain: () => ex('connectTimeout') },
  { re: /ECONNRESET|EPIPE|UND_ERR_SOCKET|other side closed|socket hang up/i, explain: () => ex('reset') },
  { re: /CERT_|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO|ERR_SSL|wrong version number|certificate/i, explain: () => ex('tls') },
  { re: /UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS/, explain: () => ex('firstByteTimeout') },
  { re: /UPSTREAM_TIMEOUT_SECONDS/, explain: () => ex('totalTimeout') },
  { re: /UPSTREAM_IDLE_TIMEOUT_SECONDS|went silent/, explain: () => ex('idleTimeout') },
  { re: /no answer within (\d+) ?s\b/, explain: (m) => ex('timeoutAfter', { seconds: m[1]! }) },
  { re: /\btimeout \((?:ETIMEDOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)\)|ETIMEDOUT|\btimed? ?out\b/i, explain: () => ex('timeout') },
  // What came back.
  { re: /prompt is too long|context_length_exceeded|maximum context length|context window|上下文长度/i, explain: () => ex('contextTooLong') },
  { re: /without any content/, explain: () => ex('emptyAnswer') },
  { re: /not JSON|unreadable body/, explain: () => ex('notJson') },
  { re: /has no "data" list of models/, explain: () => ex('noModelList') },
];

/** A provider saying it does not have the model (OpenAI, Anthropic, DeepSeek, Ollama, Zhipu… wordings). */
const MODEL_MISSING = new RegExp(
  [
    'model_not_found',
    '模型不存在',
    '模型.{0,40}(?:不存在|不支持|无权)',
    // "The model `x` does not exist", "Model Not Exist", 'model "x" not found, try pulling it first'
    "\\bmodel\\b.{0,120}\\b(?:not[ _-]?found|does ?n[o']t exist|not exist|no such|unknown|invalid|unsupported|not supported|not available|do not have access|is not a valid)\\b",
    '\\b(?:unknown|invalid|unsupported|no such) model\\b',
    // Anthropic's 404 not_found_error names only the model: "model: claude-x"
    '(?:^|: )model: [\\w.:/@-]+$',
  ].join('|'),
  'i',
);

/** Upstream error types (Anthropic `error.type`, OpenAI `code`) → the HTTP status they stand for. */
const TYPE_STATUS: Record<string, number> = {
  authentication_error: 401, invalid_api_key: 401, unauthorized: 401,
  permission_error: 403, forbidden: 403,
  billing_error: 402, insufficient_quota: 402, payment_required: 402,
  not_found_error: 404, model_not_found: 404, not_found: 404,
  rate_limit_error: 429, rate_limit_exceeded: 429, too_many_requests: 429,
  overloaded_error: 529, overloaded: 529,
  api_error: 500, server_error: 500, internal_error: 500,
  timeout_error: 504,
};

const QUOTA = /insufficient_quota|quota|billing|balance|credit|余额|欠费|额度/i;

/** The upstream status a text carries: `HTTP 429`, `… 429 Too Many Requests`, or an error type it names. */
function statusIn(raw: string): number | null {
  const http = /\bHTTP (\d{3})\b/.exec(raw);
  if (http) return Number(http[1]);
  const type = /\b([a-z_]+_error|invalid_api_key|insufficient_quota|rate_limit_exceeded|model_not_found|overloaded)\b/.exec(raw);
  if (type && TYPE_STATUS[type[1]!] !== undefined) return TYPE_STATUS[type[1]!]!;
  return null;
}

function byStatus(status: number, raw: string): Explanation | null {
  if (status === 401) return ex('auth', { status });
  if (status === 403) return QUOTA.test(raw) ? ex('quota', { status }) : ex('forbidden', { status });
  if (status === 402) return ex('quota', { status });
  if (status === 404) return MODEL_MISSING.test(raw) ? ex('modelNotFound') : ex('notFound', { status });
  if (status === 408 || status === 504) return ex('timeout');
  if (status === 429) return QUOTA.test(raw) && !/rate.?limit/i.test(raw) ? ex('quota', { status }) : ex('rateLimited', { status });
  if (status === 529 || status === 503) return ex('overloaded', { status });
  if (status >= 500 && status <= 599) return ex('serverError', { status });
  if (status === 400 || status === 422) return MODEL_MISSING.test(raw) ? ex('modelNotFound') : ex('badRequest', { status });
  return null;
}

/**
 * What a raw error text means, or null when it is not recognised (show the raw text as it is).
 * `status`: the upstream HTTP status when it is known apart from the text (the provider test).
 */
export function explainError(raw: string | null | undefined, opts: { status?: number | null } = {}): Explanation | null {
  const text = (raw ?? '').trim();
  if (text === '' && !opts.status) return null;
  for (const rule of RULES) {
    const m = text.match(rule.re);
    if (m) return rule.explain(m);
  }
  const status = opts.status ?? statusIn(text);
  // A model-missing message with no status that says otherwise (an error event, a 200 carrying an error).
  if ((status === null || status < 400) && MODEL_MISSING.test(text)) return ex('modelNotFound');
  return status ? byStatus(status, text) : null;
}

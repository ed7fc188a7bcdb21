import { describe, expect, it } from 'vitest';
import { anthropicErrorType, errorBody, openaiErrorType, statusForError } from '../../src/protocol/errors.js';

/** The one error-kind table: upstream type/code → status, and status → each format's type. */
describe('statusForError', () => {
  it.each([
    // [type, code, status]
    ['overloaded_error', undefined, 529],
    ['server_error', 'overloaded', 529], // the code is the more specific
    ['rate_limit_error', undefined, 429],
    [undefined, 'rate_limit_exceeded', 429],
    ['insufficient_quota', 'insufficient_quota', 429], // OpenAI's exhausted quota arrives as HTTP 429
    ['authentication_error', undefined, 401],
    ['invalid_request_error', 'invalid_api_key', 401],
    ['permission_error', undefined, 403],
    ['not_found_error', undefined, 404],
    ['invalid_request_error', 'model_not_found', 404],
    ['billing_error', undefined, 402],
    ['timeout_error', undefined, 504],
    ['request_too_large', undefined, 413],
    ['invalid_request_error', undefined, 400],
    ['invalid_request_error', 'context_length_exceeded', 400],
    ['api_error', undefined, 500],
    ['server_error', null, 500],
    ['error', 503, 503], // a numeric code is the status
    [undefined, '429', 429],
    ['upstream_rate_limit', undefined, 429], // a name containing a known one
    ['Overloaded', undefined, 529], // any case
    ['some_new_error', undefined, 502], // unplaceable: a bad answer from upstream
    ['openai_api_failure', undefined, 502], // (not taken for `api_error`)
    [undefined, undefined, 502],
  ])('%s / %s → %i', (type, code, status) => {
    expect(statusForError(type, code)).toBe(status);
  });
});

describe('status → type, both formats', () => {
  it.each([
    [400, 'invalid_request_error', 'invalid_request_error', null],
    [401, 'authentication_error', 'authentication_error', 'invalid_api_key'],
    [402, 'billing_error', 'insufficient_quota', 'insufficient_quota'],
    [403, 'permission_error', 'permission_error', null],
    [404, 'not_found_error', 'invalid_request_error', 'model_not_found'],
    [408, 'timeout_error', 'timeout', 'timeout'],
    [413, 'request_too_large', 'invalid_request_error', 'request_too_large'],
    [422, 'invalid_request_error', 'invalid_request_error', null],
    [429, 'rate_limit_error', 'rate_limit_error', 'rate_limit_exceeded'],
    [500, 'api_error', 'server_error', null],
    [502, 'api_error', 'server_error', null],
    [503, 'overloaded_error', 'server_error', 'overloaded'],
    [504, 'timeout_error', 'timeout', 'timeout'],
    [529, 'overloaded_error', 'server_error', 'overloaded'],
    [418, 'invalid_request_error', 'invalid_request_error', null],
  ])('%i → %s / %s (%s)', (status, anthropic, openaiType, code) => {
    expect(anthropicErrorType(status)).toBe(anthropic);
    expect(openaiErrorType(status)).toEqual({ type: openaiType, code });
    expect(errorBody('anthropic', status, 'm')).toEqual({ type: 'error', error: { type: anthropic, message: 'm' } });
    expect(errorBody('openai', status, 'm')).toEqual({ error: { message: 'm', type: openaiType, param: null, code } });
  });

  it('every status a type reads as gives that type back (the table is one table)', () => {
    for (const t of ['overloaded_error', 'rate_limit_error', 'authentication_error', 'permission_error', 'not_found_error', 'billing_error', 'timeout_error', 'request_too_large', 'invalid_request_error', 'api_error']) {
      expect(anthropicErrorType(statusForError(t))).toBe(t);
    }
  });
});

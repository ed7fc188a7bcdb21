import { describe, it, expect } from 'vitest';
import { getConverter } from '../../../src/protocol/convert/index.js';

const a2o = getConverter('anthropic', 'openai')!; // Anthropic client, OpenAI upstream
const o2a = getConverter('openai', 'anthropic')!; // OpenAI client, Anthropic upstream

const oaiErr = (message: string, code: string | null = null, type = 'invalid_request_error') =>
  JSON.stringify({ error: { message, type, param: null, code } });

describe('errors (§8 cases 56–57, §4)', () => {
  it('case 56: OpenAI 400 "maximum context length" → Anthropic 400 invalid_request_error "prompt is too long"', () => {
    const e = a2o.error(400, oaiErr("This model's maximum context length is 128000 tokens. However, your messages resulted in 130211 tokens.", 'context_length_exceeded'));
    expect(e.status).toBe(400);
    expect(e.body.type).toBe('error');
    const err = e.body.error as { type: string; message: string };
    expect(err.type).toBe('invalid_request_error');
    expect(err.message.toLowerCase()).toContain('prompt is too long');
    expect(err.message).toContain('130211 tokens > 128000 maximum');
  });

  it.each([
    ['code only', oaiErr('Input too big', 'context_length_exceeded')],
    ['context length wording', oaiErr('Requested tokens exceed context length of 32768')],
    ['too many tokens', oaiErr('too many tokens in prompt')],
    ['413 from a proxy', oaiErr('input is too long for the model')],
  ])('case 56b: context overflow (%s) → prompt is too long', (_name, body) => {
    const e = a2o.error(_name === '413 from a proxy' ? 413 : 400, body);
    expect(e.status).toBe(400);
    expect((e.body.error as any).type).toBe('invalid_request_error');
    expect((e.body.error as any).message.toLowerCase()).toContain('prompt is too long');
  });

  it('case 57: same-format routes have no converter, so Anthropic errors pass byte-identical', () => {
    expect(getConverter('anthropic', 'anthropic')).toBeNull();
    expect(getConverter('openai', 'openai')).toBeNull();
  });

  it.each([
    [401, 'authentication_error'], [403, 'permission_error'], [404, 'not_found_error'], [429, 'rate_limit_error'],
    [500, 'api_error'], [502, 'api_error'], [503, 'overloaded_error'], [504, 'timeout_error'], [400, 'invalid_request_error'],
  ])('OpenAI %i → Anthropic %s, status kept, message kept', (status, type) => {
    const e = a2o.error(status, oaiErr('upstream says no', null, 'whatever'));
    expect(e.status).toBe(status);
    expect(e.body).toEqual({ type: 'error', error: { type, message: 'upstream says no' } });
  });

  it('non-JSON upstream body → Anthropic shape with the HTTP status and a snippet', () => {
    const e = a2o.error(502, '<html><body>Bad gateway</body></html>');
    expect(e.status).toBe(502);
    expect((e.body.error as any).type).toBe('api_error');
    expect((e.body.error as any).message).toContain('502');
    expect((e.body.error as any).message).toContain('Bad gateway');
  });

  it('Anthropic errors → OpenAI shape; status kept; 529 → 503', () => {
    const overloaded = o2a.error(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    expect(overloaded.status).toBe(503);
    expect(overloaded.body).toEqual({ error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' } });
    const rl = o2a.error(429, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }));
    expect(rl.status).toBe(429);
    expect(rl.body).toEqual({ error: { message: 'slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } });
    const bad = o2a.error(400, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: too big' } }));
    expect(bad.status).toBe(400);
    expect((bad.body.error as any).type).toBe('invalid_request_error');
    expect((bad.body as any).type).toBeUndefined();
  });

  it('Anthropic "prompt is too long" → OpenAI context_length_exceeded code', () => {
    const e = o2a.error(400, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } }));
    expect(e.body).toEqual({ error: { message: 'prompt is too long: 210000 tokens > 200000 maximum', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
  });
});

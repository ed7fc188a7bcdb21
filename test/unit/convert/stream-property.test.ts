/**
 * Property tests: random valid upstream streams, in every provider dialect the translators claim to
 * handle, must come out as streams the official SDKs accept and accumulate into exactly the answer
 * that went in.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { getConverter } from '../../../src/protocol/convert/index.js';
import {
  anthropicEvents, anthropicSdkFinalMessage, anthropicSse, checkAnthropicStream, ctxOf, openaiLines, openaiSdkFinalCompletion,
  openaiSse, translate,
} from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,7}$/);
const argsObject = fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 });
/** Whitespace-only content often leads the text (or precedes tool calls): held until visible text follows. */
const lead = fc.constantFrom('', '', ' ', '\n\n');

/** Splits a string into 1..n pieces (empty pieces allowed only when asked). */
function splitAt(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * s.length)))].filter((p) => p > 0 && p < s.length).sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    // never cut a surrogate pair in half (the wire carries JSON-escaped UTF-16 either way, but keep it readable)
    if (/[\uDC00-\uDFFF]/.test(s[p]!)) continue;
    out.push(s.slice(prev, p));
    prev = p;
  }
  out.push(s.slice(prev));
  return out;
}
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 });

interface ToolSpec {
  id: string;
  name: string;
  args: Record<string, unknown>;
  /** how the call is delivered */
  mode: 'standard' | 'argsInOpening' | 'whole';
  cuts: number[];
}

const toolSpec = fc.record({
  name: fc.constantFrom('Read', 'Bash', 'Grep', 'Write', 'mcp__srv__do_thing'),
  args: argsObject,
  mode: fc.constantFrom<'standard' | 'argsInOpening' | 'whole'>('standard', 'argsInOpening', 'whole'),
  cuts,
});

const scenario = fc.record({
  reasoning: fc.option(text, { nil: undefined }),
  reasoningField: fc.constantFrom('reasoning_content', 'reasoning'),
  reasoningCuts: cuts,
  text: fc.option(text, { nil: undefined }),
  textCuts: cuts,
  textLead: lead,
  tools: fc.array(toolSpec, { maxLength: 4 }),
  indexing: fc.constantFrom<'indexed' | 'reuse' | 'noIndex'>('indexed', 'reuse', 'noIndex'),
  interleave: fc.boolean(),
  interleaveSeed: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
  groupWhole: fc.boolean(),
  roleChunk: fc.constantFrom<'none' | 'empty' | 'null'>('none', 'empty', 'null'),
  usage: fc.constantFrom<'never' | 'finishChunk' | 'trailingEmpty' | 'trailingNull' | 'trailingMissing' | 'first'>(
    'never', 'finishChunk', 'trailingEmpty', 'trailingNull', 'trailingMissing', 'first',
  ),
  finishOnLast: fc.boolean(),
  finish: fc.constantFrom('stop', 'length', 'tool_calls'),
  done: fc.boolean(),
  split: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
}).map((s) => ({ ...s, tools: s.tools.map((t, i): ToolSpec => ({ ...t, id: `call_${i}_${t.name.length}` })) }));

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const USAGE = { prompt_tokens: 1500, completion_tokens: 321, total_tokens: 1821, prompt_tokens_details: { cached_tokens: 1000 } };

/** Builds the OpenAI chunk list for a scenario. */
function buildChunks(s: Scenario): Array<Record<string, unknown> | string> {
  const deltas: Array<Record<string, unknown>> = [];
  if (s.roleChunk !== 'none') deltas.push({ role: 'assistant', content: s.roleChunk === 'empty' ? '' : null });
  if (s.reasoning) for (const p of splitAt(s.reasoning, s.reasoningCuts)) deltas.push({ [s.reasoningField]: p });
  if (s.textLead) deltas.push({ content: s.textLead });
  if (s.text) for (const p of splitAt(s.text, s.textCuts)) deltas.push({ content: p });

  // tool fragments, per tool in order; then optionally interleaved (indexed mode only)
  const perTool: Array<Array<Record<string, unknown>>> = s.tools.map((t, i) => {
    const json = JSON.stringify(t.args);
    const idx = s.indexing === 'indexed' ? { index: i } : s.indexing === 'reuse' ? { index: 0 } : {};
    if (t.mode === 'whole') return [{ ...idx, id: t.id, type: 'function', function: { name: t.name, arguments: json } }];
    const pieces = splitAt(json, t.cuts);
    const frags: Array<Record<string, unknown>> = [];
    if (t.mode === 'standard') {
      frags.push({ ...idx, id: t.id, type: 'function', function: { name: t.name, arguments: '' } });
      for (const p of pieces) frags.push({ ...idx, function: { arguments: p } });
    } else {
      frags.push({ ...idx, id: t.id, type: 'function', function: { name: t.name, arguments: pieces[0] } });
      for (const p of pieces.slice(1)) frags.push({ ...idx, function: { arguments: p } });
    }
    return frags;
  });

  const toolDeltas: Array<Array<Record<string, unknown>>> = [];
  if (s.indexing === 'indexed' && s.interleave) {
    const queues = perTool.map((f) => [...f]);
    let k = 0;
    while (queues.some((q) => q.length > 0)) {
      const live = queues.filter((q) => q.length > 0);
      const q = live[s.interleaveSeed[k++ % s.interleaveSeed.length]! % live.length]!;
      toolDeltas.push([q.shift()!]);
    }
  } else if (s.groupWhole && s.tools.length > 1 && s.tools.every((t) => t.mode === 'whole') && s.indexing !== 'reuse') {
    toolDeltas.push(perTool.map((f) => f[0]!)); // all calls in one delta (Gemini)
  } else {
    for (const f of perTool) for (const frag of f) toolDeltas.push([frag]);
  }
  for (const tcs of toolDeltas) deltas.push({ tool_calls: tcs });

  // with tools any finish, `length` included (a tool call cut off by the token limit); without, no `tool_calls`
  const finish = s.tools.length > 0 ? s.finish : s.finish === 'tool_calls' ? 'stop' : s.finish;
  const base = { id: 'chatcmpl-p', object: 'chat.completion.chunk', created: 1, model: 'm' };
  const chunks: Array<Record<string, unknown> | string> = deltas.map((d) => ({ ...base, choices: [{ index: 0, delta: d, finish_reason: null }] }));
  if (s.finishOnLast && chunks.length > 0) {
    ((chunks.at(-1) as any).choices[0]).finish_reason = finish;
  } else {
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  }
  switch (s.usage) {
    case 'finishChunk': (chunks.at(-1) as any).usage = USAGE; break;
    case 'trailingEmpty': chunks.push({ ...base, choices: [], usage: USAGE }); break;
    case 'trailingNull': chunks.push({ ...base, choices: null, usage: USAGE }); break;
    case 'trailingMissing': chunks.push({ ...base, usage: USAGE }); break;
    case 'first': (chunks[0] as any).usage = USAGE; break;
    default: break;
  }
  if (s.done) chunks.push('[DONE]');
  return chunks;
}

function expectedStop(s: Scenario): string {
  if (s.finish === 'length') return 'max_tokens'; // also with a tool call in progress: never tool_use
  return s.tools.length > 0 ? 'tool_use' : 'end_turn';
}

const hasVisible = (t: string | undefined): t is string => t !== undefined && t.trim() !== '';

// ---------------------------------------------------------------------------------------------

describe('property: OpenAI upstream → Anthropic client, checked by the Anthropic SDK', () => {
  const conv = getConverter('anthropic', 'openai')!;

  it('every valid chunk sequence becomes a well-formed stream whose final message equals the input', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const upstream = openaiSse(buildChunks(s));
        const t = conv.stream(ctxOf({ estimatedInputTokens: 77 }));
        const out = translate(t, upstream, { split: s.split });
        const events = anthropicEvents(out);
        expect(checkAnthropicStream(events).ended).toBe('stop'); // strict grammar (the SDK is lenient)

        const msg = await anthropicSdkFinalMessage(out);
        const thinking = msg.content.filter((b) => b.type === 'thinking');
        const texts = msg.content.filter((b) => b.type === 'text');
        const tools = msg.content.filter((b) => b.type === 'tool_use');

        if (s.reasoning) {
          expect(thinking).toHaveLength(1);
          expect(thinking[0]!.type === 'thinking' && thinking[0]!.thinking).toBe(s.reasoning);
          expect(msg.content[0]!.type).toBe('thinking');
        } else {
          expect(thinking).toHaveLength(0);
        }
        const fullText = s.textLead + (s.text ?? '');
        if (hasVisible(fullText)) {
          expect(texts).toHaveLength(1);
          expect(texts[0]!.type === 'text' && texts[0]!.text).toBe(fullText);
        } else {
          expect(texts).toHaveLength(0);
        }
        expect(tools).toHaveLength(s.tools.length);
        const byId = new Map(tools.map((b) => [b.type === 'tool_use' ? b.id : '', b]));
        for (const spec of s.tools) {
          const b = byId.get(spec.id);
          expect(b, `tool ${spec.id}`).toBeDefined();
          expect(b!.type === 'tool_use' && b!.name).toBe(spec.name);
          expect(b!.type === 'tool_use' && b!.input).toEqual(JSON.parse(JSON.stringify(spec.args)));
        }
        expect(msg.stop_reason).toBe(expectedStop(s));
        for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const) {
          expect(Number.isInteger(msg.usage[k])).toBe(true);
        }
        if (s.usage !== 'never') {
          expect(msg.usage).toMatchObject({ input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 321 });
        } else {
          expect(msg.usage.input_tokens).toBe(77);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a stream cut before its finish always ends in an error frame, never a fake message_stop', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.double({ min: 0, max: 1, noNaN: true }), async (s, at) => {
        const chunks = buildChunks({ ...s, done: false, finishOnLast: false, usage: 'never' }).slice(0, -1); // drop the finish chunk
        const kept = chunks.slice(0, Math.floor(at * (chunks.length + 1)));
        const out = translate(conv.stream(ctxOf()), openaiSse(kept));
        const events = anthropicEvents(out);
        expect(events.at(-1)!.event).toBe('error');
        expect(events.some((e) => e.data.type === 'message_stop')).toBe(false);
        if (events.length > 1) expect(checkAnthropicStream(events).ended).toBe('error');
        await expect(anthropicSdkFinalMessage(out)).rejects.toThrow();
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

const aScenario = fc.record({
  thinking: fc.option(text, { nil: undefined }),
  thinkingCuts: cuts,
  text: fc.option(text, { nil: undefined }),
  textCuts: cuts,
  tools: fc.array(fc.record({ name: fc.constantFrom('Read', 'Bash', 'Grep'), args: argsObject, cuts, inStart: fc.boolean() }), { maxLength: 4 }),
  stop: fc.constantFrom('end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'refusal'),
  includeUsage: fc.boolean(),
  pings: fc.boolean(),
});
type AScenario = typeof aScenario extends fc.Arbitrary<infer T> ? T : never;

function buildEvents(s: AScenario): Array<{ type: string } & Record<string, unknown>> {
  const ev: Array<{ type: string } & Record<string, unknown>> = [{
    type: 'message_start',
    message: { id: 'msg_p', type: 'message', role: 'assistant', model: 'c', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 40, cache_read_input_tokens: 60, cache_creation_input_tokens: 5, output_tokens: 1 } },
  }];
  let i = 0;
  if (s.pings) ev.push({ type: 'ping' });
  if (s.thinking) {
    ev.push({ type: 'content_block_start', index: i, content_block: { type: 'thinking', thinking: '', signature: '' } });
    for (const p of splitAt(s.thinking, s.thinkingCuts)) ev.push({ type: 'content_block_delta', index: i, delta: { type: 'thinking_delta', thinking: p } });
    ev.push({ type: 'content_block_delta', index: i, delta: { type: 'signature_delta', signature: 'sig' } });
    ev.push({ type: 'content_block_stop', index: i++ });
  }
  if (s.text) {
    ev.push({ type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } });
    for (const p of splitAt(s.text, s.textCuts)) ev.push({ type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: p } });
    ev.push({ type: 'content_block_stop', index: i++ });
  }
  s.tools.forEach((t, k) => {
    if (t.inStart) {
      ev.push({ type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: `toolu_${k}`, name: t.name, input: t.args } });
    } else {
      ev.push({ type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: `toolu_${k}`, name: t.name, input: {} } });
      ev.push({ type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: '' } });
      for (const p of splitAt(JSON.stringify(t.args), t.cuts)) ev.push({ type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: p } });
    }
    ev.push({ type: 'content_block_stop', index: i++ });
  });
  if (s.pings) ev.push({ type: 'ping' });
  ev.push({ type: 'message_delta', delta: { stop_reason: s.stop, stop_sequence: null }, usage: { output_tokens: 99 } });
  ev.push({ type: 'message_stop' });
  return ev;
}

const FINISH: Record<string, string> = { end_turn: 'stop', max_tokens: 'length', stop_sequence: 'stop', tool_use: 'tool_calls', refusal: 'content_filter' };

describe('property: Anthropic upstream → OpenAI client, checked by the OpenAI SDK', () => {
  const conv = getConverter('openai', 'anthropic')!;

  it('every valid event sequence accumulates into the same content, tool calls and finish reason', async () => {
    await fc.assert(
      fc.asyncProperty(aScenario, async (s) => {
        const ctx = ctxOf({ clientModel: 'gpt-4o', upstreamModel: 'claude', includeUsage: s.includeUsage });
        const out = translate(conv.stream(ctx), anthropicSse(buildEvents(s)));
        const lines = openaiLines(out);
        expect(lines.at(-1)).toBe('[DONE]');
        const chunks = lines.filter((l): l is Record<string, any> => l !== '[DONE]');
        // tool indices dense from 0, each first fragment carries id + name
        const frags = chunks.flatMap((c) => (c.choices[0]?.delta?.tool_calls ?? []) as any[]);
        const seen: number[] = [];
        for (const f of frags) {
          if (!seen.includes(f.index)) {
            expect(f.index).toBe(seen.length);
            expect(typeof f.id).toBe('string');
            expect(typeof f.function.name).toBe('string');
            seen.push(f.index);
          }
        }
        expect(seen.length).toBe(s.tools.length);
        const reasoning = chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
        expect(reasoning).toBe(s.thinking ?? '');

        const completion = await openaiSdkFinalCompletion(out);
        const m = completion.choices[0]!.message;
        expect(m.content ?? '').toBe(s.text ?? '');
        expect((m.tool_calls ?? []).map((t) => (t.type === 'function' ? [t.id, t.function.name, JSON.parse(t.function.arguments)] : null))).toEqual(
          s.tools.map((t, k) => [`toolu_${k}`, t.name, JSON.parse(JSON.stringify(t.args))]),
        );
        expect(completion.choices[0]!.finish_reason).toBe(FINISH[s.stop]);
        if (s.includeUsage) {
          expect(completion.usage).toMatchObject({ prompt_tokens: 105, completion_tokens: 99, total_tokens: 204 });
        } else {
          expect(completion.usage).toBeUndefined();
        }
      }),
      { numRuns: 200 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/protocol/sse.js';

describe('SseParser', () => {
  it('parses events split anywhere across chunks, keeping the raw block', () => {
    const text = 'event: message_start\ndata: {"a":1}\n\nevent: ping\ndata: {"type":"ping"}\n\ndata: [DONE]\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const evs = [...p.push(Buffer.from(text.slice(0, cut))), ...p.push(Buffer.from(text.slice(cut))), ...p.end()];
      expect(evs.map((e) => [e.event, e.data])).toEqual([['message_start', '{"a":1}'], ['ping', '{"type":"ping"}'], [undefined, '[DONE]']]);
      expect(evs.map((e) => e.raw).join('')).toBe(text);
    }
  });
  it('handles CRLF and CR line ends, multi-line data and comments', () => {
    const p = new SseParser();
    const evs = p.push('data: a\r\ndata: b\r\n\r\n: keep-alive\r\n\r\nevent: x\rdata: y\r\r');
    expect(evs.map((e) => [e.event, e.data])).toEqual([[undefined, 'a\nb'], [undefined, ''], ['x', 'y']]);
  });
  it('does not break a multi-byte character split between chunks', () => {
    const bytes = Buffer.from('data: 你好\n\n');
    const p = new SseParser();
    const evs = [...p.push(bytes.subarray(0, 8)), ...p.push(bytes.subarray(8))];
    expect(evs[0].data).toBe('你好');
  });
  it('returns a last event without a trailing blank line at end()', () => {
    const p = new SseParser();
    expect(p.push('data: x')).toEqual([]);
    expect(p.end().map((e) => e.data)).toEqual(['x']);
  });
  it('"data:" without a space and a field without a colon', () => {
    const p = new SseParser();
    expect(p.push('data:x\nevent\n\n').map((e) => [e.event, e.data])).toEqual([['', 'x']]);
  });
});

/** A Claude Code–shaped request (~80 KB: 24 tools, long system prompt, long tool-use history). */
export function claudeCodeBody(): Record<string, unknown> {
  const para = (n: number, seed: string) =>
    Array.from({ length: n }, (_, i) => `${seed} ${i}: Use the dedicated tools for file operations; never guess paths. Prefer small, verifiable steps and report results concisely.`).join('\n');
  const schema = (i: number) => ({
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    additionalProperties: false,
    required: ['path', 'mode'],
    properties: {
      path: { type: 'string', description: `The absolute path of the file or directory to operate on (tool ${i}). Must not be relative.` },
      mode: { type: 'string', enum: ['read', 'write', 'append', 'list', 'stat'], description: 'What to do with the path.' },
      offset: { type: 'number', description: 'The line number to start reading from. Only provide if the file is too large to read at once.' },
      limit: { type: 'number', description: 'The number of lines to read. Only provide if the file is too large to read at once.' },
      options: {
        type: 'object',
        properties: {
          recursive: { type: 'boolean', description: 'Descend into sub-directories.' },
          pattern: { type: 'string', description: 'A glob pattern the entries must match, like "**/*.ts".' },
          ignore: { type: 'array', items: { type: 'string' }, description: 'Glob patterns to leave out.' },
        },
      },
    },
  });
  const tools = Array.from({ length: 24 }, (_, i) => ({
    name: i === 23 ? `mcp__very_long_server_name_for_testing__tool_with_an_extremely_long_descriptive_name_${i}` : `Tool${i}`,
    description: para(6, `Tool ${i} description`),
    input_schema: schema(i),
    ...(i === 23 ? { cache_control: { type: 'ephemeral' } } : {}),
  }));
  const messages: Array<Record<string, unknown>> = [
    { role: 'user', content: [{ type: 'text', text: `<system-reminder>\n${para(20, 'reminder')}\n</system-reminder>` }, { type: 'text', text: 'Refactor the relay so that failover is tested.', cache_control: { type: 'ephemeral' } }] },
  ];
  for (let t = 0; t < 18; t++) {
    messages.push({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: para(2, `thinking ${t}`), signature: 'EqQBCgIYAhIM'.repeat(8) },
        { type: 'text', text: `Step ${t}: reading the next file.` },
        { type: 'tool_use', id: `toolu_01${String(t).padStart(22, '0')}`, name: `Tool${t % 24}`, input: { path: `/work/main/src/file${t}.ts`, mode: 'read', options: { recursive: false } } },
      ],
    });
    messages.push({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: `toolu_01${String(t).padStart(22, '0')}`, content: [{ type: 'text', text: para(8, `file ${t} line`) }] },
        ...(t % 5 === 0 ? [{ type: 'text', text: '<system-reminder>The todo list changed.</system-reminder>' }] : []),
      ],
    });
  }
  messages.push({ role: 'system', content: 'Context was compacted; continue.' });
  messages.push({ role: 'user', content: 'Now run the tests.' });
  return {
    model: 'claude-sonnet-4-5-20250929',
    max_tokens: 32000,
    stream: true,
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.0; cc_entrypoint=cli;' },
      { type: 'text', text: `You are Claude Code, Anthropic's official CLI for Claude.\n${para(60, 'system rule')}`, cache_control: { type: 'ephemeral' } },
    ],
    messages,
    tools,
    tool_choice: { type: 'auto' },
    metadata: { user_id: `user_${'a'.repeat(64)}_account_00000000-0000-0000-0000-000000000000_session_11111111-1111-1111-1111-111111111111` },
    thinking: { type: 'enabled', budget_tokens: 31999 },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
  };
}

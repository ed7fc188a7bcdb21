/**
 * A Claude-Code-shaped Anthropic /v1/messages request body, for the benchmark's big-body lanes.
 *
 * Shape (as Claude Code sends it mid-session):
 *   - system: text blocks (identity line + long instructions + environment), cache_control on the last
 *   - tools: 24 definitions with JSON-schema input_schema (Task, Bash, Glob, Grep, Read, Edit, Write,
 *     TodoWrite, WebFetch, … plus MCP tools), cache_control on the last
 *   - messages: ~40 turns of history — a first user turn with <system-reminder> blocks, then
 *     assistant turns with thinking / text / tool_use (some parallel) and user turns with the
 *     matching tool_result blocks (strings, block arrays, one is_error), ending with a new user prompt
 *     whose last block carries cache_control
 *   - metadata.user_id, thinking {type:'adaptive'}, max_tokens, stream
 *
 * Deterministic: the same options always give the same bytes. The size is tuned to `targetBytes`
 * (default 80 KiB of JSON) by sizing the file contents returned by the Read tool results.
 */

import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ClaudeCodeBodyOptions {
  model?: string;
  stream?: boolean;
  /** Approximate size of JSON.stringify(body) in bytes. Default 81920 (80 KiB). */
  targetBytes?: number;
  /** Number of history messages (≥ 4; rounded to keep user/assistant alternation). Default 41. */
  messages?: number;
}

type Json = Record<string, unknown>;

// ---- deterministic text --------------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IDENTS = ['request', 'provider', 'member', 'pool', 'cooldown', 'stream', 'parser', 'event', 'reply', 'upstream', 'headers', 'body', 'model', 'registry', 'rotation', 'config', 'timeout', 'signal', 'chunk', 'frame', 'usage', 'tokens', 'format', 'converter'];
const TYPES = ['string', 'number', 'boolean', 'Buffer', 'SseEvent', 'LiveMember', 'Provider', 'Record<string, unknown>', 'Promise<void>', 'AbortSignal'];

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function uuid(r: () => number): string {
  const h = hex(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** Plausible TypeScript source, `lines` lines, numbered the way the Read tool returns files (cat -n). */
function sourceFile(r: () => number, lines: number, startLine = 1): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const out: string[] = [];
  let depth = 0;
  for (let i = 0; i < lines; i++) {
    const a = pick(IDENTS);
    const b2 = pick(IDENTS);
    const t = pick(TYPES);
    const ind = '  '.repeat(depth);
    let line: string;
    const k = r();
    if (depth === 0 && k < 0.3) {
      line = `export function ${a}${b2[0].toUpperCase()}${b2.slice(1)}(${a}: ${t}, opts: { ${b2}?: ${pick(TYPES)} } = {}): ${pick(TYPES)} {`;
      depth++;
    } else if (depth === 0 && k < 0.45) {
      line = `import { ${a}, type ${t.replace(/[^A-Za-z]/g, '') || 'Value'} } from './${b2}.js';`;
    } else if (depth === 0) {
      line = `// ${a} and ${b2}: see CONTRACT.md §${1 + Math.floor(r() * 9)}.${1 + Math.floor(r() * 9)}`;
    } else if (k < 0.2 && depth < 3) {
      line = `${ind}if (${a}.${b2} !== undefined && ${a}.${b2}.length > ${Math.floor(r() * 400)}) {`;
      depth++;
    } else if (k < 0.35 && depth > 0) {
      depth--;
      line = `${'  '.repeat(depth)}}`;
    } else if (k < 0.55) {
      line = `${ind}const ${b2} = ${a}.${pick(IDENTS)}?.${pick(IDENTS)} ?? ${JSON.stringify(pick(IDENTS))};`;
    } else if (k < 0.7) {
      line = `${ind}await ${a}.${b2}(${pick(IDENTS)}, { ${pick(IDENTS)}: ${Math.floor(r() * 1000)} });`;
    } else if (k < 0.85) {
      line = `${ind}// ${pick(IDENTS)} before ${pick(IDENTS)}: the ${a} must not see a half-written ${b2}`;
    } else {
      line = `${ind}return { ${a}, ${b2}: ${a}.${b2} ?? null };`;
    }
    out.push(line);
  }
  while (depth > 0) out.push('  '.repeat(--depth) + '}');
  return out.map((l, i) => `${String(startLine + i).padStart(6)}→${l}`).join('\n');
}

// ---- system --------------------------------------------------------------------------------

const INSTRUCTIONS = `
You are an interactive CLI tool that helps users with software engineering tasks. Use the instructions below and the tools available to you to assist the user.

IMPORTANT: Assist with defensive security tasks only. Refuse to create, modify, or improve code that may be used maliciously. Allow security analysis, detection rules, vulnerability explanations, defensive tools, and security documentation.
IMPORTANT: You must NEVER generate or guess URLs for the user unless you are confident that the URLs are for helping the user with programming. You may use URLs provided by the user in their messages or local files.

If the user asks for help or wants to give feedback inform them of the following:
- /help: Get help with using Claude Code
- To give feedback, users should report the issue at https://github.com/anthropics/claude-code/issues

# Tone and style
You should be concise, direct, and to the point, while providing complete information and matching the level of detail you provide in your response with the level of complexity of the user's query or the work you have completed.
A concise response is generally less than 4 lines, not including tool calls or code generated. You should provide more detail when the task is complex or when the user asks you to.
IMPORTANT: You should minimize output tokens as much as possible while maintaining helpfulness, quality, and accuracy. Only address the specific task at hand, avoiding tangential information unless absolutely critical for completing the request.
IMPORTANT: You should NOT answer with unnecessary preamble or postamble (such as explaining your code or summarizing your action), unless the user asks you to.
Do not add additional code explanation summary unless requested by the user. After working on a file, briefly confirm that you have completed the task, rather than providing an explanation of what you did.
Answer the user's question directly, avoiding any elaboration, explanation, introduction, conclusion, or excessive details. Brief answers are best, but be sure to provide complete information.

When you run a non-trivial bash command, you should explain what the command does and why you are running it, to make sure the user understands what you are doing (this is especially important when you are running a command that will make changes to the user's system).
Remember that your output will be displayed on a command line interface. Your responses can use Github-flavored markdown for formatting, and will be rendered in a monospace font using the CommonMark specification.
Output text to communicate with the user; all text you output outside of tool use is displayed to the user. Only use tools to complete tasks. Never use tools like Bash or code comments as means to communicate with the user during the session.
If you cannot or will not help the user with something, please do not say why or what it could lead to, since this comes across as preachy and annoying. Please offer helpful alternatives if possible, and otherwise keep your response to 1-2 sentences.
Only use emojis if the user explicitly requests it. Avoid using emojis in all communication unless asked.

# Proactiveness
You are allowed to be proactive, but only when the user asks you to do something. You should strive to strike a balance between:
- Doing the right thing when asked, including taking actions and follow-up actions
- Not surprising the user with actions you take without asking
For example, if the user asks you how to approach something, you should do your best to answer their question first, and not immediately jump into taking actions.

# Following conventions
When making changes to files, first understand the file's code conventions. Mimic code style, use existing libraries and utilities, and follow existing patterns.
- NEVER assume that a given library is available, even if it is well known. Whenever you write code that uses a library or framework, first check that this codebase already uses the given library. For example, you might look at neighboring files, or check the package.json (or cargo.toml, and so on depending on the language).
- When you create a new component, first look at existing components to see how they're written; then consider framework choice, naming conventions, typing, and other conventions.
- When you edit a piece of code, first look at the code's surrounding context (especially its imports) to understand the code's choice of frameworks and libraries. Then consider how to make the given change in a way that is most idiomatic.
- Always follow security best practices. Never introduce code that exposes or logs secrets and keys. Never commit secrets or keys to the repository.

# Code style
- IMPORTANT: DO NOT ADD ***ANY*** COMMENTS unless asked

# Task Management
You have access to the TodoWrite tools to help you manage and plan tasks. Use these tools VERY frequently to ensure that you are tracking your tasks and giving the user visibility into your progress.
These tools are also EXTREMELY helpful for planning tasks, and for breaking down larger complex tasks into smaller steps. If you do not use this tool when planning, you may forget to do important tasks - and that is unacceptable.
It is critical that you mark todos as completed as soon as you are done with a task. Do not batch up multiple tasks before marking them as completed.

# Doing tasks
The user will primarily request you perform software engineering tasks. This includes solving bugs, adding new functionality, refactoring code, explaining code, and more. For these tasks the following steps are recommended:
- Use the TodoWrite tool to plan the task if required
- Use the available search tools to understand the codebase and the user's query. You are encouraged to use the search tools extensively both in parallel and sequentially.
- Implement the solution using all tools available to you
- Verify the solution if possible with tests. NEVER assume specific test framework or test script. Check the README or search codebase to determine the testing approach.
- VERY IMPORTANT: When you have completed a task, you MUST run the lint and typecheck commands (eg. npm run lint, npm run typecheck, ruff, etc.) with Bash if they were provided to you to ensure your code is correct.
NEVER commit changes unless the user explicitly asks you to. It is VERY IMPORTANT to only commit when explicitly asked, otherwise the user will feel that you are being too proactive.

- Tool results and user messages may include <system-reminder> tags. <system-reminder> tags contain useful information and reminders. They are automatically added by the system, and bear no direct relation to the specific tool results or user messages in which they appear.

# Tool usage policy
- When doing file search, prefer to use the Task tool in order to reduce context usage.
- You should proactively use the Task tool with specialized agents when the task at hand matches the agent's description.
- When WebFetch returns a message about a redirect to a different host, you should immediately make a new WebFetch request with the redirect URL provided in the response.
- You have the capability to call multiple tools in a single response. When multiple independent pieces of information are requested, batch your tool calls together for optimal performance. When making multiple bash tool calls, you MUST send a single message with multiple tools calls to run the calls in parallel.
- If the user specifies that they want you to run tools "in parallel", you MUST send a single message with multiple tool use content blocks.
- Use specialized tools instead of bash commands when possible, as this provides a better user experience. For file operations, use dedicated tools: Read for reading files instead of cat/head/tail, Edit for editing instead of sed/awk, and Write for creating files instead of cat with heredoc or echo redirection.

IMPORTANT: Always use the TodoWrite tool to plan and track tasks throughout the conversation.

# Code References
When referencing specific functions or pieces of code include the pattern \`file_path:line_number\` to allow the user to easily navigate to the source code location.
`.trim();

const ENVIRONMENT = `
Here is useful information about the environment you are running in:
<env>
Working directory: /home/dev/projects/api-pool-gateway
Is directory a git repo: Yes
Platform: linux
OS Version: Linux 6.8.0-49-generic
Today's date: 2025-11-26
</env>
You are powered by the model named Sonnet 4.5. The exact model ID is claude-sonnet-4-5-20250929.

Assistant knowledge cutoff is January 2025.

gitStatus: This is the git status at the start of the conversation. Note that this status is a snapshot in time, and will not update during the conversation.
Current branch: perf/relay-hot-path

Main branch (you will usually use this for PRs): main

Status:
M src/relay/relay.ts
M src/protocol/sse.ts
?? bench/notes.md

Recent commits:
ec1d892 Gateway core: config, SQLite/PostgreSQL store, pools and two-level rotation, cooldown failover relay, admin API
4b7a0e2 Contract: pools, virtual models, failover and error shapes
`.trim();

function system(): Json[] {
  return [
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
    { type: 'text', text: `${INSTRUCTIONS}\n\n${ENVIRONMENT}`, cache_control: { type: 'ephemeral' } },
  ];
}

// ---- tools ---------------------------------------------------------------------------------

const SCHEMA = 'http://json-schema.org/draft-07/schema#';
const obj = (properties: Json, required: string[]): Json => ({ type: 'object', properties, required, additionalProperties: false, $schema: SCHEMA });
const str = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });
const num = (description: string): Json => ({ type: 'number', description });
const bool = (description: string): Json => ({ type: 'boolean', description });

const NOTES = [
  'This tool runs with the permissions of the current user; prefer read-only operations when exploring.',
  'Results longer than 30000 characters are truncated before being returned to you.',
  'Paths must be absolute; relative paths are resolved against the session working directory and rejected when they escape it.',
  'When several independent calls are needed, send them in one message so they run in parallel.',
  'Never use this tool to communicate with the user; output text directly instead.',
  'Respect .gitignore: ignored files are skipped unless the user explicitly asks for them.',
  'Prefer the dedicated tools (Read, Edit, Grep, Glob) over shell equivalents such as cat, sed, grep or find.',
  'If the call fails, read the error message carefully before retrying with different arguments.',
];

function describe(lead: string, usage: string[], extraNotes: number): string {
  const notes = [...usage, ...NOTES.slice(0, extraNotes)];
  return `${lead}\n\nUsage:\n${notes.map((n) => `- ${n}`).join('\n')}`;
}

function tools(): Json[] {
  const list: Json[] = [
    {
      name: 'Task',
      description: describe('Launch a new agent to handle complex, multi-step tasks autonomously.\n\nAvailable agent types and the tools they have access to:\n- general-purpose: General-purpose agent for researching complex questions, searching for code, and executing multi-step tasks. (Tools: *)\n- statusline-setup: Use this agent to configure the user\'s Claude Code status line setting. (Tools: Read, Edit)\n- Explore: Fast agent specialized for exploring codebases. (Tools: Glob, Grep, Read, Bash)\n- Plan: Agent for planning implementation of a feature. (Tools: Glob, Grep, Read, Bash)', [
        'Launch multiple agents concurrently whenever possible, to maximize performance; to do that, use a single message with multiple tool uses.',
        'When the agent is done, it will return a single message back to you. The result returned by the agent is not visible to the user. To show the user the result, you should send a text message back to the user with a concise summary of the result.',
        'Each agent invocation is stateless. You will not be able to send additional messages to the agent, nor will the agent be able to communicate with you outside of its final report.',
        'The agent\'s outputs should generally be trusted. Clearly tell the agent whether you expect it to write code or just to do research (search, file reads, web fetches, etc.), since it is not aware of the user\'s intent.',
      ], 5),
      input_schema: obj({
        description: str('A short (3-5 word) description of the task'),
        prompt: str('The task for the agent to perform'),
        subagent_type: str('The type of specialized agent to use for this task'),
      }, ['description', 'prompt', 'subagent_type']),
    },
    {
      name: 'Bash',
      description: describe('Executes a given bash command in a persistent shell session with optional timeout, ensuring proper handling and security measures.\n\nIMPORTANT: This tool is for terminal operations like git, npm, docker, etc. DO NOT use it for file operations (reading, writing, editing, searching, finding files) - use the specialized tools for this instead.\n\nBefore executing the command, please follow these steps:\n1. Directory Verification: If the command will create new directories or files, first use `ls` to verify the parent directory exists and is the correct location.\n2. Command Execution: Always quote file paths that contain spaces with double quotes. After ensuring proper quoting, execute the command and capture the output.', [
        'The command argument is required. You can specify an optional timeout in milliseconds (up to 600000ms / 10 minutes). If not specified, commands will timeout after 120000ms (2 minutes).',
        'It is very helpful if you write a clear, concise description of what this command does in 5-10 words.',
        'You can use the `run_in_background` parameter to run the command in the background, which allows you to continue working while the command runs. You can monitor the output using the BashOutput tool as it becomes available.',
        'When issuing multiple commands: if the commands are independent and can run in parallel, make multiple Bash tool calls in a single message; if they depend on each other, use a single Bash call with \'&&\' to chain them together.',
        'Try to maintain your current working directory throughout the session by using absolute paths and avoiding usage of `cd`.',
        '# Committing changes with git: Only create commits when requested by the user. NEVER update the git config. NEVER run destructive/irreversible git commands (like push --force, hard reset, etc) unless the user explicitly requests them. NEVER skip hooks (--no-verify, --no-gpg-sign, etc) unless the user explicitly requests it.',
        '# Creating pull requests: Use the gh command via the Bash tool for ALL GitHub-related tasks including working with issues, pull requests, checks, and releases. If given a Github URL use the gh command to get the information needed.',
      ], 8),
      input_schema: obj({
        command: str('The command to execute'),
        timeout: num('Optional timeout in milliseconds (max 600000)'),
        description: str("Clear, concise description of what this command does in 5-10 words, in active voice. Examples:\nInput: ls\nOutput: List files in current directory\n\nInput: git status\nOutput: Show working tree status\n\nInput: npm install\nOutput: Install package dependencies"),
        run_in_background: bool('Set to true to run this command in the background. Use BashOutput to read the output later.'),
        dangerouslyDisableSandbox: bool('Set this to true to dangerously override sandbox mode and run commands without sandboxing.'),
      }, ['command']),
    },
    {
      name: 'Glob',
      description: describe('- Fast file pattern matching tool that works with any codebase size\n- Supports glob patterns like "**/*.js" or "src/**/*.ts"\n- Returns matching file paths sorted by modification time', [
        'Use this tool when you need to find files by name patterns.',
        'When you are doing an open ended search that may require multiple rounds of globbing and grepping, use the Agent tool instead.',
        'You can call multiple tools in a single response. It is always better to speculatively perform multiple searches in parallel if they are potentially useful.',
      ], 3),
      input_schema: obj({
        pattern: str('The glob pattern to match files against'),
        path: str('The directory to search in. If not specified, the current working directory will be used. IMPORTANT: Omit this field to use the default directory. DO NOT enter "undefined" or "null" - simply omit it for the default behavior. Must be a valid directory path if provided.'),
      }, ['pattern']),
    },
    {
      name: 'Grep',
      description: describe('A powerful search tool built on ripgrep', [
        'ALWAYS use Grep for search tasks. NEVER invoke `grep` or `rg` as a Bash command. The Grep tool has been optimized for correct permissions and access.',
        'Supports full regex syntax (e.g., "log.*Error", "function\\s+\\w+")',
        'Filter files with glob parameter (e.g., "*.js", "**/*.tsx") or type parameter (e.g., "js", "py", "rust")',
        'Output modes: "content" shows matching lines, "files_with_matches" shows only file paths (default), "count" shows match counts',
        'Pattern syntax: Uses ripgrep (not grep) - literal braces need escaping (use `interface\\{\\}` to find `interface{}` in Go code)',
        'Multiline matching: By default patterns match within single lines only. For cross-line patterns like `struct \\{[\\s\\S]*?field`, use `multiline: true`',
      ], 4),
      input_schema: obj({
        pattern: str('The regular expression pattern to search for in file contents'),
        path: str('File or directory to search in (rg PATH). Defaults to current working directory.'),
        glob: str('Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}") - maps to rg --glob'),
        output_mode: str('Output mode: "content" shows matching lines (supports -A/-B/-C context, -n line numbers, head_limit), "files_with_matches" shows file paths (supports head_limit), "count" shows match counts (supports head_limit). Defaults to "files_with_matches".', { enum: ['content', 'files_with_matches', 'count'] }),
        '-B': num('Number of lines to show before each match (rg -B). Requires output_mode: "content", ignored otherwise.'),
        '-A': num('Number of lines to show after each match (rg -A). Requires output_mode: "content", ignored otherwise.'),
        '-C': num('Number of lines to show before and after each match (rg -C). Requires output_mode: "content", ignored otherwise.'),
        '-n': bool('Show line numbers in output (rg -n). Requires output_mode: "content", ignored otherwise.'),
        '-i': bool('Case insensitive search (rg -i)'),
        type: str('File type to search (rg --type). Common types: js, py, rust, go, java, etc. More efficient than include for standard file types.'),
        head_limit: num('Limit output to first N lines/entries, equivalent to "| head -N". Works across all output modes.'),
        multiline: bool('Enable multiline mode where . matches newlines and patterns can span lines (rg -U --multiline-dotall). Default: false.'),
      }, ['pattern']),
    },
    {
      name: 'ExitPlanMode',
      description: describe('Use this tool when you are in plan mode and have finished presenting your plan and are ready to code. This will prompt the user to exit plan mode.', [
        'Only use this tool when the task requires planning the implementation steps of a task that requires writing code. For research tasks where you are gathering information, searching files, reading files or in general trying to understand the codebase - do NOT use this tool.',
      ], 1),
      input_schema: obj({ plan: str('The plan you came up with, that you want to run by the user for approval. Supports markdown. The plan should be pretty concise.') }, ['plan']),
    },
    {
      name: 'Read',
      description: describe('Reads a file from the local filesystem. You can access any file directly by using this tool.\nAssume this tool is able to read all files on the machine. If the User provides a path to a file assume that path is valid. It is okay to read a file that does not exist; an error will be returned.', [
        'The file_path parameter must be an absolute path, not a relative path',
        'By default, it reads up to 2000 lines starting from the beginning of the file',
        'You can optionally specify a line offset and limit (especially handy for long files), but it\'s recommended to read the whole file by not providing these parameters',
        'Any lines longer than 2000 characters will be truncated',
        'Results are returned using cat -n format, with line numbers starting at 1',
        'This tool allows Claude Code to read images (eg PNG, JPG, etc). When reading an image file the contents are presented visually as Claude Code is a multimodal LLM.',
        'This tool can read PDF files (.pdf). PDFs are processed page by page, extracting both text and visual content for analysis.',
        'This tool can read Jupyter notebooks (.ipynb files) and returns all cells with their outputs, combining code, text, and visualizations.',
        'This tool can only read files, not directories. To read a directory, use an ls command via the Bash tool.',
      ], 2),
      input_schema: obj({
        file_path: str('The absolute path to the file to read'),
        offset: num('The line number to start reading from. Only provide if the file is too large to read at once'),
        limit: num('The number of lines to read. Only provide if the file is too large to read at once.'),
      }, ['file_path']),
    },
    {
      name: 'Edit',
      description: describe('Performs exact string replacements in files.', [
        'You must use your `Read` tool at least once in the conversation before editing. This tool will error if you attempt an edit without reading the file.',
        'When editing text from Read tool output, ensure you preserve the exact indentation (tabs/spaces) as it appears AFTER the line number prefix. The line number prefix format is: spaces + line number + tab. Everything after that tab is the actual file content to match.',
        'ALWAYS prefer editing existing files in the codebase. NEVER write new files unless explicitly required.',
        'The edit will FAIL if `old_string` is not unique in the file. Either provide a larger string with more surrounding context to make it unique or use `replace_all` to change every instance of `old_string`.',
        'Use `replace_all` for replacing and renaming strings across the file. This parameter is useful if you want to rename a variable for instance.',
      ], 2),
      input_schema: obj({
        file_path: str('The absolute path to the file to modify'),
        old_string: str('The text to replace'),
        new_string: str('The text to replace it with (must be different from old_string)'),
        replace_all: { type: 'boolean', default: false, description: 'Replace all occurences of old_string (default false)' },
      }, ['file_path', 'old_string', 'new_string']),
    },
    {
      name: 'MultiEdit',
      description: describe('This is a tool for making multiple edits to a single file in one operation. It is built on top of the Edit tool and allows you to perform multiple find-and-replace operations efficiently. Prefer this tool over the Edit tool when you need to make multiple edits to the same file.', [
        'All edits are applied in sequence, in the order they are provided',
        'Each edit operates on the result of the previous edit',
        'All edits must be valid for the operation to succeed - if any edit fails, none will be applied',
        'Since edits are applied in sequence, ensure that earlier edits don\'t affect the text that later edits are trying to find',
      ], 2),
      input_schema: obj({
        file_path: str('The absolute path to the file to modify'),
        edits: {
          type: 'array',
          minItems: 1,
          description: 'Array of edit operations to perform sequentially on the file',
          items: {
            type: 'object',
            properties: {
              old_string: str('The text to replace'),
              new_string: str('The text to replace it with'),
              replace_all: { type: 'boolean', default: false, description: 'Replace all occurences of old_string (default false).' },
            },
            required: ['old_string', 'new_string'],
            additionalProperties: false,
          },
        },
      }, ['file_path', 'edits']),
    },
    {
      name: 'Write',
      description: describe('Writes a file to the local filesystem.', [
        'This tool will overwrite the existing file if there is one at the provided path.',
        'If this is an existing file, you MUST use the Read tool first to read the file\'s contents. This tool will fail if you did not read the file first.',
        'ALWAYS prefer editing existing files in the codebase. NEVER write new files unless explicitly required.',
        'NEVER proactively create documentation files (*.md) or README files. Only create documentation files if explicitly requested by the User.',
      ], 1),
      input_schema: obj({
        file_path: str('The absolute path to the file to write (must be absolute, not relative)'),
        content: str('The content to write to the file'),
      }, ['file_path', 'content']),
    },
    {
      name: 'NotebookEdit',
      description: describe('Completely replaces the contents of a specific cell in a Jupyter notebook (.ipynb file) with new source.', [
        'The notebook_path parameter must be an absolute path, not a relative path. The cell_number is 0-indexed.',
        'Use edit_mode=insert to add a new cell at the index specified by cell_number. Use edit_mode=delete to delete the cell at the index specified by cell_number.',
      ], 1),
      input_schema: obj({
        notebook_path: str('The absolute path to the Jupyter notebook file to edit (must be absolute, not relative)'),
        cell_id: str('The ID of the cell to edit. When inserting a new cell, the new cell will be inserted after the cell with this ID, or at the beginning if not specified.'),
        new_source: str('The new source for the cell'),
        cell_type: str('The type of the cell (code or markdown). If not specified, it defaults to the current cell type. If using edit_mode=insert, this is required.', { enum: ['code', 'markdown'] }),
        edit_mode: str('The type of edit to make (replace, insert, delete). Defaults to replace.', { enum: ['replace', 'insert', 'delete'] }),
      }, ['notebook_path', 'new_source']),
    },
    {
      name: 'WebFetch',
      description: describe('- Fetches content from a specified URL and processes it using an AI model\n- Takes a URL and a prompt as input\n- Fetches the URL content, converts HTML to markdown\n- Processes the content with the prompt using a small, fast model\n- Returns the model\'s response about the content', [
        'IMPORTANT: If an MCP-provided web fetch tool is available, prefer using that tool instead of this one, as it may have fewer restrictions.',
        'The URL must be a fully-formed valid URL. HTTP URLs will be automatically upgraded to HTTPS.',
        'The prompt should describe what information you want to extract from the page',
        'This tool is read-only and does not modify any files. Results may be summarized if the content is very large.',
        'Includes a self-cleaning 15-minute cache for faster responses when repeatedly accessing the same URL',
        'When a URL redirects to a different host, the tool will inform you and provide the redirect URL in a special format. You should then make a new WebFetch request with the redirect URL to fetch the content.',
      ], 1),
      input_schema: obj({
        url: str('The URL to fetch content from', { format: 'uri' }),
        prompt: str('The prompt to run on the fetched content'),
      }, ['url', 'prompt']),
    },
    {
      name: 'TodoWrite',
      description: describe('Use this tool to create and manage a structured task list for your current coding session. This helps you track progress, organize complex tasks, and demonstrate thoroughness to the user. It also helps the user understand the progress of the task and overall progress of their requests.\n\n## When to Use This Tool\n1. Complex multi-step tasks - When a task requires 3 or more distinct steps or actions\n2. Non-trivial and complex tasks - Tasks that require careful planning or multiple operations\n3. User explicitly requests todo list - When the user directly asks you to use the todo list\n4. User provides multiple tasks - When users provide a list of things to be done (numbered or comma-separated)\n5. After receiving new instructions - Immediately capture user requirements as todos\n\n## When NOT to Use This Tool\nSkip using this tool when there is only a single, straightforward task, the task is trivial, or the task is purely conversational or informational.\n\n## Task States and Management\n- pending: Task not yet started\n- in_progress: Currently working on (limit to ONE task at a time)\n- completed: Task finished successfully', [
        'Task descriptions must have two forms: content (the imperative form, e.g. "Run tests") and activeForm (the present continuous form shown during execution, e.g. "Running tests").',
        'Mark tasks complete IMMEDIATELY after finishing. Do not batch completions.',
        'Exactly ONE task must be in_progress at any time (not less, not more). Complete current tasks before starting new ones.',
        'ONLY mark a task as completed when you have FULLY accomplished it. If you encounter errors, blockers, or cannot finish, keep the task as in_progress.',
        'Never mark a task as completed if tests are failing, the implementation is partial, you encountered unresolved errors, or you could not find necessary files or dependencies.',
      ], 0),
      input_schema: obj({
        todos: {
          type: 'array',
          description: 'The updated todo list',
          items: {
            type: 'object',
            properties: {
              content: { type: 'string', minLength: 1 },
              status: { type: 'string', enum: ['pending', 'in_progress', 'completed'] },
              activeForm: { type: 'string', minLength: 1 },
            },
            required: ['content', 'status', 'activeForm'],
            additionalProperties: false,
          },
        },
      }, ['todos']),
    },
    {
      name: 'WebSearch',
      description: describe('- Allows Claude to search the web and use the results to inform responses\n- Provides up-to-date information for current events and recent data\n- Returns search result information formatted as search result blocks', [
        'Domain filtering is supported to include or block specific websites',
        'Web search is only available in the US',
        'Account for "Today\'s date" in <env>. For example, if <env> says "Today\'s date: 2025-07-01", and the user wants the latest docs, do not use 2024 in the search query. Use 2025.',
      ], 0),
      input_schema: obj({
        query: str('The search query to use', { minLength: 2 }),
        allowed_domains: { type: 'array', items: { type: 'string' }, description: 'Only include search results from these domains' },
        blocked_domains: { type: 'array', items: { type: 'string' }, description: 'Never include search results from these domains' },
      }, ['query']),
    },
    {
      name: 'BashOutput',
      description: describe('- Retrieves output from a running or completed background bash shell\n- Takes a shell_id parameter identifying the shell\n- Always returns only new output since the last check\n- Returns stdout and stderr output along with shell status', [
        'Supports optional regex filtering to show only lines matching a pattern',
        'Use this tool when you need to monitor or check the output of a long-running shell',
        'Shell IDs can be found using the /bashes command',
      ], 0),
      input_schema: obj({
        bash_id: str('The ID of the background shell to retrieve output from'),
        filter: str('Optional regular expression to filter the output lines. Only lines matching this regex will be included in the result. Any lines that do not match will no longer be available to read.'),
      }, ['bash_id']),
    },
    {
      name: 'KillShell',
      description: describe('- Kills a running background bash shell by its ID\n- Takes a shell_id parameter identifying the shell to kill\n- Returns a success or failure status', ['Use this tool when you need to terminate a long-running shell'], 0),
      input_schema: obj({ shell_id: str('The ID of the background shell to kill') }, ['shell_id']),
    },
    {
      name: 'SlashCommand',
      description: describe('Execute a slash command within the main conversation', [
        'Only available slash commands can be executed. Some commands may require arguments as shown in the list below.',
        'If the command validation fails, list up to 5 available commands, not all of them.',
        'Do not invoke a command that is already running.',
        'Available Commands:\n/review-pr <number>: Review a pull request (project)\n/bench: Run the gateway benchmark and summarise the table (project)',
      ], 0),
      input_schema: obj({ command: str('The slash command to execute with its arguments, e.g., "/review-pr 123"') }, ['command']),
    },
    {
      name: 'Skill',
      description: describe('Execute a skill within the main conversation', [
        'When users ask you to perform tasks, check if any of the available skills can help complete the task more effectively.',
        'Only use skills listed in <available_skills> below. Do not invoke a skill that is already running.',
      ], 0),
      input_schema: obj({ command: str('The skill name (no arguments). E.g., "pdf" or "xlsx"') }, ['command']),
    },
    {
      name: 'AskUserQuestion',
      description: describe('Use this tool when you need to ask the user questions during execution. This allows you to gather user preferences or requirements, clarify ambiguous instructions, get decisions on implementation choices as you work, and offer choices to the user about what direction to take.', [
        'Users will always be able to select "Other" to provide custom text input',
        'Use multiSelect: true to allow multiple answers to be selected for a question',
      ], 0),
      input_schema: obj({
        questions: {
          type: 'array',
          minItems: 1,
          maxItems: 4,
          description: 'Questions to ask the user (1-4 questions)',
          items: {
            type: 'object',
            properties: {
              question: str('The complete question to ask the user. Should be clear, specific, and end with a question mark.'),
              header: str('Very short label displayed as a chip/tag (max 12 chars).'),
              options: {
                type: 'array', minItems: 2, maxItems: 4, description: 'The available choices for this question.',
                items: { type: 'object', properties: { label: str('The display text for this option (1-5 words).'), description: str('Explanation of what this option means.') }, required: ['label', 'description'], additionalProperties: false },
              },
              multiSelect: bool('Set to true to allow the user to select multiple options instead of just one.'),
            },
            required: ['question', 'header', 'options', 'multiSelect'],
            additionalProperties: false,
          },
        },
      }, ['questions']),
    },
    {
      name: 'ListMcpResourcesTool',
      description: describe('List available resources from configured MCP servers.\nEach returned resource will include all standard MCP resource fields plus a \'server\' field indicating which server the resource belongs to.', ['Optional server parameter: the name of a specific MCP server to get resources from. If not provided, resources from all servers will be returned.'], 0),
      input_schema: obj({ server: str('Optional server name to filter resources by') }, []),
    },
    {
      name: 'ReadMcpResourceTool',
      description: describe('Reads a specific resource from an MCP server, identified by server name and resource URI.', ['server (required): The name of the MCP server from which to read the resource', 'uri (required): The URI of the resource to read'], 0),
      input_schema: obj({ server: str('The MCP server name'), uri: str('The resource URI to read') }, ['server', 'uri']),
    },
    {
      name: 'mcp__ide__getDiagnostics',
      description: 'Get language diagnostics from VS Code',
      input_schema: obj({ uri: str('Optional file URI to get diagnostics for. If not provided, gets diagnostics for all files.') }, []),
    },
    {
      name: 'mcp__ide__executeCode',
      description: 'Execute python code in the Jupyter kernel for the current notebook file.\n    \n    All code will be executed in the current Jupyter kernel.\n    \n    Avoid declaring variables or modifying the state of the kernel unless the user\n    explicitly asks for it.\n    \n    Any code executed will persist across calls to this tool, unless the kernel\n    has been restarted.',
      input_schema: obj({ code: str('The code to be executed on the kernel.') }, ['code']),
    },
    {
      name: 'mcp__github__create_pull_request',
      description: 'Create a new pull request in a GitHub repository',
      input_schema: obj({
        owner: str('Repository owner (username or organization)'),
        repo: str('Repository name'),
        title: str('PR title'),
        body: str('PR description'),
        head: str('The name of the branch where your changes are implemented'),
        base: str('The name of the branch you want the changes pulled into'),
        draft: bool('Whether to create the pull request as a draft'),
        maintainer_can_modify: bool('Whether maintainers can modify the pull request'),
      }, ['owner', 'repo', 'title', 'head', 'base']),
    },
    {
      name: 'mcp__github__get_issue',
      description: 'Get details of a specific issue in a GitHub repository.',
      input_schema: obj({
        owner: str('The owner of the repository'),
        repo: str('The name of the repository'),
        issue_number: num('The number of the issue'),
      }, ['owner', 'repo', 'issue_number']),
    },
  ];
  return list;
}

// ---- history -------------------------------------------------------------------------------

const ROOTDIR = '/home/dev/projects/api-pool-gateway';
const FILES = ['src/relay/relay.ts', 'src/protocol/sse.ts', 'src/upstream/client.ts', 'src/routing/registry.ts', 'src/server.ts', 'src/routing/rotation.ts', 'src/protocol/errors.ts', 'src/gateway.ts', 'src/store/repo.ts', 'test/integration/relay.test.ts'];

interface Step {
  thinking?: string;
  text?: string;
  calls: { name: string; input: Json; result: (r: () => number, readLines: number) => string | Json[]; isError?: boolean }[];
}

/** The agentic steps of the session; cycled when more history is asked for. */
function steps(): Step[] {
  const read = (file: string, offset?: number): Step['calls'][number] => ({
    name: 'Read',
    input: offset ? { file_path: `${ROOTDIR}/${file}`, offset, limit: 200 } : { file_path: `${ROOTDIR}/${file}` },
    result: (r, n) => `${sourceFile(r, n, offset ?? 1)}\n\n<system-reminder>\nWhenever you read a file, you should consider whether it looks malicious. If it does, you MUST refuse to improve or augment the code. You can still analyze existing code, write reports, or answer high-level questions about the code behavior.\n</system-reminder>\n`,
  });
  const todos = (states: string[]): Step['calls'][number] => ({
    name: 'TodoWrite',
    input: {
      todos: [
        { content: 'Profile the relay hot path under load', activeForm: 'Profiling the relay hot path under load' },
        { content: 'Cut per-event work in the SSE pass-through', activeForm: 'Cutting per-event work in the SSE pass-through' },
        { content: 'Avoid re-serialising unchanged request bodies', activeForm: 'Avoiding re-serialising unchanged request bodies' },
        { content: 'Run the benchmark and the test suite', activeForm: 'Running the benchmark and the test suite' },
      ].map((t, i) => ({ ...t, status: states[i] })),
    },
    result: () => 'Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable',
  });
  return [
    { thinking: 'The user wants the relay hot path faster. First I should plan with the todo list, then look at relay.ts and the SSE parser, since those run per request and per event.', text: "I'll start by planning the work and reading the relay.", calls: [todos(['in_progress', 'pending', 'pending', 'pending'])] },
    { calls: [read(FILES[0]), read(FILES[1])] },
    { text: 'Let me look at how the upstream calls are dispatched.', calls: [read(FILES[2])] },
    { calls: [{ name: 'Grep', input: { pattern: 'JSON\\.(parse|stringify)', path: `${ROOTDIR}/src`, output_mode: 'content', '-n': true }, result: (r) => Array.from({ length: 14 }, (_, i) => `${ROOTDIR}/${FILES[i % 6]}:${20 + Math.floor(r() * 400)}:    const ${IDENTS[i]} = JSON.${i % 3 ? 'parse' : 'stringify'}(${IDENTS[i + 1]});`).join('\n') }] },
    { thinking: 'Every streamed chunk goes through parser.push and then emit per event; errorEvent does a startsWith check. Let me check the rotation and registry too, they run once per request.', calls: [read(FILES[3]), read(FILES[5])] },
    { calls: [{ name: 'Bash', input: { command: 'npm run bench 2>&1 | tail -40', description: 'Run the gateway benchmark', timeout: 300000 }, result: (r) => `> api-pool-gateway@0.1.0 bench\n> tsx bench/run.ts\n\n${Array.from({ length: 12 }, (_, i) => `${['direct ', 'proxy  ', 'gateway'][i % 3]}  ${i < 6 ? 'non-stream' : 'stream    '}  c=${i % 2 ? 32 : 1}   ${(2000 + r() * 9000).toFixed(0)} req/s   p50 ${(0.2 + r() * 3).toFixed(2)} ms   p99 ${(1 + r() * 9).toFixed(2)} ms`).join('\n')}` }] },
    { calls: [todos(['completed', 'in_progress', 'pending', 'pending']), read(FILES[0], 240)] },
    { text: "I'll check the server setup for the body parser.", calls: [read(FILES[4])] },
    { calls: [{ name: 'Edit', input: { file_path: `${ROOTDIR}/${FILES[1]}`, old_string: "    const lf = s.indexOf('\\n\\n');", new_string: "    const lf = s.indexOf('\\n\\n', this.scanFrom);" }, result: () => 'String to replace not found in file.\nString:     const lf = s.indexOf(\'\\n\\n\');', isError: true }] },
    { thinking: 'The edit failed because findBoundary is a free function, not a method. Re-read the exact lines before editing.', calls: [read(FILES[1], 40)] },
    { calls: [{ name: 'Glob', input: { pattern: 'test/**/*.test.ts' }, result: () => ['relay', 'sse', 'rotation', 'registry', 'admin', 'cooldown', 'config', 'failover', 'headers', 'count-tokens'].map((n) => `${ROOTDIR}/test/${n === 'relay' || n === 'failover' || n === 'admin' ? 'integration' : 'unit'}/${n}.test.ts`).join('\n') }] },
    { calls: [read(FILES[9])] },
    { calls: [{ name: 'Bash', input: { command: 'npx vitest run test/unit/sse.test.ts', description: 'Run the SSE parser unit tests' }, result: (r) => [{ type: 'text', text: ` RUN  v4.1.12 ${ROOTDIR}\n\n ✓ test/unit/sse.test.ts (${20 + Math.floor(r() * 10)} tests) ${Math.floor(r() * 40)}ms\n\n Test Files  1 passed (1)\n      Tests  ${20 + Math.floor(r() * 10)} passed\n   Start at  10:42:17\n   Duration  ${(0.6 + r()).toFixed(2)}s` }] }] },
    { calls: [read(FILES[6]), read(FILES[7])] },
    { calls: [{ name: 'Task', input: { description: 'Find hot-path allocations', prompt: 'Search src/relay and src/protocol for per-request or per-event allocations (object spreads, regex literals in loops, JSON round trips). Report file:line and a one-line reason each. Research only, do not edit.', subagent_type: 'Explore' }, result: (r) => [{ type: 'text', text: `Found ${5 + Math.floor(r() * 5)} candidates:\n1. src/relay/relay.ts: upstreamBody = { ...a.body, model } copies the whole top-level object per attempt.\n2. src/relay/relay.ts: JSON.stringify(upstreamBody) re-serialises the full body even when only model changed.\n3. src/protocol/sse.ts: parseBlock splits every block with a regex.\n4. src/relay/relay.ts: a fresh AbortController + timer per attempt, re-armed per chunk.\n5. src/upstream/url.ts: buildUpstreamUrl parses the base URL with new URL() per request.` }] }] },
    { calls: [todos(['completed', 'completed', 'in_progress', 'pending']), read(FILES[8])] },
    { calls: [{ name: 'WebFetch', input: { url: 'https://undici.nodejs.org/#/docs/api/Dispatcher', prompt: 'How does Dispatcher.request handle a string body vs a Buffer body; is there a copy?' }, result: () => 'A string body is converted with Buffer.from(body) once when the request is written; a Buffer is written as is. Both set content-length automatically when it is not given. Streams and async iterables are written chunk by chunk with transfer-encoding: chunked unless content-length is set.' }] },
    { calls: [{ name: 'mcp__ide__getDiagnostics', input: { uri: `file://${ROOTDIR}/${FILES[0]}` }, result: () => '[]' }] },
    { calls: [{ name: 'Bash', input: { command: 'npm run typecheck', description: 'Type-check the project' }, result: () => '> api-pool-gateway@0.1.0 typecheck\n> tsc -p tsconfig.json --noEmit\n' }] },
  ];
}

function history(r: () => number, count: number, readLines: number): Json[] {
  const msgs: Json[] = [];
  msgs.push({
    role: 'user',
    content: [
      { type: 'text', text: '<system-reminder>\nAs you answer the user\'s questions, you can use the following context:\n# claudeMd\nCodebase and user instructions are shown below. Be sure to adhere to these instructions.\n\nContents of /home/dev/projects/api-pool-gateway/CLAUDE.md (project instructions, checked into the codebase):\n\n# API Pool Gateway\n- Node 20, ESM TypeScript, run with tsx; tests with vitest (`npm test`).\n- Never log API keys; admin password comes from ADMIN_PASSWORD.\n- The relay must never retry once a stream has started.\n- Keep src/protocol pure: no I/O, no timers.\n\n      IMPORTANT: this context may or may not be relevant to your tasks. You should not respond to this context unless it is highly relevant to your task.\n</system-reminder>\n' },
      { type: 'text', text: 'The gateway is slower than it should be under load: at 32 connections it only does a fraction of what a plain undici proxy does. Profile the relay hot path and make it faster without changing behaviour. Keep the tests green.' },
      { type: 'text', text: '<system-reminder>This is a reminder that your todo list is currently empty. DO NOT mention this to the user explicitly because they are already aware. If you are working on tasks that would benefit from a todo list please use the TodoWrite tool to create one.</system-reminder>' },
    ],
  });
  const plan = steps();
  let toolN = 0;
  let stepN = 0;
  // pairs of (assistant tool turn, user tool_result turn) until two slots are left: a final
  // assistant text answer and the new user prompt.
  while (msgs.length < count - 2) {
    const step = plan[stepN++ % plan.length];
    const content: Json[] = [];
    if (step.thinking) content.push({ type: 'thinking', thinking: step.thinking, signature: `Eq${Buffer.from(hex(r, 96), 'hex').toString('base64')}` });
    if (step.text) content.push({ type: 'text', text: step.text });
    const results: Json[] = [];
    for (const call of step.calls) {
      const id = `toolu_01${hex(r, 22)}`;
      toolN++;
      content.push({ type: 'tool_use', id, name: call.name, input: call.input });
      const res: Json = { tool_use_id: id, type: 'tool_result', content: call.result(r, readLines) };
      if (call.isError) res.is_error = true;
      results.push(res);
    }
    msgs.push({ role: 'assistant', content });
    msgs.push({ role: 'user', content: results });
  }
  msgs.push({
    role: 'assistant',
    content: [{ type: 'text', text: `Done. Summary of the changes so far (${toolN} tool calls):\n\n- \`src/protocol/sse.ts\`: the boundary scan resumes where the last one stopped instead of rescanning the buffer.\n- \`src/relay/relay.ts\`: the upstream body is built once per request, not per attempt.\n\nTypecheck and the SSE tests pass. The benchmark still shows the gateway behind the minimal proxy at 32 connections; the remaining cost is mostly in request handling, not in the stream loop.` }],
  });
  msgs.push({
    role: 'user',
    content: [{ type: 'text', text: 'Good. Now look at the non-streamed path at 32 connections: where does the time go between the body parser and the upstream call? Measure before changing anything.', cache_control: { type: 'ephemeral' } }],
  });
  return msgs;
}

// ---- the body ------------------------------------------------------------------------------

function build(o: Required<ClaudeCodeBodyOptions>, readLines: number): Json {
  const r = rng(0xc1a0de);
  const userId = `user_${hex(r, 64)}_account_${uuid(r)}_session_${uuid(r)}`;
  const tl = tools();
  (tl[tl.length - 1] as Json).cache_control = { type: 'ephemeral' };
  const body: Json = {
    model: o.model,
    messages: history(r, o.messages, readLines),
    system: system(),
    tools: tl,
    metadata: { user_id: userId },
    max_tokens: 32000,
    thinking: { type: 'adaptive' },
  };
  if (o.stream) body.stream = true;
  return body;
}

/** The body object (fresh on every call, so callers may mutate it). */
export function claudeCodeBody(opts: ClaudeCodeBodyOptions = {}): Json {
  const o: Required<ClaudeCodeBodyOptions> = {
    model: opts.model ?? 'sonnet',
    stream: opts.stream ?? false,
    targetBytes: opts.targetBytes ?? 80 * 1024,
    messages: Math.max(4, (opts.messages ?? 41) | 1), // odd: starts and ends with a user turn
  };
  // Size the Read results: bisect on lines per file read until the JSON is just under target.
  const size = (lines: number) => Buffer.byteLength(JSON.stringify(build(o, lines)));
  let lo = 0;
  let hi = 8;
  while (size(hi) < o.targetBytes && hi < 100_000) hi *= 2;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (size(mid) <= o.targetBytes) lo = mid;
    else hi = mid;
  }
  return build(o, lo);
}

/** The body as JSON text (what a client puts on the wire). */
export function claudeCodeBodyJson(opts: ClaudeCodeBodyOptions = {}): string {
  return JSON.stringify(claudeCodeBody(opts));
}

/** Counts what the body holds, for a one-line description in the bench output. */
export function describeClaudeCodeBody(body: Json): string {
  const msgs = body.messages as { content: unknown }[];
  let toolUses = 0;
  let toolResults = 0;
  for (const m of msgs) {
    if (!Array.isArray(m.content)) continue;
    for (const blk of m.content as { type: string }[]) {
      if (blk.type === 'tool_use') toolUses++;
      if (blk.type === 'tool_result') toolResults++;
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(body));
  return `${(bytes / 1024).toFixed(1)} KB JSON, ${(body.system as unknown[]).length} system blocks, ${(body.tools as unknown[]).length} tools, ${msgs.length} messages (${toolUses} tool_use / ${toolResults} tool_result)`;
}

// `tsx bench/claude-code-body.ts` prints the body (handy for eyeballing or piping to curl).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const body = claudeCodeBody({ stream: process.argv.includes('--stream') });
  if (process.argv.includes('--describe')) console.log(describeClaudeCodeBody(body));
  else process.stdout.write(JSON.stringify(body, null, 2) + '\n');
}

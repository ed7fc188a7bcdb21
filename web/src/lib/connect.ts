// The snippets that point a client at this gateway, shared by the Connect page and the dialog that
// shows a new access key.

/** ~/.claude/settings.json: the gateway's origin and the token Claude Code sends (as Authorization: Bearer). */
export function claudeSettingsJson(origin: string, token: string): string {
  return JSON.stringify({ env: { ANTHROPIC_BASE_URL: origin, ANTHROPIC_AUTH_TOKEN: token } }, null, 2);
}

/** The same for one shell session. */
export function claudeShell(origin: string, token: string): string {
  return `export ANTHROPIC_BASE_URL=${origin}\nexport ANTHROPIC_AUTH_TOKEN=${shellQuote(token)}\nclaude`;
}

/** Quotes a value for sh when it has anything but plain characters (a placeholder like <…>). */
export function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * A value safe for an HTTP header: printable ASCII kept as is, anything else (a provider named
 * in Chinese, say) percent-encoded so Node does not refuse the header.
 */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

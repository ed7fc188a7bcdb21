import net from 'node:net';

/** The host name of a Host header: no port, no IPv6 brackets, lower case, no trailing dot. */
export function hostName(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(':');
  if (colon !== -1 && h.indexOf(':', colon + 1) === -1) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * May a request with this Host header be answered (DNS rebinding: a page on evil.example whose name
 * later points at 127.0.0.1 sends `Host: evil.example`)? IP literals, `localhost` and `*.localhost`
 * always pass; other names only when listed in ALLOWED_HOSTS (`name`, `*.domain`, or `*` for any).
 * A request without Host (HTTP/1.0) passes: a browser always sends one.
 */
export function hostAllowed(header: string | undefined, allowed: readonly string[], any: boolean): boolean {
  if (any || header === undefined || header === '') return true;
  const h = hostName(header);
  if (net.isIP(h) !== 0 || h === 'localhost' || h.endsWith('.localhost')) return true;
  for (const a of allowed) {
    if (a === h) return true;
    if (a.startsWith('*.') && h.endsWith(a.slice(1))) return true;
  }
  return false;
}

/** Is this socket address the machine itself? */
export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  if (addr === '::1') return true;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/** Is the listen address reachable only from this machine? */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || isLoopbackAddress(h);
}

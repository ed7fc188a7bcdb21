import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { probeChromium, probePostgres, probeRedis, servicesReport } from '../helpers/services.js';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('the probes that decide which tests need skipping', () => {
  it('nothing listening: PostgreSQL and Redis are reported missing, with the address and the reason', async () => {
    const port = await closedPort();
    expect(await probePostgres(`postgres://postgres:secret@127.0.0.1:${port}/postgres`, 1000)).toBe(`nothing usable answers at postgres://postgres:***@127.0.0.1:${port}/postgres (ECONNREFUSED)`);
    expect(await probeRedis(`redis://127.0.0.1:${port}`, 1000)).toMatch(new RegExp(`^nothing usable answers at redis://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED`));
  });

  it('a server that accepts and never answers is missing too, within the timeout', async () => {
    const held: net.Socket[] = [];
    const s = net.createServer((c) => held.push(c));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as net.AddressInfo;
    try {
      expect(await probePostgres(`postgres://postgres@127.0.0.1:${port}/postgres`, 300)).toMatch(/^nothing usable answers at .* \(.*timeout/i);
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('Chromium: a missing executable is reported', () => {
    expect(probeChromium('/nonexistent/chromium')).toBe('/nonexistent/chromium is not there (ENOENT)');
    expect(probeChromium(process.execPath)).toBeNull();
  });

  it('the report: nothing when all answered; the skipped tests and the install line otherwise; a failure with APG_REQUIRE_ALL', () => {
    expect(servicesReport({ postgres: null, redis: null, chromium: null }, true)).toBeNull();
    const status = { postgres: 'nothing usable answers at x (ECONNREFUSED)', redis: null, chromium: '/usr/bin/chromium is not there (ENOENT)' };
    const soft = servicesReport(status, false)!;
    expect(soft.fail).toBe(false);
    expect(soft.text).toMatch(/^SKIPPED: /);
    expect(soft.text).toContain('test/integration/replicas.test.ts');
    expect(soft.text).toContain('apt-get install postgresql');
    expect(soft.text).toContain('apt-get install chromium');
    expect(soft.text).not.toContain('Redis:');
    const hard = servicesReport(status, true)!;
    expect(hard.fail).toBe(true);
    expect(hard.text).toMatch(/^APG_REQUIRE_ALL=1: every test must run/);
  });
});

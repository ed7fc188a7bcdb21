import { describe, expect, it } from 'vitest';
import { dataDirMessage, explainStartError, StartupProblem } from '../../src/startup.js';

const config = { port: 8899, host: '127.0.0.1', dataDir: '/data', databaseUrl: null };
const listenError = (code: string) => Object.assign(new Error(`listen ${code}: 127.0.0.1:8899`), { code, syscall: 'listen', address: '127.0.0.1', port: 8899 });

describe('start-up problems in one line', () => {
  it('DATA_DIR owned by root, the gateway uid 1000 in a container: the chown to run on the host', () => {
    const line = dataDirMessage({ dir: '/data', target: '/data', missing: false, why: 'EACCES', stat: { uid: 0, gid: 0, mode: 0o40755 }, user: { uid: 1000, gid: 1000 }, inContainer: true });
    expect(line).toBe('DATA_DIR /data is not writable by the gateway: it belongs to uid 0 and the gateway runs as uid 1000; run `sudo chown -R 1000:1000 /data` '
      + '(with Docker, run it on the host for the folder mounted there, e.g. `sudo chown -R 1000:1000 ./data`), or set DATA_DIR to a folder uid 1000 can write');
  });

  it('outside a container there is no Docker hint; a read-only file system says so', () => {
    const line = dataDirMessage({ dir: '/srv/gw', target: '/srv/gw', missing: false, why: 'EACCES', stat: { uid: 0, gid: 0, mode: 0o40755 }, user: { uid: 1000, gid: 1000 }, inContainer: false });
    expect(line).not.toContain('Docker');
    expect(line).toContain('`sudo chown -R 1000:1000 /srv/gw`');
    const ro = dataDirMessage({ dir: '/data', target: '/data', missing: false, why: 'EROFS', stat: { uid: 1000, gid: 1000, mode: 0o40755 }, user: { uid: 1000, gid: 1000 }, inContainer: true });
    expect(ro).toBe('DATA_DIR /data is on a read-only file system: mount it read-write (with Docker: no ":ro" on the /data volume), or set DATA_DIR to a writable folder');
  });

  it('port in use, a reserved port, a HOST that is not this machine: the setting to change', () => {
    expect(explainStartError(listenError('EADDRINUSE'), config)).toBe(
      'port 8899 on 127.0.0.1 is already in use (another gateway, or another program, listens there): stop that program, or start the gateway on a free port with API_PORT (e.g. API_PORT=8900)',
    );
    expect(explainStartError(Object.assign(listenError('EACCES'), { port: 80 }), { ...config, port: 80 })).toMatch(/^port 80 needs administrator rights .*API_PORT/);
    expect(explainStartError(listenError('EADDRNOTAVAIL'), { ...config, host: '10.9.9.9' })).toMatch(/^HOST 10\.9\.9\.9 is not an address of this machine/);
    expect(explainStartError(Object.assign(new Error('getaddrinfo ENOTFOUND gw.example'), { code: 'ENOTFOUND', hostname: 'gw.example' }), { ...config, host: 'gw.example' }))
      .toMatch(/^HOST gw\.example does not resolve/);
  });

  it('a StartupProblem is its own message; any other failure is left to the full report', () => {
    expect(explainStartError(new StartupProblem('x'), config)).toBe('x');
    expect(explainStartError(new Error('database migration 003 failed: boom'), config)).toBeNull();
    expect(explainStartError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' }), config)).toBeNull();
  });
});

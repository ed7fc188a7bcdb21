import crypto from 'node:crypto';
import pg from 'pg';

/** The real PostgreSQL on this machine (TEST_PG_URL overrides), as its admin. */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database with a random name for one test file: its URL, and create / drop. */
export function testDatabase(): { name: string; url: string; create(): Promise<void>; drop(): Promise<void> } {
  const name = `apg_test_${crypto.randomBytes(4).toString('hex')}`;
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  return {
    name,
    url: u.toString(),
    create: () => run(`CREATE DATABASE ${name}`),
    drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, SqliteDialect, PostgresDialect, type MigrationProvider } from 'kysely';
import SQLite from 'better-sqlite3';
import type { Database } from './schema.js';
import { migrations, type Dialect } from './migrations.js';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** The SQLite file, or null on PostgreSQL. */
  file: string | null;
  /** A short description for the start-up log (no credentials). */
  describe: string;
  close(): Promise<void>;
}

/** Opens SQLite under dataDir, or PostgreSQL when databaseUrl is set, and runs the migrations. */
export async function openDb(opts: { dataDir: string; databaseUrl: string | null; onIdleError?: (err: Error) => void }): Promise<Db> {
  let kysely: Kysely<Database>;
  let dialect: Dialect;
  let describe: string;
  let file: string | null = null;
  if (opts.databaseUrl) {
    dialect = 'postgres';
    // (loaded only here: a gateway on SQLite never holds the PostgreSQL driver in memory)
    const pg = (await import('pg')).default;
    // 64-bit integers (our ms timestamps) come back from pg as strings by default.
    pg.types.setTypeParser(20, (v) => Number(v));
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
    // An idle connection the server ends (a PostgreSQL restart, a failover, an admin's
    // pg_terminate_backend) is reported here; unheard, it would end the process. The pool opens a
    // new connection for the next query.
    pool.on('error', (err) => opts.onIdleError?.(err));
    kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const u = safeUrl(opts.databaseUrl);
    describe = `PostgreSQL ${u}`;
  } else {
    dialect = 'sqlite';
    fs.mkdirSync(opts.dataDir, { recursive: true });
    file = path.join(opts.dataDir, 'gateway.db');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    describe = `SQLite ${file}`;
  }
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db: kysely, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await kysely.destroy().catch(() => {});
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`);
  }
  return { kysely, dialect, file, describe, close: () => kysely.destroy() };
}

/** The URL with any password removed, for logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database, RequestLogsTable } from './schema.js';

/** A request-log row as stored (without its generated id). */
export type LogRow = Omit<RequestLogsTable, 'id'>;

/** Writes that must never hold up a request: request-log batches, cooldowns, retention. */
export interface BackgroundWriter {
  writeLogs(rows: LogRow[]): Promise<void>;
  setCooldown(memberId: number, until: number | null, lastError: string | null): Promise<void>;
  prune(keepCount: number, olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}

const LOG_COLUMNS = [
  'ts', 'entry_format', 'requested_model', 'pool', 'provider_id', 'provider_name', 'upstream_model', 'status',
  'latency_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens',
  'stream', 'attempts', 'error', 'request_body', 'response_body', 'key_id', 'key_name',
] as const;

/**
 * The SQLite writer runs in a worker thread with its own connection: better-sqlite3 is
 * synchronous, so a slow disk or a locked database file stalls that thread, never the one
 * serving requests.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
const cols = workerData.columns;
const insert = db.prepare('INSERT INTO request_logs (' + cols.join(', ') + ') VALUES (' + cols.map((c) => '@' + c).join(', ') + ')');
const writeLogs = db.transaction((rows) => { for (const r of rows) insert.run(r); });
const cool = db.prepare('UPDATE pool_members SET cooldown_until = ?, last_error = ? WHERE id = ?');
const pruneOld = db.prepare('DELETE FROM request_logs WHERE ts < ?');
const pruneCount = db.prepare('DELETE FROM request_logs WHERE id <= (SELECT id FROM request_logs ORDER BY id DESC LIMIT 1 OFFSET ?)');
parentPort.on('message', (m) => {
  try {
    let result = null;
    if (m.type === 'logs') writeLogs(m.rows);
    else if (m.type === 'cooldown') cool.run(m.until, m.lastError, m.memberId);
    else if (m.type === 'prune') result = pruneOld.run(m.before).changes + pruneCount.run(m.keep).changes;
    else if (m.type === 'close') { db.close(); parentPort.postMessage({ id: m.id, ok: true }); return; }
    parentPort.postMessage({ id: m.id, ok: true, result });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: String((e && e.message) || e) });
  }
});
`;

export class SqliteBackgroundWriter implements BackgroundWriter {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;

  constructor(file: string, busyTimeoutMs = 2000) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: path.resolve(file), busyTimeoutMs, columns: LOG_COLUMNS },
    });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; ok: boolean; error?: string; result?: unknown }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('database writer thread stopped')));
  }

  private call(msg: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  async writeLogs(rows: LogRow[]): Promise<void> {
    await this.call({ type: 'logs', rows });
  }

  async setCooldown(memberId: number, until: number | null, lastError: string | null): Promise<void> {
    await this.call({ type: 'cooldown', memberId, until, lastError });
  }

  async prune(keepCount: number, olderThanMs: number): Promise<number> {
    return Number(await this.call({ type: 'prune', keep: Math.max(0, keepCount), before: olderThanMs }));
  }

  async close(): Promise<void> {
    if (!this.dead) await this.call({ type: 'close' }).catch(() => {});
    await this.worker.terminate();
  }
}

/** PostgreSQL is asynchronous already: the same writes, through the shared pool. */
export class KyselyBackgroundWriter implements BackgroundWriter {
  constructor(private readonly db: Kysely<Database>) {}

  async writeLogs(rows: LogRow[]): Promise<void> {
    if (rows.length) await this.db.insertInto('request_logs').values(rows).execute();
  }

  async setCooldown(memberId: number, until: number | null, lastError: string | null): Promise<void> {
    await this.db.updateTable('pool_members').set({ cooldown_until: until, last_error: lastError }).where('id', '=', memberId).execute();
  }

  async prune(keepCount: number, olderThanMs: number): Promise<number> {
    const a = await this.db.deleteFrom('request_logs').where('ts', '<', olderThanMs).executeTakeFirst();
    const edge = await this.db.selectFrom('request_logs').select('id').orderBy('id', 'desc').offset(Math.max(0, keepCount)).limit(1).executeTakeFirst();
    let b = 0n;
    if (edge) b = (await this.db.deleteFrom('request_logs').where('id', '<=', edge.id).executeTakeFirst()).numDeletedRows;
    return Number(a.numDeletedRows) + Number(b);
  }

  async close(): Promise<void> {}
}

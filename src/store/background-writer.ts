import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database, RequestLogsTable } from './schema.js';

/** A request-log row as stored (without its generated id; the columns added later may be left to their defaults). */
export type LogRow = Omit<RequestLogsTable, 'id' | 'conversation' | 'affinity' | 'cost_usd' | 'cache_savings_usd'> & Partial<Pick<RequestLogsTable, 'conversation' | 'affinity' | 'cost_usd' | 'cache_savings_usd'>>;

/** Writes that must never hold up a request: request-log batches, cooldowns, retention. */
export interface BackgroundWriter {
  writeLogs(rows: LogRow[]): Promise<void>;
  /** Records a cooldown's end; a stored end that is later is kept (null clears it, always). */
  setCooldown(memberId: number, until: number | null, lastError: string | null): Promise<void>;
  /** The same for one key of a provider (provider_keys). */
  setKeyCooldown(keyId: number, until: number | null, lastError: string | null): Promise<void>;
  prune(keepCount: number, olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}

const LOG_COLUMNS = [
  'ts', 'entry_format', 'requested_model', 'pool', 'provider_id', 'provider_name', 'upstream_model', 'status',
  'latency_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens',
  'stream', 'attempts', 'error', 'request_body', 'response_body', 'key_id', 'key_name', 'conversation', 'affinity',
  'cost_usd', 'cache_savings_usd',
] as const;

/** Log columns a row may leave out (the table's defaults): every column is bound, so these fill the gaps. */
const LOG_DEFAULTS: Partial<LogRow> = { conversation: null, affinity: 'none', cost_usd: null, cache_savings_usd: null };

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
const insert = db.prepare('INSERT INTO request_logs (' + cols.join(', ') + ') VALUES (' + cols.map(() => '?').join(', ') + ')');
// (rows arrive as one JSON text of arrays of values in the columns' order: cheaper to send than
// objects through the structured clone, and positional parameters bind without a property lookup)
const writeLogs = db.transaction((rows) => {
  for (const r of rows) insert.run(r);
});
const cool = db.prepare('UPDATE pool_members SET cooldown_until = ?, last_error = ? WHERE id = ?');
const coolLater = db.prepare('UPDATE pool_members SET cooldown_until = ?, last_error = ? WHERE id = ? AND (cooldown_until IS NULL OR cooldown_until < ?)');
const keyCool = db.prepare('UPDATE provider_keys SET cooldown_until = ?, last_error = ? WHERE id = ?');
const keyCoolLater = db.prepare('UPDATE provider_keys SET cooldown_until = ?, last_error = ? WHERE id = ? AND (cooldown_until IS NULL OR cooldown_until < ?)');
const pruneOld = db.prepare('DELETE FROM request_logs WHERE ts < ?');
const pruneCount = db.prepare('DELETE FROM request_logs WHERE id <= (SELECT id FROM request_logs ORDER BY id DESC LIMIT 1 OFFSET ?)');
parentPort.on('message', (m) => {
  try {
    let result = null;
    if (m.type === 'logs') writeLogs(JSON.parse(m.rows));
    else if (m.type === 'cooldown') {
      if (m.until === null) cool.run(null, m.lastError, m.memberId);
      else coolLater.run(m.until, m.lastError, m.memberId, m.until);
    }
    else if (m.type === 'key-cooldown') {
      if (m.until === null) keyCool.run(null, m.lastError, m.keyId);
      else keyCoolLater.run(m.until, m.lastError, m.keyId, m.until);
    }
    else if (m.type === 'prune') result = pruneOld.run(m.before).changes + pruneCount.run(m.keep).changes;
    else if (m.type === 'close') { db.close(); parentPort.postMessage({ id: m.id, ok: true }); return; }
    parentPort.postMessage({ id: m.id, ok: true, result });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: String((e && e.message) || e) });
  }
});
`;

/** Where the writer reports its thread's death (the gateway's logger). */
export interface WriterLog {
  error(obj: object, msg: string): void;
}

interface Call {
  msg: Record<string, unknown> & { id: number };
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** Sent again once already, after a thread died with it. */
  retried: boolean;
}

export class SqliteBackgroundWriter implements BackgroundWriter {
  private worker!: Worker;
  private seq = 0;
  private readonly pending = new Map<number, Call>();
  /** Set while no thread runs (waiting to start another after quick deaths, or closed): calls fail at once. */
  private down: Error | null = null;
  private closing = false;
  private startedAt = 0;
  /** Deaths in a row, each within 5 s of its thread's start. */
  private quickDeaths = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly driver = createRequire(import.meta.url).resolve('better-sqlite3');

  /**
   * A thread that dies (an error, or it exits) is replaced: at once the first time, after a
   * growing pause (1 s doubling up to 30 s) when it dies again within 5 s of starting, e.g. while
   * the database file cannot be opened. Each death is logged once, as an error. Calls that were
   * in flight are sent once more to the new thread (every write may be repeated: a cooldown
   * keeps the later end, retention deletes by rule, and a log batch is one transaction, rolled
   * back when the thread dies inside it); calls made while no thread runs fail at once (the
   * telemetry counts the rows it drops).
   */
  constructor(private readonly file: string, private readonly busyTimeoutMs = 2000, private readonly log?: WriterLog) {
    this.spawn();
  }

  private spawn(): void {
    this.restartTimer = null;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: this.driver, file: path.resolve(this.file), busyTimeoutMs: this.busyTimeoutMs, columns: LOG_COLUMNS },
    });
    w.unref();
    this.worker = w;
    this.startedAt = Date.now();
    this.down = null;
    w.on('message', (m: { id: number; ok: boolean; error?: string; result?: unknown }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    let gone = false;
    const died = (err: Error) => {
      if (gone) return;
      gone = true;
      this.died(w, err);
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`database writer thread stopped (exit code ${code})`)));
  }

  private died(w: Worker, err: Error): void {
    if (w !== this.worker) return;
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    if (this.closing) {
      for (const c of inFlight) c.reject(err);
      return;
    }
    // Restart at once, unless threads keep dying within 5 s of their start: then 1 s, 2 s, … 30 s.
    const quick = Date.now() - this.startedAt < 5000;
    if (!quick) this.quickDeaths = 0;
    const wait = this.quickDeaths === 0 ? 0 : Math.min(30_000, 1000 * 2 ** (this.quickDeaths - 1));
    if (quick) this.quickDeaths++;
    this.log?.error(
      { err: err.message, inFlight: inFlight.length, restartInMs: wait },
      'the database writer thread died; starting a new one (request logs and cooldowns go on being written)',
    );
    if (wait === 0) {
      this.spawn();
      for (const c of inFlight) {
        if (c.retried) c.reject(err);
        else {
          c.retried = true;
          this.pending.set(c.msg.id, c);
          this.worker.postMessage(c.msg);
        }
      }
      return;
    }
    this.down = err;
    for (const c of inFlight) c.reject(err);
    this.restartTimer = setTimeout(() => this.spawn(), wait);
    this.restartTimer.unref();
  }

  /** For tests: kills the writer thread as a crash would. */
  killThreadForTest(): Promise<number> {
    return this.worker.terminate();
  }

  private call(msg: Record<string, unknown>): Promise<unknown> {
    if (this.down) return Promise.reject(this.down);
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const c: Call = { msg: { ...msg, id }, resolve, reject, retried: false };
      this.pending.set(id, c);
      this.worker.postMessage(c.msg);
    });
  }

  async writeLogs(rows: LogRow[]): Promise<void> {
    // as arrays in LOG_COLUMNS order, one JSON text for the batch (cheaper to copy to the thread and
    // to bind than objects: 29 → 25 µs of CPU per row, writer alone)
    const values = new Array<unknown[]>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as unknown as Record<string, unknown>;
      const v = new Array<unknown>(LOG_COLUMNS.length);
      for (let j = 0; j < LOG_COLUMNS.length; j++) {
        const c = LOG_COLUMNS[j]!;
        const x = r[c];
        v[j] = x === undefined ? (LOG_DEFAULTS as Record<string, unknown>)[c] ?? null : x;
      }
      values[i] = v;
    }
    await this.call({ type: 'logs', rows: JSON.stringify(values) });
  }

  async setCooldown(memberId: number, until: number | null, lastError: string | null): Promise<void> {
    await this.call({ type: 'cooldown', memberId, until, lastError });
  }

  async setKeyCooldown(keyId: number, until: number | null, lastError: string | null): Promise<void> {
    await this.call({ type: 'key-cooldown', keyId, until, lastError });
  }

  async prune(keepCount: number, olderThanMs: number): Promise<number> {
    return Number(await this.call({ type: 'prune', keep: Math.max(0, keepCount), before: olderThanMs }));
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (!this.down) await this.call({ type: 'close' }).catch(() => {});
    this.down = new Error('database writer closed');
    await this.worker.terminate();
  }
}

/** PostgreSQL is asynchronous already: the same writes, through the shared pool. */
export class KyselyBackgroundWriter implements BackgroundWriter {
  /** Per member, the last cooldown write: the next one waits for it (the pool's connections
   *  could otherwise run a reset and a cooldown that followed it in the other order). */
  private readonly cooling = new Map<number | string, Promise<void>>();

  constructor(private readonly db: Kysely<Database>) {}

  async writeLogs(rows: LogRow[]): Promise<void> {
    if (rows.length) await this.db.insertInto('request_logs').values(rows.map((r) => ({ conversation: null, affinity: 'none', cost_usd: null, cache_savings_usd: null, ...r }))).execute();
  }

  setCooldown(memberId: number, until: number | null, lastError: string | null): Promise<void> {
    const write = async () => {
      let q = this.db.updateTable('pool_members').set({ cooldown_until: until, last_error: lastError }).where('id', '=', memberId);
      if (until !== null) q = q.where((eb) => eb.or([eb('cooldown_until', 'is', null), eb('cooldown_until', '<', until)]));
      await q.execute();
    };
    return this.inOrder(memberId, write);
  }

  setKeyCooldown(keyId: number, until: number | null, lastError: string | null): Promise<void> {
    const write = async () => {
      let q = this.db.updateTable('provider_keys').set({ cooldown_until: until, last_error: lastError }).where('id', '=', keyId);
      if (until !== null) q = q.where((eb) => eb.or([eb('cooldown_until', 'is', null), eb('cooldown_until', '<', until)]));
      await q.execute();
    };
    return this.inOrder(`k${keyId}`, write);
  }

  /** Runs one member's (or key's) cooldown writes one after another. */
  private inOrder(subject: number | string, write: () => Promise<void>): Promise<void> {
    const done = (this.cooling.get(subject) ?? Promise.resolve()).then(write, write);
    const tail = done.catch(() => {});
    this.cooling.set(subject, tail);
    void tail.then(() => { if (this.cooling.get(subject) === tail) this.cooling.delete(subject); });
    return done;
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

/**
 * The scale lane's database, filled before the gateway starts on it: `scale` measures the same
 * small request as the `small` lane against a gateway that knows many things (CPU per request must
 * not grow with them):
 *
 *   - access keys (BENCH_SCALE_KEYS, default 1,000): rows of access_keys; the load sends one of them
 *     (with the same rpm / concurrency limits as the small-key lane's key);
 *   - a request log (BENCH_SCALE_LOG_ROWS, default 1,000,000): rows of request_logs spread over the
 *     last 29 days (inside the default 30-day retention), with the count retention set to that many
 *     rows (the default, 100,000, would delete them at the first minute's prune) — so the log stays
 *     at capacity while the load adds rows, as on a busy gateway;
 *
 * and, once it runs (bench/run.ts, through the admin API and gateway-server.ts IPC): 50 providers ×
 * 10 models as members of the pool the load uses, and 100,000 remembered conversations.
 *
 * The rows are written from the bench process (one transaction, one prepared statement, with
 * better-sqlite3 — the gateway's own driver; the log's indexes made again once at the end), into the file the gateway's own migrations made: none
 * of it runs in the measured process. src/ is loaded lazily (a broken src/ fails this lane only).
 */
import SQLite from 'better-sqlite3';

export interface ScaleDb {
  file: string;
  /** The secret the load sends (one of the keys). */
  key: string;
  keys: number;
  logRows: number;
  ms: number;
  sizeMB: number;
}

const DAY_MS = 86_400_000;

export async function prefillScaleDb(dataDir: string, opts: { keys: number; logRows: number; providers: number; models: number; conversations: number }): Promise<ScaleDb> {
  const t0 = performance.now();
  const [{ openDb }, { hashSecret }] = await Promise.all([import('../src/store/db.js'), import('../src/access/keys.js')]);
  // the gateway's own migrations make the schema
  const db = await openDb({ dataDir, databaseUrl: null });
  const file = db.file!;
  await db.close();

  const sq = new SQLite(file);
  // a temp file filled once: no journal worth keeping; the gateway sets WAL when it opens it
  sq.pragma('journal_mode = MEMORY');
  sq.pragma('synchronous = OFF');
  sq.pragma('cache_size = -262144'); // 256 MB, in this (the bench) process
  const now = Date.now();

  // access keys: one of them is the load's
  const usedIndex = opts.keys - 1;
  const secret = (i: number) => `sk-apg-bench-scale-${String(i).padStart(6, '0')}-Qx7pLm2Rt9`;
  const insKey = sq.prepare(`INSERT INTO access_keys (name, key_hash, key_last4, pools, rpm, max_concurrent, expires_at, enabled, created_at, last_used_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  sq.transaction(() => {
    for (let i = 0; i < opts.keys; i++) {
      const s = secret(i);
      const used = i === usedIndex;
      // a mix like real keys: some limited, some not, a few disabled or restricted to one pool
      const rpm = used ? 1_000_000 : i % 3 === 0 ? null : 60 + (i % 7) * 100;
      const conc = used ? 100_000 : i % 4 === 0 ? null : 2 + (i % 5);
      const pools = used || i % 10 !== 0 ? '["tool","normal","advanced"]' : '["tool"]';
      insKey.run(`bench-key-${i}`, hashSecret(s), s.slice(-4), pools, rpm, conc, null, used || i % 50 !== 0 ? 1 : 0, now - (opts.keys - i) * 60_000, null);
    }
  })();

  // the request log: ts ascending over the last 29 days, rows shaped like the gateway's own. Built
  // in SQL (a recursive counter), with the table's indexes dropped and made again from their own
  // definitions afterwards (sorting once is several times faster than growing 5 B-trees row by row).
  const n = opts.logRows;
  const span = 29 * DAY_MS;
  const indexes = sq.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'request_logs' AND sql IS NOT NULL`).all() as { name: string; sql: string }[];
  sq.transaction(() => {
    for (const ix of indexes) sq.exec(`DROP INDEX "${ix.name}"`);
    sq.prepare(`
      WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < @n)
      INSERT INTO request_logs (ts, entry_format, requested_model, pool, provider_id, provider_name, upstream_model, status, latency_ms, ttft_ms,
        input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, stream, attempts, error, request_body, response_body,
        key_id, key_name, conversation, affinity, cost_usd, cache_savings_usd)
      SELECT @t1 + (i * @span) / @n, 'anthropic',
        CASE WHEN i % 5 = 0 THEN 'claude-haiku-4-5' ELSE 'claude-sonnet-4-5' END,
        CASE WHEN i % 5 = 0 THEN 'tool' ELSE 'normal' END,
        i % @providers + 1, 'standin-' || (i % @providers), 'bench-model-' || (i % @models),
        CASE WHEN i % 97 = 0 THEN 529 ELSE 200 END,
        300 + (i % 9000) / 3.0,
        CASE WHEN i % 3 = 0 THEN NULL ELSE 120 + i % 400 END,
        1000 + i % 5000,
        CASE WHEN i % 97 = 0 THEN 0 ELSE 50 + i % 700 END,
        CASE WHEN i % 2 = 1 THEN (1000 + i % 5000) * 8 ELSE 0 END,
        CASE WHEN i % 7 = 0 THEN 1000 + i % 5000 ELSE 0 END,
        CASE WHEN i % 3 = 0 THEN 0 ELSE 1 END,
        CASE WHEN i % 97 = 0 THEN '[{"member":1,"status":529}]' ELSE '[]' END,
        CASE WHEN i % 97 = 0 THEN 'upstream overloaded' ELSE NULL END,
        NULL, NULL,
        i % @keys + 1, 'bench-key-' || (i % @keys), 'bench-conv-' || (i % @conversations),
        CASE WHEN i % 11 = 0 THEN 'new' ELSE 'kept' END,
        CASE WHEN i % 97 = 0 THEN NULL ELSE ((1000 + i % 5000) * 3 + (50 + i % 700) * 15) / 1e6 END,
        CASE WHEN i % 97 = 0 THEN NULL ELSE (1000 + i % 5000) * 2.7 / 1e6 END
      FROM c`).run({
      // BigInt: bound as SQLite INTEGERs (a JS number binds as REAL: 'standin-7.0', and / would not divide integers)
      n: BigInt(n), t1: BigInt(now - span), span: BigInt(span), providers: BigInt(opts.providers), models: BigInt(opts.models), keys: BigInt(opts.keys), conversations: BigInt(opts.conversations),
    });
    for (const ix of indexes) sq.exec(ix.sql);
  })();

  // keep them: at most this many rows (the prune each minute then holds the log at capacity)
  const retention = Math.max(100, n);
  sq.prepare(`INSERT INTO settings (key, value) VALUES ('logRetentionCount', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(retention));
  sq.close();
  let sizeMB = 0;
  try {
    const { statSync } = await import('node:fs');
    sizeMB = statSync(file).size / 2 ** 20;
  } catch { /* size unknown */ }
  return { file, key: secret(usedIndex), keys: opts.keys, logRows: n, ms: performance.now() - t0, sizeMB };
}

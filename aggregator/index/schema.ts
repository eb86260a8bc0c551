/**
 * The index's SQL, shared by the reader (entry-index.ts, in the aggregator's main thread) and
 * the writer (writer-worker.ts, in a worker thread). One row per entry: its node (a small
 * integer, see `nodes`), timestamp (ms, the entry's own clock), level rank, module, source,
 * lang_key, the batch sequence it came in, its size, and the NDJSON line as stored. The FTS5
 * table is contentless (it holds only the search terms) and shares the rowid. `progress` holds
 * per node the highest batch sequence indexed.
 */
export const SCHEMA_SQL = `
  PRAGMA busy_timeout = 5000;
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = OFF;
  PRAGMA temp_store = MEMORY;
  PRAGMA cache_size = -32768;
  CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    node INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    level INTEGER NOT NULL,
    module TEXT NOT NULL,
    source TEXT,
    lang_key TEXT,
    batch_seq INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    line TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS entries_node_ts ON entries (node, ts);
  CREATE INDEX IF NOT EXISTS entries_ts ON entries (ts);
  CREATE INDEX IF NOT EXISTS entries_level_ts ON entries (level, ts);
  CREATE INDEX IF NOT EXISTS entries_module ON entries (module, ts);
  CREATE INDEX IF NOT EXISTS entries_lang_key ON entries (lang_key) WHERE lang_key IS NOT NULL;
  CREATE VIRTUAL TABLE IF NOT EXISTS entries_text USING fts5 (text, content = '', contentless_delete = 1);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS progress (node INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
`;

export const INDEX_SQL = {
  insert: 'INSERT INTO entries (node, ts, level, module, source, lang_key, batch_seq, bytes, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  fts: 'INSERT INTO entries_text (rowid, text) VALUES (?, ?)',
  node: 'INSERT INTO nodes (name) VALUES (?)',
  nodes: 'SELECT id, name FROM nodes',
  setMeta: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  nodeBytes: 'SELECT coalesce(sum(bytes), 0) AS b FROM entries WHERE node = ?',
  nodeRowsNewestFirst: 'SELECT id, bytes FROM entries WHERE node = ? ORDER BY id DESC',
  // The highest batch sequence indexed per node, written in the transaction that indexes it: a
  // restart knows exactly which stored batches the index lacks (catch-up.ts).
  progress: 'INSERT INTO progress (node, seq) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET seq = max(seq, excluded.seq)',
  progressAll: 'SELECT n.name AS name, p.seq AS seq FROM progress p JOIN nodes n ON n.id = p.node',
} as const;

/** Level ranks as stored (DEBUG 0 … FATAL 4); an unknown level is stored as INFO. */
export const LEVEL_RANK: Readonly<Record<string, number>> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };

/**
 * NDJSON bytes (about 40,000 entries) that make the writer commit before its flush interval. A
 * commit writes every B-tree page the transaction touched (the (node, ts) index spreads a
 * transaction over a page per node) and an FTS5 segment: bigger transactions under a burst write
 * fewer pages and merge fewer segments per entry (5,000-entry transactions cost ~15 % more CPU
 * per entry than 50,000-entry ones at a million rows). A quiet aggregator commits every flush
 * interval instead.
 */
export const FLUSH_BYTES = 8 * 1024 * 1024;

/**
 * NDJSON bytes handed to the worker and not yet written (the index's lag), by default. Beyond this
 * the index is behind by more than it may hold in memory, and further batches wait where they are
 * stored: with the NDJSON store a node's batches are read back from its files later
 * (ndjson-feed.ts), with JetStream the feed stops consuming (nats-feed.ts). A writer fed directly
 * leaves them out (counted, logged). The store and the ACKs never wait for the index.
 * `aggregator.index.max_lag` (default).
 */
export const MAX_LAG_BYTES = 64 * 1024 * 1024;

/**
 * The most a JetStream-fed index holds in memory ahead of its writer, whatever max_lag allows:
 * two commits' worth, so that the writer always has its next transaction ready. The stream keeps
 * the rest, so holding more would only cost memory (64 MiB of lag raised the aggregator's peak by
 * about 70 MiB in bench/aggregator.ts).
 */
export const STREAM_LAG_BYTES = 2 * FLUSH_BYTES;

/**
 * How much the worker thread's nice value is above the aggregator's (`aggregator.index.writer_nice`,
 * default; at most 19): under CPU contention
 * the thread that takes batches and sends ACKs wins, and the index lags (up to MAX_LAG_BYTES)
 * instead of slowing ingest.
 */
export const WRITER_NICE = 10;

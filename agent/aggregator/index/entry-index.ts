import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { LEVELS } from '../../entry/level.ts';
import { parseNdjson, type StoredLine } from './feed.ts';
import type { EntryQuery, StatsQuery } from './query.ts';

/**
 * The aggregator's queryable index: SQLite (node:sqlite, in the pinned runtime) with an FTS5
 * table for free text. Why SQLite: it is in the runtime already (no dependency, no native build
 * per target), answers node/level/time-range queries from B-tree indexes and text from FTS5, and
 * its WAL lets the API read while batches are written.
 *
 * The index is derived data: the store stays the durable record, and `logloom aggregator
 * reindex` rebuilds this file from it. So it is written with synchronous=OFF (a crash may lose
 * the last transactions; reindex restores them), and entries are queued and written in one
 * transaction per flush interval, off the path that acknowledges batches to agents.
 *
 * Each row keeps the entry's NDJSON line as stored, so a query answers without the store.
 */
export interface IndexedEntry {
  /** Position in the index (increasing in order of arrival); the paging cursor. */
  id: number;
  node: string;
  /** The stored entry (its NDJSON line, parsed). */
  entry: Record<string, unknown>;
}

export interface EntryPage {
  entries: IndexedEntry[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  next_cursor?: string;
}

export interface StatsBucket {
  /** Bucket start, ms since the epoch (UTC). */
  t: number;
  counts: Record<string, number>;
}

export interface NodeIndexSummary {
  entries: number;
  bytes: number;
  /** Timestamp (ms) of the newest entry by its own clock. */
  last_entry_ms: number;
}

interface Pending {
  node: string;
  seq: number;
  lines: readonly StoredLine[];
  receivedMs: number;
  /** A meta key to set in the same transaction (the JetStream feed's position). */
  meta?: [string, string];
}

const RANK: Record<string, number> = Object.fromEntries(LEVELS.map((l, i) => [l, i]));
const FLUSH_ENTRIES = 5000;

export class EntryIndex {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly nodeIds = new Map<string, number>();
  private readonly nodeNames = new Map<number, string>();
  private queue: Pending[] = [];
  private queuedEntries = 0;
  private timer?: NodeJS.Timeout;
  private readonly flushMs: number;
  private readonly onError: (e: Error) => void;
  private readonly st: {
    insert: StatementSync; fts: StatementSync; node: StatementSync; nodeSummary: StatementSync; meta: StatementSync; setMeta: StatementSync;
  };
  /** Lines that were not JSON objects (cannot happen for batches the session validated; counted). */
  badLines = 0;
  indexed = 0;
  flushes = 0;
  lastFlushMs = 0;

  constructor(path: string, opts: { flushMs?: number; onError?: (e: Error) => void } = {}) {
    this.path = path;
    this.flushMs = opts.flushMs ?? 250;
    this.onError = opts.onError ?? (() => {});
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
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
    `);
    for (const r of this.db.prepare('SELECT id, name FROM nodes').all() as { id: number; name: string }[]) {
      this.nodeIds.set(r.name, r.id);
      this.nodeNames.set(r.id, r.name);
    }
    this.st = {
      insert: this.db.prepare('INSERT INTO entries (node, ts, level, module, source, lang_key, batch_seq, bytes, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      fts: this.db.prepare('INSERT INTO entries_text (rowid, text) VALUES (?, ?)'),
      node: this.db.prepare('INSERT INTO nodes (name) VALUES (?)'),
      nodeSummary: this.db.prepare('SELECT node, count(*) AS n, sum(bytes) AS b, max(ts) AS last FROM entries GROUP BY node'),
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
  }

  /** Queues a stored batch (its NDJSON lines, as stored); written at the next flush. */
  add(node: string, seq: number, ndjson: Buffer, receivedMs = Date.now()): void {
    const { lines, bad } = parseNdjson(ndjson);
    this.badLines += bad;
    this.addLines(node, seq, lines, receivedMs);
  }

  /** Queues parsed lines (the feed parses once for the index, the tail and the statistics). */
  addLines(node: string, seq: number, lines: readonly StoredLine[], receivedMs = Date.now(), meta?: [string, string]): void {
    this.queue.push({ node, seq, lines, receivedMs, meta });
    this.queuedEntries += lines.length;
    if (this.queuedEntries >= FLUSH_ENTRIES) {
      this.flushSoon(0);
    } else this.flushSoon(this.flushMs);
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.flush();
      } catch (e) {
        this.onError(e as Error);
      }
    }, ms);
  }

  get pending(): number {
    return this.queuedEntries;
  }

  private nodeId(name: string): number {
    let id = this.nodeIds.get(name);
    if (id === undefined) {
      id = Number(this.st.node.run(name).lastInsertRowid);
      this.nodeIds.set(name, id);
      this.nodeNames.set(id, name);
    }
    return id;
  }

  nodeName(id: number): string {
    return this.nodeNames.get(id) ?? `#${id}`;
  }

  /** Known node id of a name, or undefined (a query for an unknown node matches nothing). */
  lookupNode(name: string): number | undefined {
    return this.nodeIds.get(name);
  }

  /** Writes everything queued in one transaction. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    this.queuedEntries = 0;
    const t0 = performance.now();
    this.db.exec('BEGIN');
    try {
      for (const p of queue) this.write(p);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw new Error(`index: writing ${queue.length} batches failed: ${(e as Error).message}`, { cause: e });
    }
    this.flushes++;
    this.lastFlushMs = performance.now() - t0;
  }

  private write(p: Pending): void {
    const node = this.nodeId(p.node);
    for (const { line, entry: e } of p.lines) {
      const ts = typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN;
      const level = RANK[String(e.level)] ?? 1;
      const id = this.st.insert.run(
        node, Number.isFinite(ts) ? ts : p.receivedMs, level, typeof e.module === 'string' ? e.module : '',
        typeof e.source === 'string' ? e.source : null, typeof e.lang_key === 'string' ? e.lang_key : null,
        p.seq, Buffer.byteLength(line) + 1, line,
      ).lastInsertRowid;
      this.st.fts.run(id, searchText(e));
      this.indexed++;
    }
    if (p.meta) this.st.setMeta.run(p.meta[0], p.meta[1]);
  }

  /** Entries matching a query, one page, newest or oldest first (by order of arrival). */
  query(q: EntryQuery): EntryPage {
    const { where, params } = this.where(q);
    if (where === undefined) return { entries: [] };
    const conds = [...where];
    if (q.cursor !== undefined) {
      conds.push(q.order === 'asc' ? 'e.id > ?' : 'e.id < ?');
      params.push(q.cursor);
    }
    const sql = `SELECT e.id, e.node, e.line FROM entries e ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY e.id ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`;
    params.push(q.limit + 1);
    const rows = this.db.prepare(sql).all(...params) as { id: number; node: number; line: string }[];
    const more = rows.length > q.limit;
    if (more) rows.pop();
    return {
      entries: rows.map((r) => ({ id: r.id, node: this.nodeName(r.node), entry: JSON.parse(r.line) as Record<string, unknown> })),
      next_cursor: more ? String(rows[rows.length - 1]!.id) : undefined,
    };
  }

  /** The WHERE conditions of a filter; `where` undefined = nothing can match (unknown node). */
  private where(q: Omit<EntryQuery, 'cursor' | 'limit' | 'order'>): { where?: string[]; params: (number | string)[] } {
    const where: string[] = [];
    const params: (number | string)[] = [];
    if (q.nodes.length) {
      const ids = q.nodes.map((n) => this.nodeIds.get(n)).filter((id): id is number => id !== undefined);
      if (ids.length === 0) return { params };
      where.push(`e.node IN (${ids.map(() => '?').join(',')})`);
      params.push(...ids);
    }
    if (q.since !== undefined) where.push('e.ts >= ?'), params.push(q.since);
    if (q.until !== undefined) where.push('e.ts < ?'), params.push(q.until);
    if (q.level !== undefined) where.push('e.level >= ?'), params.push(RANK[q.level]!);
    if (q.levels.length) {
      where.push(`e.level IN (${q.levels.map(() => '?').join(',')})`);
      params.push(...q.levels.map((l) => RANK[l]!));
    }
    if (q.module !== undefined) where.push('e.module = ?'), params.push(q.module);
    if (q.source !== undefined) where.push('e.source = ?'), params.push(q.source);
    if (q.lang_key !== undefined) where.push('e.lang_key = ?'), params.push(q.lang_key);
    if (q.text !== undefined) where.push('e.id IN (SELECT rowid FROM entries_text WHERE entries_text MATCH ?)'), params.push(q.text);
    return { where, params };
  }

  /** Counts per time bucket, grouped by level, node or module. */
  stats(q: StatsQuery): { bucket_ms: number; by: string; buckets: StatsBucket[] } {
    const { where, params } = this.where(q);
    if (where === undefined) return { bucket_ms: q.bucketMs, by: q.by, buckets: [] };
    const key = q.by === 'level' ? 'e.level' : q.by === 'node' ? 'e.node' : 'e.module';
    const sql = `SELECT (e.ts / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS t, ${key} AS k, count(*) AS n FROM entries e ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY t, k ORDER BY t`;
    const rows = this.db.prepare(sql).all(q.bucketMs, q.bucketMs, ...params) as { t: number; k: number | string; n: number }[];
    const buckets: StatsBucket[] = [];
    for (const r of rows) {
      let b = buckets[buckets.length - 1];
      if (!b || b.t !== r.t) buckets.push((b = { t: r.t, counts: {} }));
      const name = q.by === 'level' ? LEVELS[r.k as number]! : q.by === 'node' ? this.nodeName(r.k as number) : String(r.k);
      b.counts[name] = r.n;
    }
    return { bucket_ms: q.bucketMs, by: q.by, buckets };
  }

  /** Per node: entries, bytes and newest timestamp in the index (a full scan: for tools, not requests). */
  nodeSummaries(): Map<string, NodeIndexSummary> {
    const out = new Map<string, NodeIndexSummary>();
    for (const r of this.st.nodeSummary.all() as { node: number; n: number; b: number; last: number }[]) {
      out.set(this.nodeName(r.node), { entries: r.n, bytes: r.b, last_entry_ms: r.last });
    }
    return out;
  }

  /** Per node, the newest entry's timestamp (one index probe per node). */
  lastEntryTimes(): Map<string, number> {
    const st = this.db.prepare('SELECT max(ts) AS t FROM entries WHERE node = ?');
    const out = new Map<string, number>();
    for (const [name, id] of this.nodeIds) {
      const t = (st.get(id) as { t: number | null }).t;
      if (t !== null) out.set(name, t);
    }
    return out;
  }

  nodeNamesKnown(): string[] {
    return [...this.nodeIds.keys()];
  }

  /** Error and fatal entries per node since a time (for the fleet table's "errors in the last hour"). */
  errorCounts(sinceMs: number): Map<string, number> {
    const rows = this.db.prepare('SELECT node, count(*) AS n FROM entries WHERE level >= ? AND ts >= ? GROUP BY node').all(RANK.ERROR!, sinceMs) as { node: number; n: number }[];
    return new Map(rows.map((r) => [this.nodeName(r.node), r.n]));
  }

  /** The entries of one node and source that follow an entry (an oops's remaining lines). */
  following(id: number, limit: number, withinMs: number): IndexedEntry[] {
    const first = this.db.prepare('SELECT node, source, ts FROM entries WHERE id = ?').get(id) as { node: number; source: string | null; ts: number } | undefined;
    if (!first) return [];
    const rows = this.db.prepare('SELECT id, node, line FROM entries WHERE node = ? AND source IS ? AND id > ? AND ts <= ? ORDER BY id LIMIT ?')
      .all(first.node, first.source, id, first.ts + withinMs, limit) as { id: number; node: number; line: string }[];
    return rows.map((r) => ({ id: r.id, node: this.nodeName(r.node), entry: JSON.parse(r.line) as Record<string, unknown> }));
  }

  /** Retention by age: deletes entries older than cutoffMs; returns how many. */
  deleteOlderThan(cutoffMs: number): number {
    return this.deleteWhere('ts < ?', [cutoffMs]);
  }

  /** Retention by size: deletes a node's oldest entries while it holds more than maxBytes. */
  trimNode(node: string, maxBytes: number): number {
    const id = this.nodeIds.get(node);
    if (id === undefined) return 0;
    const total = (this.db.prepare('SELECT coalesce(sum(bytes), 0) AS b FROM entries WHERE node = ?').get(id) as { b: number }).b;
    if (total <= maxBytes) return 0;
    // The newest rows whose running total fits stay; everything before the first row that does not fit goes.
    const rows = this.db.prepare('SELECT id, bytes FROM entries WHERE node = ? ORDER BY id DESC').iterate(id) as Iterable<{ id: number; bytes: number }>;
    let kept = 0;
    let cut = 0;
    for (const r of rows) {
      kept += r.bytes;
      if (kept > maxBytes) {
        cut = r.id;
        break;
      }
    }
    return cut ? this.deleteWhere('node = ? AND id <= ?', [id, cut]) : 0;
  }

  private deleteWhere(cond: string, params: number[]): number {
    this.flush();
    this.db.exec('BEGIN');
    try {
      this.db.prepare(`DELETE FROM entries_text WHERE rowid IN (SELECT id FROM entries WHERE ${cond})`).run(...params);
      const n = Number(this.db.prepare(`DELETE FROM entries WHERE ${cond}`).run(...params).changes);
      this.db.exec('COMMIT');
      return n;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  meta(key: string): string | undefined {
    return (this.st.meta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.st.setMeta.run(key, value);
  }

  /** Empties the index (before a rebuild). */
  clear(): void {
    this.queue = [];
    this.queuedEntries = 0;
    this.db.exec('DELETE FROM entries; DELETE FROM entries_text; DELETE FROM nodes; DELETE FROM meta;');
    this.nodeIds.clear();
    this.nodeNames.clear();
  }

  get count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  }

  status(): Record<string, unknown> {
    return { path: this.path, entries_indexed: this.indexed, queued: this.queuedEntries, flushes: this.flushes, last_flush_ms: Math.round(this.lastFlushMs * 10) / 10, bad_lines: this.badLines };
  }

  close(): void {
    try {
      this.flush();
    } finally {
      clearTimeout(this.timer);
      this.db.close();
    }
  }
}

/** The text free-text search looks in: the message, the lang_key and its arguments. */
function searchText(e: Record<string, unknown>): string {
  let t = typeof e.message === 'string' ? e.message : '';
  if (typeof e.lang_key === 'string') t += ' ' + e.lang_key;
  if (Array.isArray(e.args)) t += ' ' + e.args.join(' ');
  return t;
}

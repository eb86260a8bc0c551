import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { LEVELS } from '../../lib/level.ts';
import { INDEX_SQL, LEVEL_RANK, SCHEMA_SQL } from './schema.ts';
import type { EntryQuery, StatsQuery } from './query.ts';

/**
 * The aggregator's queryable index, read side: SQLite (node:sqlite, in the pinned runtime) with
 * an FTS5 table for free text. Why SQLite: it is in the runtime already (no dependency, no native
 * build per target), answers node/level/time-range queries from B-tree indexes and text from
 * FTS5, and its WAL lets the API read while the writer (index-writer.ts, a worker thread) adds
 * batches. The index is derived data: the store stays the durable record, and `logloom
 * aggregator reindex` rebuilds this file from it.
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

const RANK = LEVEL_RANK;

/** Whether free text is the query's only filter. */
function textOnly(q: EntryQuery): boolean {
  return q.text !== undefined && !q.nodes.length && q.since === undefined && q.until === undefined && q.level === undefined
    && !q.levels.length && q.module === undefined && q.source === undefined && q.lang_key === undefined;
}

export class EntryIndex {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly nodeIds = new Map<string, number>();
  private readonly nodeNames = new Map<number, string>();
  private readonly st: { meta: StatementSync; nodeByName: StatementSync; nodeById: StatementSync; nodes: StatementSync };

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(SCHEMA_SQL);
    this.st = {
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      nodeByName: this.db.prepare('SELECT id FROM nodes WHERE name = ?'),
      nodeById: this.db.prepare('SELECT name FROM nodes WHERE id = ?'),
      nodes: this.db.prepare(INDEX_SQL.nodes),
    };
  }

  /** The writer adds nodes: names it has not seen yet are looked up (and remembered). */
  private idOf(name: string): number | undefined {
    let id = this.nodeIds.get(name);
    if (id === undefined) {
      id = (this.st.nodeByName.get(name) as { id: number } | undefined)?.id;
      if (id !== undefined) this.remember(id, name);
    }
    return id;
  }

  private remember(id: number, name: string): void {
    this.nodeIds.set(name, id);
    this.nodeNames.set(id, name);
  }

  nodeName(id: number): string {
    let name = this.nodeNames.get(id);
    if (name === undefined) {
      name = (this.st.nodeById.get(id) as { name: string } | undefined)?.name;
      if (name === undefined) return `#${id}`;
      this.remember(id, name);
    }
    return name;
  }

  /** Known node id of a name, or undefined (a query for an unknown node matches nothing). */
  lookupNode(name: string): number | undefined {
    return this.idOf(name);
  }

  /** Entries matching a query, one page, newest or oldest first (by order of arrival). */
  query(q: EntryQuery): EntryPage {
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const after = q.order === 'asc' ? '>' : '<';
    let ids: string;
    let params: (number | string)[];
    if (textOnly(q)) {
      // Free text alone: FTS5 walks its matches in rowid order itself and stops at the page's end
      // (a common word in a 10M-entry index: a millisecond, against reading all its matches
      // through the IN of the general case).
      ids = `SELECT rowid FROM entries_text WHERE entries_text MATCH ?${q.cursor !== undefined ? ` AND rowid ${after} ?` : ''} ORDER BY rowid ${order} LIMIT ?`;
      params = q.cursor !== undefined ? [q.text!, q.cursor] : [q.text!];
    } else {
      const w = this.where(q);
      if (w.where === undefined) return { entries: [] };
      const conds = [...w.where];
      params = w.params;
      if (q.cursor !== undefined) conds.push(`e.id ${after} ?`), params.push(q.cursor);
      // The page's ids first, from the indexes alone (node+time, level+time… hold the rowid: a
      // covering scan, then a sort of integers), then only those rows: selecting rows directly
      // made SQLite read every matching row before sorting (level=ERROR over an hour of a
      // 10M-entry index: 650 ms, against 10 ms this way).
      ids = `SELECT e.id FROM entries e ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY e.id ${order} LIMIT ?`;
    }
    params.push(q.limit + 1);
    const rows = this.db.prepare(`SELECT e.id, e.node, e.line FROM entries e WHERE e.id IN (${ids}) ORDER BY e.id ${order}`).all(...params) as { id: number; node: number; line: string }[];
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
      const ids = q.nodes.map((n) => this.idOf(n)).filter((id): id is number => id !== undefined);
      if (ids.length === 0) return { params };
      where.push(`e.node IN (${ids.map(() => '?').join(',')})`);
      params.push(...ids);
    }
    if (q.since !== undefined) where.push('e.ts >= ?'), params.push(q.since);
    if (q.until !== undefined) where.push('e.ts < ?'), params.push(q.until);
    if (q.level !== undefined) {
      // As a list of levels, not `>=`: then the (level, ts) index also serves the time range.
      const ranks = LEVELS.map((_, i) => i).filter((i) => i >= RANK[q.level!]!);
      where.push(`e.level IN (${ranks.map(() => '?').join(',')})`);
      params.push(...ranks);
    }
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
    for (const r of this.db.prepare('SELECT node, count(*) AS n, sum(bytes) AS b, max(ts) AS last FROM entries GROUP BY node').all() as { node: number; n: number; b: number; last: number }[]) {
      out.set(this.nodeName(r.node), { entries: r.n, bytes: r.b, last_entry_ms: r.last });
    }
    return out;
  }

  /** Per node, the newest entry's timestamp (one index probe per node). */
  lastEntryTimes(): Map<string, number> {
    const st = this.db.prepare('SELECT max(ts) AS t FROM entries WHERE node = ?');
    const out = new Map<string, number>();
    for (const { id, name } of this.st.nodes.all() as { id: number; name: string }[]) {
      const t = (st.get(id) as { t: number | null }).t;
      if (t !== null) out.set(name, t);
    }
    return out;
  }

  nodeNamesKnown(): string[] {
    return (this.st.nodes.all() as { name: string }[]).map((r) => r.name);
  }

  /** Error and fatal entries per node since a time (for the fleet table's "errors in the last hour"). */
  errorCounts(sinceMs: number): Map<string, number> {
    // Levels as a list: each is a range of the (level, ts) index (`level >= ?` scanned every
    // ERROR entry ever indexed: 1.4 s of start-up at 27 million entries).
    const rows = this.db.prepare('SELECT node, count(*) AS n FROM entries WHERE level IN (?, ?) AND ts >= ? GROUP BY node').all(RANK.ERROR!, RANK.FATAL!, sinceMs) as { node: number; n: number }[];
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

  /** Per node, the highest batch sequence the index holds (what a catch-up starts after). */
  indexedSeqs(): Map<string, number> {
    return new Map((this.db.prepare(INDEX_SQL.progressAll).all() as { name: string; seq: number }[]).map((r) => [r.name, r.seq]));
  }

  meta(key: string): string | undefined {
    return (this.st.meta.get(key) as { value: string } | undefined)?.value;
  }

  get count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

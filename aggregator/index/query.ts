import { LEVELS, type Level } from '../../lib/level.ts';
import { parseDuration } from '../../lib/schema/schema.ts';

/**
 * The filters of /api/entries, /api/tail and /api/stats, parsed from a query string. Every
 * problem is a QueryError whose message names the parameter, the value and what was expected
 * (the API answers it as 400).
 */
export interface EntryFilter {
  nodes: string[];
  /** ms since the epoch, inclusive / exclusive, by the entry's own timestamp. */
  since?: number;
  until?: number;
  /** Minimum level. */
  level?: Level;
  /** Exact levels (any of). */
  levels: Level[];
  module?: string;
  source?: string;
  lang_key?: string;
  /** Free text as an FTS5 expression (built from the words of `q`). */
  text?: string;
  /**
   * The words of `q`, lower-cased, for matching live entries (tail) without the index; a word
   * that ends in `*` matches as a prefix (see textWords).
   */
  words: string[];
}

export interface EntryQuery extends EntryFilter {
  limit: number;
  order: 'asc' | 'desc';
  cursor?: number;
}

export interface StatsQuery extends EntryFilter {
  bucketMs: number;
  by: 'level' | 'node' | 'module';
}

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

const KNOWN = new Set(['node', 'since', 'until', 'level', 'levels', 'module', 'source', 'lang_key', 'q', 'limit', 'order', 'cursor', 'bucket', 'by', 'lang']);
const NODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const MAX_LIMIT = 1000;

function level(name: string, value: string): Level {
  const l = value.toUpperCase();
  if (!(LEVELS as readonly string[]).includes(l)) throw new QueryError(`${name}=${JSON.stringify(value)}: expected one of ${LEVELS.join(', ')}`);
  return l as Level;
}

/** An instant: ISO 8601, ms since the epoch, or a duration ago (`15m`, `2h`, `7d`). */
export function parseInstant(name: string, value: string, now: number): number {
  if (/^\d{12,}$/.test(value)) return Number(value);
  const ago = parseDuration(value);
  if (ago !== undefined && /[a-z]$/i.test(value)) return now - ago;
  const t = Date.parse(value);
  if (!Number.isFinite(t) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new QueryError(`${name}=${JSON.stringify(value)}: expected an ISO 8601 time (2026-01-01T12:00:00Z), milliseconds since the epoch, or a duration ago (15m, 2h, 7d)`);
  }
  return t;
}

/**
 * Words of a free-text query → an FTS5 expression: every word must occur; a word ending in `*`
 * as a word prefix, the others as whole words.
 */
export function ftsExpression(words: readonly string[]): string {
  return words.map((w) => (w.endsWith('*') ? `"${w.slice(0, -1).replaceAll('"', '""')}"*` : `"${w.replaceAll('"', '""')}"`)).join(' ');
}

/**
 * Splits free text into words the way FTS5's unicode61 tokenizer sees them (letters and digits),
 * lower-cased. A word the user ends with `*`, and the last word (search as you type: `disk lo`
 * finds "disk space low"), match as prefixes, marked by a trailing `*`; the others match whole
 * words. Why not every word as a prefix: FTS5 reads the whole posting list of a prefix before
 * intersecting (a common word in a 10-million-entry index: a million postings), while a whole
 * word is intersected by skipping through its list.
 */
export function textWords(q: string): string[] {
  const words: string[] = [];
  for (const m of q.toLowerCase().matchAll(/([\p{L}\p{N}_]+)(\*?)/gu)) words.push(m[1]! + m[2]!);
  if (words.length && !words[words.length - 1]!.endsWith('*')) words[words.length - 1] += '*';
  return words;
}

/** Words of a text as the index holds them (lower-cased letters and digits). */
function indexWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean);
}

export function parseFilter(p: URLSearchParams, now = Date.now()): EntryFilter {
  for (const k of p.keys()) if (!KNOWN.has(k)) throw new QueryError(`unknown parameter ${JSON.stringify(k)}; known: ${[...KNOWN].join(', ')}`);
  const one = (k: string): string | undefined => {
    const all = p.getAll(k);
    if (all.length > 1 && k !== 'node') throw new QueryError(`${k} given ${all.length} times; give it once`);
    return all[0] === '' ? undefined : all[0];
  };
  const nodes = p.getAll('node').flatMap((v) => v.split(',')).filter(Boolean);
  for (const n of nodes) if (!NODE.test(n)) throw new QueryError(`node=${JSON.stringify(n)}: not a node id ([A-Za-z0-9][A-Za-z0-9_.-]{0,127})`);
  const f: EntryFilter = { nodes, levels: [], words: [] };
  const since = one('since');
  const until = one('until');
  if (since !== undefined) f.since = parseInstant('since', since, now);
  if (until !== undefined) f.until = parseInstant('until', until, now);
  if (f.since !== undefined && f.until !== undefined && f.since >= f.until) throw new QueryError(`since (${new Date(f.since).toISOString()}) must be before until (${new Date(f.until).toISOString()})`);
  const lv = one('level');
  if (lv !== undefined) f.level = level('level', lv);
  const lvs = one('levels');
  if (lvs !== undefined) f.levels = lvs.split(',').filter(Boolean).map((l) => level('levels', l));
  const mod = one('module');
  if (mod !== undefined) {
    if (mod.length > 64) throw new QueryError('module: longer than 64 characters');
    f.module = mod.toUpperCase();
  }
  const src = one('source');
  if (src !== undefined) f.source = src;
  const lk = one('lang_key');
  if (lk !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(lk)) throw new QueryError(`lang_key=${JSON.stringify(lk.slice(0, 64))}: expected a dotted key such as demo.disk_low`);
    f.lang_key = lk;
  }
  const q = one('q');
  if (q !== undefined) {
    if (q.length > 1024) throw new QueryError('q: longer than 1024 characters');
    f.words = textWords(q);
    if (f.words.length === 0) throw new QueryError(`q=${JSON.stringify(q)}: no word to search for (letters or digits)`);
    if (f.words.length > 32) throw new QueryError('q: more than 32 words');
    f.text = ftsExpression(f.words);
  }
  return f;
}

export function parseEntryQuery(p: URLSearchParams, now = Date.now()): EntryQuery {
  const f = parseFilter(p, now);
  const limitText = p.get('limit') ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT) throw new QueryError(`limit=${JSON.stringify(limitText)}: expected an integer from 1 to ${MAX_LIMIT}`);
  const order = p.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new QueryError(`order=${JSON.stringify(order)}: expected asc (oldest first) or desc (newest first)`);
  const c = p.get('cursor');
  let cursor: number | undefined;
  if (c !== null && c !== '') {
    if (!/^\d{1,15}$/.test(c)) throw new QueryError(`cursor=${JSON.stringify(c.slice(0, 32))}: expected the next_cursor of a previous answer`);
    cursor = Number(c);
  }
  return { ...f, limit, order, cursor };
}

export function parseStatsQuery(p: URLSearchParams, now = Date.now()): StatsQuery {
  const f = parseFilter(p, now);
  if (f.since === undefined) f.since = now - 3_600_000;
  const b = p.get('bucket') ?? '1m';
  const bucketMs = parseDuration(b);
  if (bucketMs === undefined || bucketMs < 1000 || bucketMs > 30 * 86_400_000) throw new QueryError(`bucket=${JSON.stringify(b)}: expected a duration from 1s to 30d (e.g. 1m, 1h)`);
  const span = (f.until ?? now) - f.since;
  if (span / bucketMs > 10_000) throw new QueryError(`bucket=${b}: ${Math.ceil(span / bucketMs)} buckets; use a larger bucket or a shorter time range (at most 10000 buckets)`);
  const by = p.get('by') ?? 'level';
  if (by !== 'level' && by !== 'node' && by !== 'module') throw new QueryError(`by=${JSON.stringify(by)}: expected level, node or module`);
  return { ...f, bucketMs, by };
}

const RANK: Record<string, number> = Object.fromEntries(LEVELS.map((l, i) => [l, i]));

/** Whether a live entry (of `node`) passes a filter; the same rules as the index's WHERE. */
export function matches(f: EntryFilter, node: string, e: Record<string, unknown>): boolean {
  if (f.nodes.length && !f.nodes.includes(node)) return false;
  const lv = RANK[String(e.level)] ?? 1;
  if (f.level !== undefined && lv < RANK[f.level]!) return false;
  if (f.levels.length && !f.levels.some((l) => RANK[l] === lv)) return false;
  if (f.module !== undefined && e.module !== f.module) return false;
  if (f.source !== undefined && e.source !== f.source) return false;
  if (f.lang_key !== undefined && e.lang_key !== f.lang_key) return false;
  if (f.since !== undefined || f.until !== undefined) {
    const ts = typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN;
    if (f.since !== undefined && !(ts >= f.since)) return false;
    if (f.until !== undefined && !(ts < f.until)) return false;
  }
  if (f.words.length) {
    const have = new Set(indexWords(`${String(e.message ?? '')} ${String(e.lang_key ?? '')} ${Array.isArray(e.args) ? e.args.join(' ') : ''}`));
    const found = (w: string) => (w.endsWith('*') ? [...have].some((h) => h.startsWith(w.slice(0, -1))) : have.has(w));
    if (!f.words.every(found)) return false;
  }
  return true;
}

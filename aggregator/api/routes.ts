import type { IncomingMessage, ServerResponse } from 'node:http';
import { Catalogue } from '../../lib/i18n/catalogue.ts';
import { VERSION } from '../../lib/version.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { NodeRegistry } from '../fleet/nodes.ts';
import { parseEntryQuery, parseFilter, parseStatsQuery, QueryError } from '../index/query.ts';
import type { ApiConfig } from '../config/api.ts';
import { ApiTokens, type Role } from './tokens.ts';
import { Dashboard } from '../dashboard/dashboard.ts';

/** One row of GET /api/nodes. */
export interface NodeView {
  name: string;
  /** up = connected (its agent pings while idle) or heard within silent_after; silent = not up but heard within 10 × silent_after; down = otherwise. */
  status: 'up' | 'silent' | 'down';
  connected: boolean;
  remote: string;
  last_seen: string | null;
  last_seq: number;
  version: string | null;
  entries: number;
  bytes: number;
  rate_1m: number;
  rate_15m: number;
  errors_1h: number;
  dropped: number | null;
  spool_entries: number | null;
  spool_bytes: number | null;
  reported_at: string | null;
  received_entries: number;
  received_bytes: number;
}

export interface ApiContext {
  fleet: Fleet;
  nodes: NodeRegistry;
  config: ApiConfig;
  /** The aggregator's status (GET /api/status, admin only). */
  status: () => unknown;
  warn: (m: string) => void;
}

class HttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const LANGS = new Set(['en', 'zh']);

/**
 * The query API and the dashboard on the aggregator's HTTP listener. Every /api/ route except
 * /api/i18n (the dashboard's own words, so the login page is translated) needs a bearer token
 * (`Authorization: Bearer …`) from the API tokens file, unless `anonymous: viewer`. Answers are
 * JSON; errors are `{"error": "…"}` with 400 (bad query), 401 (no or unknown token), 403 (role),
 * 404, 405 or 503.
 */
export class ApiRoutes {
  private readonly c: ApiContext;
  readonly tokens: ApiTokens;
  private readonly catalogue = new Catalogue('en');
  private readonly dashboard = new Dashboard();
  requests = 0;
  refused = 0;
  badRequests = 0;

  constructor(c: ApiContext) {
    this.c = c;
    this.tokens = new ApiTokens(c.config.tokens_file, c.warn);
    this.tokens.refresh(true);
  }

  /** Handles the request when it is the API's or the dashboard's; false = not ours. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://logloom');
    if (!url.pathname.startsWith('/api/')) return this.dashboard.serve(url.pathname, req, res);
    this.requests++;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not supported; the API is read-only (GET)`);
      this.route(url, req, res);
    } catch (e) {
      const code = e instanceof QueryError ? 400 : e instanceof HttpError ? e.code : 500;
      if (code === 400) this.badRequests++;
      if (code === 401 || code === 403) this.refused++;
      if (code === 500) this.c.warn(`api: ${url.pathname}: ${(e as Error).stack ?? e}`);
      if (!res.headersSent) {
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
        if (code === 401) headers['www-authenticate'] = 'Bearer realm="logloom"';
        res.writeHead(code, headers);
      }
      res.end(JSON.stringify({ error: (e as Error).message }) + '\n');
    }
    return true;
  }

  private role(req: IncomingMessage): Role {
    const h = req.headers.authorization;
    if (h === undefined || h === '') {
      if (this.c.config.anonymous === 'viewer') return 'viewer';
      throw new HttpError(401, 'a bearer token is required (Authorization: Bearer <token>); create one with `logloom aggregator api-token NAME`');
    }
    const m = /^Bearer\s+(\S{1,512})$/i.exec(h);
    if (!m) throw new HttpError(401, 'the Authorization header must be `Bearer <token>`');
    const t = this.tokens.check(m[1]!);
    if (!t) throw new HttpError(401, 'unknown or revoked token');
    return t.role;
  }

  private route(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const p = url.searchParams;
    const path = url.pathname;
    if (path === '/api/i18n') return json(res, this.i18n(lang(p)));
    const role = this.role(req);
    const index = this.c.fleet.index;
    switch (path) {
      case '/api/whoami':
        return json(res, { role, version: VERSION });
      case '/api/nodes':
        only(p, []);
        return json(res, { silent_after_ms: this.c.config.silent_after, nodes: this.nodesView() });
      case '/api/entries': {
        if (!index) throw new HttpError(503, 'the index is disabled (aggregator.index.enabled: false)');
        const l = lang(p);
        const q = parseEntryQuery(p);
        const page = index.query(q);
        return json(res, { entries: page.entries.map((e) => ({ id: e.id, node: e.node, entry: this.render(e.entry, l) })), next_cursor: page.next_cursor ?? null });
      }
      case '/api/tail': {
        const l = lang(p);
        const f = parseFilter(p);
        if (this.c.fleet.tail.size >= this.c.config.max_tail_clients) throw new HttpError(503, `too many live-tail clients (${this.c.config.max_tail_clients}); retry later`);
        this.c.fleet.tail.add(res, f, (e) => this.render(e, l));
        return;
      }
      case '/api/stats': {
        if (!index) throw new HttpError(503, 'the index is disabled (aggregator.index.enabled: false)');
        return json(res, index.stats(parseStatsQuery(p)));
      }
      case '/api/status':
        if (role !== 'admin') throw new HttpError(403, 'GET /api/status needs an admin token');
        return json(res, this.c.status());
    }
    const incidents = /^\/api\/nodes\/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})\/incidents$/.exec(path);
    if (incidents) {
      if (!index) throw new HttpError(503, 'the index is disabled (aggregator.index.enabled: false)');
      const l = lang(p);
      p.delete('lang');
      const lim = p.get('limit') ?? '20';
      p.delete('limit');
      only(p, ['since', 'until']);
      p.set('node', incidents[1]!);
      p.set('level', 'FATAL');
      p.set('limit', lim);
      const q = parseEntryQuery(p);
      const page = index.query(q);
      return json(res, {
        incidents: page.entries.map((e) => ({
          id: e.id, node: e.node, entry: this.render(e.entry, l),
          // The oops/panic's following lines from the same source (its whole text).
          following: index.following(e.id, 200, 10_000).map((f) => this.render(f.entry, l)),
        })),
      });
    }
    throw new HttpError(404, `no such API route: ${path} (see docs/aggregator-api.md)`);
  }

  nodesView(now = Date.now()): NodeView[] {
    const silent = this.c.config.silent_after;
    const rows = new Map(this.c.nodes.list().map((r) => [r.name, r]));
    const names = new Set([...rows.keys(), ...this.c.fleet.state.names()]);
    const out: NodeView[] = [];
    for (const name of names) {
      const r = rows.get(name);
      const a = this.c.fleet.state.get(name);
      const seenMs = r && r.last_seen !== '-' ? Date.parse(r.last_seen) : 0;
      const heard = Math.max(seenMs, a?.last_stored_ms ?? 0);
      const connected = r?.connected ?? false;
      const status = connected || now - heard < silent ? 'up' : heard > 0 && now - heard < 10 * silent ? 'silent' : 'down';
      const rep = a?.report;
      out.push({
        name, status, connected, remote: r?.remote ?? '-',
        last_seen: heard > 0 ? new Date(heard).toISOString() : null,
        last_seq: r?.last_seq ?? 0,
        version: rep?.version ?? null,
        entries: r?.entries ?? 0,
        bytes: r?.bytes ?? 0,
        rate_1m: round(a?.rate_1m ?? 0),
        rate_15m: round(a?.rate_15m ?? 0),
        errors_1h: a ? this.c.fleet.state.errorsLastHour(a) : 0,
        dropped: rep?.dropped ?? null,
        spool_entries: rep?.spool_entries ?? null,
        spool_bytes: rep?.spool_bytes ?? null,
        reported_at: rep?.received_at ?? null,
        received_entries: a?.received_entries ?? 0,
        received_bytes: a?.received_bytes ?? 0,
      });
    }
    return out.sort((x, y) => x.name.localeCompare(y.name));
  }

  /** An entry with `text`: its lang_key rendered in the language asked for, else its message. */
  private render(e: Record<string, unknown>, l: string): Record<string, unknown> {
    if (typeof e.lang_key !== 'string') return e;
    const args = Array.isArray(e.args) ? (e.args.filter((a) => typeof a === 'string' || typeof a === 'number') as (string | number)[]) : [];
    return { ...e, text: this.catalogue.render(e.lang_key, args, l) };
  }

  /** The dashboard's words (the `dashboard` section of locales/<lang>.yaml). */
  private i18n(l: string): { lang: string; strings: Record<string, string> } {
    const strings: Record<string, string> = {};
    for (const k of DASHBOARD_KEYS) strings[k] = this.catalogue.template(`dashboard.${k}`, l) ?? k;
    return { lang: l, strings };
  }

  status(): Record<string, unknown> {
    return { requests: this.requests, refused: this.refused, bad_requests: this.badRequests, tokens: this.tokens.size };
  }
}

/** Keys of the dashboard's words (locales/*.yaml, section dashboard). */
export const DASHBOARD_KEYS = [
  'title', 'login', 'token', 'sign_in', 'sign_out', 'bad_token', 'fleet', 'tail', 'search', 'node', 'status', 'up', 'silent', 'down',
  'last_seen', 'version', 'rate_1m', 'rate_15m', 'drops', 'backlog', 'errors_1h', 'entries', 'filter', 'recent', 'histogram',
  'incidents', 'summaries', 'none', 'level', 'module', 'source', 'text', 'time', 'message', 'start', 'stop', 'search_button',
  'results', 'language', 'more', 'connected', 'all_levels',
] as const;

function lang(p: URLSearchParams): string {
  const l = p.get('lang') ?? 'en';
  if (!LANGS.has(l)) throw new QueryError(`lang=${JSON.stringify(l.slice(0, 16))}: expected one of ${[...LANGS].join(', ')}`);
  return l;
}

function only(p: URLSearchParams, allowed: string[]): void {
  for (const k of p.keys()) if (!allowed.includes(k) && k !== 'lang') throw new QueryError(`unknown parameter ${JSON.stringify(k)}${allowed.length ? `; known: ${allowed.join(', ')}` : ' (this route takes none)'}`);
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

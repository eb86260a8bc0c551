import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { parseLocale, Catalogue } from '../../lib/i18n/catalogue.ts';
import { loadConfig } from '../../agent/config/load.ts';
import { UsageError } from './command.ts';

/**
 * The client side of the aggregator's query API for `logloom tail` and `logloom query`: where the
 * API is and which token to send (flags, then environment, then the configuration file's
 * aggregator.api.client), requests, and rendering entries as text with lang_key entries rendered
 * from the local catalogue in the chosen language.
 */
export interface ClientTarget {
  url: URL;
  token?: string;
  ca?: Buffer;
}

export const clientOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  lang: { type: 'string' },
  'lang-dir': { type: 'string' },
  node: { type: 'string', multiple: true },
  level: { type: 'string' },
  module: { type: 'string' },
  source: { type: 'string' },
  'lang-key': { type: 'string' },
  grep: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
} as const;

export interface ClientValues {
  url?: string;
  token?: string;
  'token-file'?: string;
  ca?: string;
  config?: string;
  json?: boolean;
  lang?: string;
  'lang-dir'?: string;
  node?: string[];
  level?: string;
  module?: string;
  source?: string;
  'lang-key'?: string;
  grep?: string;
  since?: string;
  until?: string;
}

export function resolveTarget(v: ClientValues): ClientTarget {
  let cfg: { url?: string; token_file?: string; ca?: string } = {};
  if (v.config !== undefined || !v.url) {
    try {
      cfg = loadConfig(v.config).config.aggregator.api.client;
    } catch (e) {
      if (v.config !== undefined) throw e;
    }
  }
  const urlText = v.url ?? process.env.LOGLOOM_URL ?? cfg.url;
  if (!urlText) throw new UsageError('no aggregator: give --url http(s)://host:port, set $LOGLOOM_URL, or set aggregator.api.client.url in the configuration');
  let url: URL;
  try {
    url = new URL(urlText);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--url ${JSON.stringify(urlText)}: expected http(s)://host:port`);
  }
  const tokenFile = v['token-file'] ?? cfg.token_file;
  let token = v.token ?? (process.env.LOGLOOM_TOKEN || undefined);
  if (token === undefined && tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (e) {
      throw new Error(`token file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const caFile = v.ca ?? cfg.ca;
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (e) {
      throw new Error(`CA file ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { url, token, ca };
}

/** The query string of the filter flags (the API checks them and answers 400 with the reason). */
export function filterParams(v: ClientValues): URLSearchParams {
  const p = new URLSearchParams();
  for (const n of v.node ?? []) p.append('node', n);
  if (v.level) p.set('level', v.level);
  if (v.module) p.set('module', v.module);
  if (v.source) p.set('source', v.source);
  if (v['lang-key']) p.set('lang_key', v['lang-key']);
  if (v.grep) p.set('q', v.grep);
  if (v.since) p.set('since', v.since);
  if (v.until) p.set('until', v.until);
  return p;
}

export class ApiRequestError extends Error {}

/** GET path?params; resolves with the open response (status 200) or throws with the API's error text. */
export function get(target: ClientTarget, path: string, params: URLSearchParams, signal?: AbortSignal): Promise<IncomingMessage> {
  const url = new URL(path, target.url);
  url.search = params.toString();
  const headers: Record<string, string> = { accept: 'application/json, text/event-stream' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  // node:http(s) load when a fleet command runs, not with every command (the agent's start-up).
  const req = url.protocol === 'https:' ? process.getBuiltinModule('node:https').request : process.getBuiltinModule('node:http').request;
  return new Promise((resolve, reject) => {
    const r = req(url, { headers, ca: target.ca, signal, agent: false }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body.length < 65536 ? (body += d) : undefined));
      res.on('end', () => {
        let msg = body.trim();
        try {
          msg = (JSON.parse(body) as { error?: string }).error ?? msg;
        } catch { /* not JSON */ }
        reject(new ApiRequestError(`${url.origin}${url.pathname}: HTTP ${res.statusCode}: ${msg}`));
      });
    });
    r.on('error', (e) => reject(new Error(`cannot reach the aggregator at ${url.origin}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    r.end();
  });
}

export async function getJson<T>(target: ClientTarget, path: string, params: URLSearchParams): Promise<T> {
  const res = await get(target, path, params);
  let body = '';
  res.setEncoding('utf8');
  for await (const d of res) body += d as string;
  return JSON.parse(body) as T;
}

/**
 * Renders entries as text: `TIME NODE LEVEL MODULE message`, with lang_key entries rendered in
 * `lang` from the catalogue (en, zh, or the <lang>.yaml files of --lang-dir, as lang_yaml does).
 */
export class EntryPrinter {
  private readonly catalogue: Catalogue;
  private readonly lang: string;

  constructor(lang: string | undefined, langDir: string | undefined) {
    const warnings: string[] = [];
    this.catalogue = new Catalogue('en', (m) => warnings.push(m));
    if (langDir !== undefined && lang !== undefined) {
      const file = `${langDir}/${lang}.yaml`;
      let table: Map<string, string>;
      try {
        table = parseLocale(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new Error(`--lang-dir: ${file}: ${(e as Error).message.split('\n')[0]}`);
      }
      this.catalogue.addResolver((key, l) => (l === lang ? (table.get(key) ?? null) : null));
    }
    this.lang = lang ?? 'en';
    if (lang !== undefined && !this.catalogue.hasLanguage(lang) && langDir === undefined) {
      throw new UsageError(`--lang ${JSON.stringify(lang)}: expected en or zh, or give --lang-dir with a ${lang}.yaml`);
    }
  }

  text(node: string, e: Record<string, unknown>): string {
    const msg = typeof e.lang_key === 'string'
      ? this.catalogue.render(e.lang_key, Array.isArray(e.args) ? (e.args as (string | number)[]) : [], this.lang)
      : String(e.message ?? '');
    return `${String(e.timestamp ?? '-')} ${node} ${String(e.level ?? '-').padEnd(5)} ${String(e.module ?? '-')} ${msg}`;
  }
}

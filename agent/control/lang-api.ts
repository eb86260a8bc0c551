/**
 * The REST path of lang_hot_reload: GET and PUT of catalogue keys on the agent's HTTP endpoint.
 *
 *   GET /lang/<lang>/<key>   → 200 {"lang","key","template"} (what the agent renders with now) | 404
 *   PUT /lang/<lang>/<key>   body {"template":"…"} (or null to remove the override)
 *                            → 200 {"lang","key","template","applied":true} once the catalogue uses it,
 *                              202 {…,"applied":false} when the plugin has not picked it up within 5 s
 *
 * Every request needs `Authorization: Bearer <token>`, the token being the contents of the token
 * file (re-read per request, so it can be rotated; a file readable by group or others is refused).
 * A PUT is persisted to the plugin's override file ({lang: {key: template}}, replaced atomically),
 * which lang_hot_reload watches beside its language files: the change survives restarts and is
 * applied without one. Templates are checked like any plugin output (validate-output.ts).
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentLog } from '../../lib/log.ts';
import { LANG, LANG_KEY, validateTemplate } from '../plugins/validate-output.ts';

export interface LangApiOptions {
  tokenFile: string;
  overrideFile: string;
  /** The agent's catalogue lookup (lang plugins first). */
  template(key: string, lang: string): string | undefined;
  log: AgentLog;
  /** How long a PUT waits for the plugin to apply the change. */
  applyTimeoutMs?: number;
}

const MAX_BODY = 16 * 1024;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class LangApi {
  private readonly opts: LangApiOptions;
  /** PUTs one after another: each reads, changes and replaces the whole file. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(opts: LangApiOptions) {
    this.opts = opts;
  }

  /** Handles /lang/… requests; false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const m = /^\/lang\/([^/?#]+)\/([^/?#]+)$/.exec(req.url ?? '');
    if (!m && !(req.url ?? '').startsWith('/lang/')) return false;
    void this.answer(req, m).then(
      (body) => send(res, body.applied === false ? 202 : 200, body),
      (e) => send(res, e instanceof HttpError ? e.status : 500, { error: (e as Error).message }),
    );
    return true;
  }

  private async answer(req: IncomingMessage, m: RegExpExecArray | null): Promise<Record<string, unknown>> {
    this.authenticate(req);
    if (!m) throw new HttpError(404, 'expected /lang/<lang>/<key>');
    let lang: string;
    let key: string;
    try {
      lang = decodeURIComponent(m[1]!);
      key = decodeURIComponent(m[2]!);
    } catch {
      throw new HttpError(400, 'malformed percent-encoding in the path');
    }
    if (!LANG.test(lang)) throw new HttpError(400, `"${lang.slice(0, 20)}" is not a language code (e.g. en, zh, pt-BR)`);
    if (!LANG_KEY.test(key)) throw new HttpError(400, 'the key must be 1 to 128 characters of A-Z a-z 0-9 _ . -');
    if (req.method === 'GET') {
      const template = this.opts.template(key, lang);
      if (template === undefined) throw new HttpError(404, `no template for ${key} in ${lang}`);
      return { lang, key, template };
    }
    if (req.method !== 'PUT') throw new HttpError(405, 'GET or PUT');
    const body = await readBody(req);
    let template: string | null;
    try {
      const v = JSON.parse(body) as { template?: unknown };
      if (v === null || typeof v !== 'object' || !('template' in v)) throw new Error('expected {"template": "…"} or {"template": null}');
      template = v.template === null ? null : validateTemplate(key, v.template);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    const write = this.writes.then(() => this.persist(lang, key, template));
    this.writes = write.catch(() => {});
    await write;
    this.opts.log.info(`lang ${lang} ${key}: ${template === null ? 'override removed' : 'override set'} through the REST path`);
    const applied = template === null || (await this.applied(key, lang, template));
    return { lang, key, template, applied };
  }

  private authenticate(req: IncomingMessage): void {
    let token: Buffer;
    try {
      const st = statSync(this.opts.tokenFile);
      if (st.mode & 0o077) throw new HttpError(403, `token file ${this.opts.tokenFile} is readable by others (chmod 600 it); refusing every request`);
      token = Buffer.from(readFileSync(this.opts.tokenFile, 'utf8').trim());
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(503, `token file ${this.opts.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const given = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '');
    if (token.length === 0 || given.length !== token.length || !process.getBuiltinModule('node:crypto').timingSafeEqual(given, token)) throw new HttpError(401, 'missing or wrong bearer token');
  }

  /** Reads the override file, changes one key, replaces it atomically. */
  private persist(lang: string, key: string, template: string | null): void {
    const file = this.opts.overrideFile;
    let doc: Record<string, Record<string, string>> = {};
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('top level is not an object');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new HttpError(500, `override file ${file} is unreadable (${(e as Error).message}); fix or remove it`);
      doc = {};
    }
    const table = (doc[lang] ??= {});
    if (template === null) delete table[key];
    else table[key] = template;
    if (Object.keys(table).length === 0) delete doc[lang];
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o644 });
    renameSync(tmp, file);
  }

  /** Waits (bounded, polling the catalogue) until the agent renders with the new template. */
  private async applied(key: string, lang: string, template: string): Promise<boolean> {
    const deadline = Date.now() + (this.opts.applyTimeoutMs ?? 5000);
    while (Date.now() < deadline) {
      if (this.opts.template(key, lang) === template) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
  res.end(JSON.stringify(body) + '\n');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

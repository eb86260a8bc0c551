import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readAsset } from '../../lib/assets.ts';

/** The dashboard's files (aggregator/dashboard/static/), embedded in the executable as assets. */
const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
const DIR = 'aggregator/dashboard/static/';

/**
 * Serves the web dashboard: plain HTML, CSS and JavaScript, no framework and nothing fetched
 * from elsewhere (it works offline). The files carry no data; everything the page shows comes
 * from /api/* with the viewer's token, so they are served without one.
 */
export class Dashboard {
  private readonly cache = new Map<string, { body: Buffer; etag: string }>();

  serve(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    const name = FILES[path];
    if (!name) return false;
    let f = this.cache.get(name);
    if (!f) {
      const body = readAsset(DIR + name);
      f = { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` };
      this.cache.set(name, f);
    }
    const headers = {
      'content-type': TYPES[name.split('.').pop()!]!,
      etag: f.etag,
      'cache-control': 'no-cache',
      // Only our own files and the API: no inline script, no third-party origin.
      'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    };
    if (req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : f.body);
    return true;
  }
}

/**
 * `format: nginx` and `format: apache`: access logs in the Combined and Common Log Formats that
 * both servers write by default:
 *   `203.0.113.7 - alice [30/Nov/2026:17:30:01 +0100] "GET /api HTTP/1.1" 502 157 "-" "curl/8.5"`
 * The request line is the message; status 5xx is ERROR, 4xx WARN, others INFO; the client,
 * user, method, path, protocol, status, bytes, referer and user agent are fields.
 */
import { layouts, type Layout } from './builtin.ts';
import type { LineParser, ParsedLine, ParserOptions } from './types.ts';

const COMMON = '^(?<remote>\\S{1,256}) (?<ident>\\S{1,256}) (?<user>\\S{1,256}) \\[(?<time>[^\\]]{1,64})\\] "(?<request>(?:[^"\\\\]|\\\\.){0,16384})" (?<status>\\d{3}) (?<bytes>\\d+|-)';
const COMBINED = `${COMMON} "(?<referer>(?:[^"\\\\]|\\\\.)*)" "(?<agent>(?:[^"\\\\]|\\\\.)*)"(?<rest>.*)$`;

function finish(parsed: ParsedLine, g: Record<string, string>): void {
  const f = (parsed.fields ??= {});
  const status = Number(g.status);
  parsed.level = status >= 500 ? 'ERROR' : status >= 400 ? 'WARN' : 'INFO';
  parsed.message = g.request!;
  const req = /^(\S+) (\S+)(?: (\S+))?$/.exec(g.request!);
  delete f.request;
  delete f.ident;
  if (req) {
    f.method = req[1]!;
    f.path = req[2]!;
    if (req[3]) f.protocol = req[3];
  }
  f.status = status;
  f.bytes = g.bytes === '-' ? 0 : Number(g.bytes);
  if (f.user === '-') delete f.user;
  if (f.referer === '-') delete f.referer;
  if (!f.rest) delete f.rest;
  else f.rest = String(f.rest).trim();
}

export const ACCESS_LAYOUTS: Layout[] = [
  { pattern: new RegExp(COMBINED, 's'), timeFormat: '%d/%b/%Y:%H:%M:%S %z', finish },
  { pattern: new RegExp(`${COMMON}$`, 's'), timeFormat: '%d/%b/%Y:%H:%M:%S %z', finish },
];

export function create(opts: ParserOptions): LineParser {
  return layouts(ACCESS_LAYOUTS, opts);
}

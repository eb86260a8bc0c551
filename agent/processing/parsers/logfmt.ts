/**
 * `format: logfmt`: `time=… level=warn msg="pump stalled" pump=3` (Go's slog text handler,
 * Heroku's logfmt). The pairs are read by the `logfmt` package's parser; a line without any
 * key=value pair is unparsed.
 */
// The parser module alone: the package's main module also pulls in its HTTP and stream helpers.
import logfmtParser from 'logfmt/lib/logfmt_parser.js';
import { fromRecord } from './record.ts';
import type { LineParser, ParserOptions } from './types.ts';

export function readLogfmt(text: string): Record<string, unknown> | undefined {
  if (!text.includes('=')) return undefined;
  const parsed = logfmtParser.parse(text) as Record<string, unknown>;
  // A null-prototype copy: a key such as __proto__ stays an ordinary field.
  const record: Record<string, unknown> = Object.create(null);
  let pairs = 0;
  for (const k of Object.keys(parsed)) {
    const v = parsed[k];
    if (v === true && !text.includes(`${k}=`)) continue; // a bare word, not a pair
    record[k] = v;
    pairs++;
  }
  return pairs > 0 ? record : undefined;
}

export function create(opts: ParserOptions): LineParser {
  return {
    parse(text) {
      const record = readLogfmt(text);
      return record && fromRecord(record, opts);
    },
  };
}

/**
 * `format: regex`: a pattern with named captures, like Fluent Bit's regex parser. Captures named
 * like the time/level/module/message keys (default `time`, `level`, `module`, `message`) fill the
 * entry; every other named capture becomes a field. A line the pattern does not match is unparsed.
 */
import { fromRecord } from './record.ts';
import type { LineParser, ParserOptions } from './types.ts';

/** Why a pattern is not usable, or undefined when it is (check-config reports it). */
export function checkPattern(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  return /\(\?<[A-Za-z_]/.test(re.source) ? undefined : 'the pattern has no named capture (?<name>…); name at least message, level or time';
}

export function create(opts: ParserOptions): LineParser {
  const re = opts.pattern;
  if (!re) throw new Error('parser format regex needs a pattern');
  return {
    parse(text) {
      const m = re.exec(text);
      // groups has no prototype: a capture named __proto__ stays a plain key. Unmatched (undefined) captures are skipped.
      return m?.groups ? fromRecord(m.groups, opts) : undefined;
    },
  };
}

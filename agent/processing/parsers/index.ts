/**
 * The line parsers, one module each, by the name used in `parser.format`. Adding a parser = one
 * file here + one line below + a row in docs/parsing.md.
 */
import type { ParserFactory } from './types.ts';
import * as regex from './regex.ts';
import * as logfmt from './logfmt.ts';
import * as json from './json.ts';
import * as cri from './cri.ts';
import * as python from './python.ts';
import * as java from './java.ts';
import * as go from './go.ts';
import * as accessLog from './access-log.ts';

export const PARSERS = {
  regex: regex.create,
  logfmt: logfmt.create,
  json: json.create,
  cri: cri.create,
  python: python.create,
  java: java.create,
  go: go.create,
  nginx: accessLog.create,
  apache: accessLog.create,
} satisfies Record<string, ParserFactory>;

export type ParserName = keyof typeof PARSERS;
export const PARSER_NAMES = Object.keys(PARSERS) as ParserName[];

import type { Level } from '../../../lib/level.ts';
import type { LevelTable } from '../levels.ts';
import type { TimeReader } from '../timestamp.ts';

export type FieldValue = string | number | boolean;

/** What a parser read from one line; absent parts keep what the input already had. */
export interface ParsedLine {
  message?: string;
  /** Epoch ms. */
  timestamp?: number;
  level?: Level;
  module?: string;
  fields?: Record<string, FieldValue>;
  /** CRI: the runtime split a long line; the next parts follow (joined by the line stage). */
  partial?: boolean;
  /** A time field was present but not in the expected form (kept in fields, counted). */
  timeError?: boolean;
}

/** Which keys of a structured line (JSON, logfmt, regex captures) carry the entry's parts. */
export interface KeyNames {
  time: readonly string[];
  level: readonly string[];
  module: readonly string[];
  message: readonly string[];
}

export interface ParserOptions {
  /** regex: the pattern with named captures. */
  pattern?: RegExp;
  time: TimeReader;
  /** The configured zone for times without one (built-in parsers read their own formats in it). */
  zone: string;
  levels: LevelTable;
  keys: KeyNames;
}

/** One parser: a line in, its parts out, or undefined when the line is not in this format. */
export interface LineParser {
  parse(text: string): ParsedLine | undefined;
}

export type ParserFactory = (opts: ParserOptions) => LineParser;

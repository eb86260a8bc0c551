/**
 * A lazy, read-only view of one entry record, for JS filters and sinks on the records path that
 * need fields. It reads only what is touched: level and module straight off the bytes (never
 * escaped, see levelModuleSpan), timestamp and message from their spans (the message is decoded
 * by itself), source by walking the top-level keys after the message, and the rest by parsing the
 * record once, on first use. It is a LogEntry to any code that only reads (render.ts, filters),
 * so the same logic serves objects and records. What it reads off the bytes relies on the layout
 * encodeEntry and the C codec write (timestamp, level, module, message first; compact JSON, each
 * string escaped the one way JSON.stringify does); a record of another layout is parsed instead.
 */
import type { LogEntry } from '../../entry/entry.ts';
import { LEVELS, type Level } from '../../lib/level.ts';
import { bytesAt, forEachRecord, levelModuleSpan, type EntryRecords, type LevelModuleSpan } from './records.ts';

const MESSAGE_KEY = Buffer.from(',"message":"');
const SOURCE_KEY = Buffer.from('source');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const NONE = Symbol('none');
const LEVEL_BY_INITIAL = new Map(LEVELS.map((l) => [l.charCodeAt(0), l]));

/**
 * Strings up to this long (a module, a source) are made in JS from their bytes, through a small
 * cache: the same few values come in record after record, and a filter may keep them (filter_dedupe
 * holds each new message's module and source), so each is one shared string, as JSON.parse gives
 * (it shares short values), rather than a new one per record. (The same string either way.)
 */
const SHORT = 32;
const SLOTS = 64;
const shortStrings: string[] = new Array<string>(SLOTS).fill('\u0000');

/**
 * The bytes [from, to) (at most SHORT) as a string: latin1, or UTF-8 when they are all ASCII
 * (the same then); undefined for other UTF-8, which the caller decodes natively. Direct-mapped
 * by a hash of the bytes: a hit costs two short loops and no allocation.
 */
function shortString(f: Buffer, from: number, to: number, latin1: boolean): string | undefined {
  let h = to - from;
  for (let i = from; i < to; i++) {
    const c = f[i]!;
    if (c >= 0x80 && !latin1) return undefined;
    h = (h * 31 + c) | 0;
  }
  const slot = h & (SLOTS - 1);
  const cached = shortStrings[slot]!;
  if (cached.length === to - from) {
    let i = 0;
    while (i < cached.length && cached.charCodeAt(i) === f[from + i]) i++;
    if (i === cached.length) return cached;
  }
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(f[i]!);
  return (shortStrings[slot] = s);
}

/** The bytes [from, to) as latin1 (module names are ASCII). */
function latin1(f: Buffer, from: number, to: number): string {
  return to - from > SHORT ? f.toString('latin1', from, to) : shortString(f, from, to, true)!;
}

/** Whether the string stringEnd last scanned holds an escape (then it is decoded by JSON.parse). */
let lastHadEscape = false;

/**
 * The closing quote of the JSON string opening at open, or -1 when it does not end before end;
 * sets lastHadEscape. A byte loop bounded by the string itself: most are short, where a native
 * call (indexOf) costs more than the loop, and a search for a backslash would run on past the
 * string through the rest of the batch's frames.
 */
function stringEnd(f: Buffer, open: number, end: number): number {
  let escaped = false;
  for (let i = open + 1; i < end; i++) {
    const c = f[i];
    if (c === QUOTE) {
      lastHadEscape = escaped;
      return i;
    }
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    }
  }
  return -1;
}

/**
 * Where the JSON value starting at v ends (the index after it), without parsing it: a string to
 * its closing quote, an array or object to its matching bracket (strings inside skipped whole, so
 * a bracket in one does not count), anything else (number, true, false, null) to the next comma or
 * closing bracket. -1 when the bytes end first.
 */
function skipValue(f: Buffer, v: number, end: number): number {
  const c = f[v];
  if (c === QUOTE) {
    const q = stringEnd(f, v, end);
    return q < 0 ? -1 : q + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let p = v; p < end; p++) {
      const b = f[p];
      if (b === QUOTE) {
        p = stringEnd(f, p, end);
        if (p < 0) return -1;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && --depth === 0) return p + 1;
    }
    return -1;
  }
  for (let p = v; p < end; p++) if (f[p] === COMMA || f[p] === CLOSE_BRACE || f[p] === CLOSE_BRACKET) return p;
  return -1;
}

export class RecordView implements LogEntry {
  private readonly frames: Buffer;
  /** Where the record's NDJSON lies in frames. */
  readonly start: number;
  readonly end: number;
  private span: LevelModuleSpan | null | undefined;
  private parsed?: LogEntry;
  private msg?: string;
  /** The message's closing quote (-1: not found from the bytes); undefined until looked for. */
  private msgEnd?: number;
  private msgEscaped = false;
  private mod?: string;
  /** source once read (NONE: the record has none). */
  private src?: string | typeof NONE;

  constructor(frames: Buffer, start: number, end: number) {
    this.frames = frames;
    this.start = start;
    this.end = end;
  }

  /** The record's NDJSON bytes (no copy). */
  json(): Buffer {
    return this.frames.subarray(this.start, this.end);
  }

  private lm(): LevelModuleSpan | null {
    if (this.span === undefined) this.span = levelModuleSpan(this.frames, this.start, this.end) ?? null;
    return this.span;
  }

  private all(): LogEntry {
    return (this.parsed ??= JSON.parse(this.frames.toString('utf8', this.start, this.end)) as LogEntry);
  }

  get level(): Level {
    const s = this.lm();
    if (!s) return this.all().level;
    // The level's first letter names it (spanLevelRank); its length checks the rest is a level name.
    const l = LEVEL_BY_INITIAL.get(this.frames[s.levelStart]!);
    return l && l.length === s.levelEnd - s.levelStart ? l : (this.frames.toString('latin1', s.levelStart, s.levelEnd) as Level);
  }

  get module(): string {
    if (this.mod !== undefined) return this.mod;
    const s = this.lm();
    return (this.mod = s ? latin1(this.frames, s.moduleStart, s.moduleEnd) : this.all().module);
  }

  get timestamp(): string {
    // The record starts {"timestamp":"…" and an ISO time is never escaped.
    const s = this.lm();
    return s ? this.frames.toString('latin1', this.start + 14, s.levelStart - 11) : this.all().timestamp;
  }

  get message(): string {
    if (this.msg !== undefined) return this.msg;
    const q = this.messageEnd();
    if (q < 0) return (this.msg = this.all().message);
    return (this.msg = this.stringAt(this.lm()!.moduleEnd + MESSAGE_KEY.length, q, this.msgEscaped));
  }

  /**
   * Where the message string's closing quote lies, for a record laid out as encodeEntry (and the C
   * codec) write it: message right after module. -1 for any other layout (then fields are parsed).
   */
  private messageEnd(): number {
    if (this.msgEnd !== undefined) return this.msgEnd;
    const s = this.lm();
    if (!s || !bytesAt(this.frames, s.moduleEnd + 1, this.end, MESSAGE_KEY)) return (this.msgEnd = -1);
    this.msgEnd = stringEnd(this.frames, s.moduleEnd + MESSAGE_KEY.length, this.end);
    this.msgEscaped = lastHadEscape;
    return this.msgEnd;
  }

  /** The JSON string whose quotes are at open and close, decoded (JSON.parse only when it has escapes: escaped says so). */
  private stringAt(open: number, close: number, escaped: boolean): string {
    if (escaped) return JSON.parse(this.frames.toString('utf8', open, close + 1)) as string;
    return (close - open <= SHORT ? shortString(this.frames, open + 1, close, false) : undefined) ?? this.frames.toString('utf8', open + 1, close);
  }

  /**
   * source, read off the bytes: the keys after the message (lang_key, args, node, then source,
   * in encodeEntry's order, but any order works) are walked at the top level, their values
   * skipped unparsed, so an entry's fields or labels (after it) are never read. The rate filters
   * key on it for every record.
   */
  get source(): string | undefined {
    if (this.src !== undefined) return this.src === NONE ? undefined : this.src;
    const found = this.topLevelString(SOURCE_KEY);
    if (found === null) return this.all().source;
    this.src = found ?? NONE;
    return found;
  }

  /**
   * The string value of a top-level key after the message: undefined when the record has no such
   * key, null when it cannot be told from the bytes (another layout, or the value is not a string).
   */
  private topLevelString(key: Buffer): string | undefined | null {
    const f = this.frames;
    const end = this.end;
    let p = this.messageEnd();
    if (p < 0) return null;
    for (p++; p < end; ) {
      if (f[p] === CLOSE_BRACE) return undefined;
      if (f[p] !== COMMA || f[p + 1] !== QUOTE) return null;
      const keyEnd = stringEnd(f, p + 1, end);
      if (keyEnd < 0 || f[keyEnd + 1] !== COLON) return null;
      const v = keyEnd + 2;
      if (keyEnd - p - 2 === key.length && bytesAt(f, p + 2, keyEnd, key)) {
        if (f[v] !== QUOTE) return null;
        const close = stringEnd(f, v, end);
        return close < 0 ? null : this.stringAt(v, close, lastHadEscape);
      }
      p = skipValue(f, v, end);
      if (p < 0) return null;
    }
    return null;
  }

  get lang_key() { return this.all().lang_key; }
  get args() { return this.all().args; }
  get node() { return this.all().node; }
  get seq() { return this.all().seq; }
  get truncated() { return this.all().truncated; }
  get fields() { return this.all().fields; }
  get labels() { return this.all().labels; }

  /** A plain frozen entry (for code that keeps or copies it). */
  toEntry(): LogEntry {
    return this.all();
  }
}

/**
 * fn's answer for each record of a run, in order, each record read as an entry: the run's own
 * views when it has them (a pipeline batch: shared by the stages it passes, or its objects when a
 * stage decoded them), else a lazy view per record. The records path of a JS filter whose decision
 * only reads the entry, so one function decides for entries (filter) and for records (filterRecords).
 */
export function mapRecordViews<T>(r: EntryRecords, fn: (entry: LogEntry) => T): T[] {
  const out = new Array<T>(r.count);
  const view = r.view;
  if (view) for (let i = 0; i < r.count; i++) out[i] = fn(view(i));
  else forEachRecord(r.frames, (start, end, i) => (out[i] = fn(new RecordView(r.frames, start, end))));
  return out;
}

/** Views of every record of a run, in order. */
export function recordViews(r: EntryRecords): RecordView[] {
  const out: RecordView[] = new Array(r.count);
  forEachRecord(r.frames, (start, end, i) => (out[i] = new RecordView(r.frames, start, end)));
  return out;
}

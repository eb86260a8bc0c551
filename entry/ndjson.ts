/**
 * An NDJSON input line → an entry draft, the one rule for every line input (the codec's JS twin
 * and parseLine). The C codec does the same in native/addon/src/ndjson.c, step for step, on the
 * same bytes; test/buffer/codec-conformance.test.ts holds the two to identical records.
 *
 * The rules:
 *  - the line is RFC 8259 JSON (an object; raw control characters in strings are invalid) with
 *    objects and arrays nested at most MAX_JSON_DEPTH deep; otherwise it is rejected with a reason
 *    naming the byte (the input keeps the line as text and counts the reject);
 *  - of a key written twice, the last counts (as with JSON.parse); keys may be escaped;
 *  - message: "message" unless absent or null, then "msg"; a string is taken as is, any other
 *    value as its canonical JSON text (what JSON.stringify writes for it, members kept in the
 *    order and number they were written); numbers as JavaScript writes them;
 *  - timestamp (string or number), level, module, lang_key, source (strings), truncated (true):
 *    as buildEntry takes them;
 *  - args: the first 32 elements; numbers stay numbers, strings as is, other values as their
 *    canonical text;
 *  - fields: the first 256 members as written; null members are ignored; a repeated key keeps its
 *    first place and takes the later value; array-index keys ("0", "17") come first, ascending, as
 *    in any JS object; values: numbers, true and false as they are, strings as is, other values as
 *    their canonical text;
 *  - a lone UTF-16 surrogate written as an escape becomes U+FFFD;
 *  - a draft line (draftLine: the agent's own line for an input's draft, agent/buffer/draft-ingest.ts,
 *    never a peer's) is read with `labels` too (the first 256 members as written, string values
 *    only) and `multiline` (true): on any other line both are ignored, so that no peer sets them.
 * buildEntry then applies the limits and sanitising every entry gets.
 */
import type { EntryDraft } from './build.ts';

/** Deepest nesting of objects and arrays in one line; deeper lines are rejected (ndjson.h NDJSON_MAX_DEPTH). */
export const MAX_JSON_DEPTH = 64;
/** Members of "fields" read (as written); later ones are ignored (NDJSON_MAX_FIELD_MEMBERS). */
export const MAX_FIELD_MEMBERS = 256;
const MAX_ARGS = 32;

export type NdjsonResult = { ok: true; draft: EntryDraft } | { ok: false; error: string };

const T = { Str: 1, Num: 2, True: 3, False: 4, Null: 5, Obj: 6, Arr: 7 } as const;
type T = (typeof T)[keyof typeof T];

interface Val {
  type: T;
  start: number;
  end: number;
}

class ScanError extends Error {}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** Validates and locates values in a line's bytes; the same steps as scan_* in ndjson.c. */
class Scanner {
  pos = 0;
  readonly b: Buffer;
  constructor(b: Buffer) {
    this.b = b;
  }

  fail(at: number, why: string): never {
    throw new ScanError(why.startsWith('JSON nested') ? why : `${why} at byte ${at}`);
  }

  ws(): void {
    const b = this.b;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.pos++;
    }
  }

  string(): void {
    const b = this.b;
    let p = this.pos + 1;
    while (p < b.length) {
      const c = b[p]!;
      if (c === 34) return void (this.pos = p + 1);
      if (c < 0x20) this.fail(p, 'invalid JSON: control character in a string');
      if (c === 92) {
        if (p + 1 >= b.length) break;
        const x = b[p + 1]!;
        if (x === 117 /* u */) {
          if (b.length - p < 6 || !isHex(b[p + 2]!) || !isHex(b[p + 3]!) || !isHex(b[p + 4]!) || !isHex(b[p + 5]!)) this.fail(p, 'invalid JSON: bad \\u escape');
          p += 6;
        } else if (x === 34 || x === 92 || x === 47 || x === 98 || x === 102 || x === 110 || x === 114 || x === 116) p += 2;
        else this.fail(p, 'invalid JSON: bad escape');
        continue;
      }
      p++;
    }
    this.fail(p, 'invalid JSON: unterminated string');
  }

  number(): void {
    const b = this.b;
    let p = this.pos;
    const bad = () => this.fail(p, 'invalid JSON: bad number');
    if (p < b.length && b[p] === 45) p++;
    if (p >= b.length || !isDigit(b[p]!)) bad();
    if (b[p] === 48) p++;
    else while (p < b.length && isDigit(b[p]!)) p++;
    if (p < b.length && b[p] === 46) {
      p++;
      if (p >= b.length || !isDigit(b[p]!)) bad();
      while (p < b.length && isDigit(b[p]!)) p++;
    }
    if (p < b.length && (b[p] === 101 || b[p] === 69)) {
      p++;
      if (p < b.length && (b[p] === 43 || b[p] === 45)) p++;
      if (p >= b.length || !isDigit(b[p]!)) bad();
      while (p < b.length && isDigit(b[p]!)) p++;
    }
    this.pos = p;
  }

  container(depth: number, close: number): void {
    if (depth >= MAX_JSON_DEPTH) this.fail(this.pos, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    const b = this.b;
    this.pos++;
    this.ws();
    if (this.pos < b.length && b[this.pos] === close) return void this.pos++;
    for (;;) {
      if (close === 125) {
        if (this.pos >= b.length || b[this.pos] !== 34) this.fail(this.pos, 'invalid JSON: expected a key');
        this.string();
        this.ws();
        if (this.pos >= b.length || b[this.pos] !== 58) this.fail(this.pos, "invalid JSON: expected ':'");
        this.pos++;
      }
      this.value(depth + 1);
      this.ws();
      if (this.pos < b.length && b[this.pos] === 44) {
        this.pos++;
        this.ws();
        continue;
      }
      if (this.pos < b.length && b[this.pos] === close) return void this.pos++;
      this.fail(this.pos, close === 125 ? "invalid JSON: expected ',' or '}'" : "invalid JSON: expected ',' or ']'");
    }
  }

  literal(word: string): void {
    if (this.b.length - this.pos < word.length || this.b.toString('latin1', this.pos, this.pos + word.length) !== word) this.fail(this.pos, 'invalid JSON: unexpected character');
    this.pos += word.length;
  }

  value(depth: number): Val {
    this.ws();
    const b = this.b;
    const start = this.pos;
    if (start >= b.length) this.fail(start, 'invalid JSON: unexpected end');
    let type: T;
    switch (b[start]) {
      case 123: type = T.Obj; this.container(depth, 125); break;
      case 91: type = T.Arr; this.container(depth, 93); break;
      case 34: type = T.Str; this.string(); break;
      case 116: type = T.True; this.literal('true'); break;
      case 102: type = T.False; this.literal('false'); break;
      case 110: type = T.Null; this.literal('null'); break;
      default: type = T.Num; this.number();
    }
    return { type, start, end: this.pos };
  }

  /** The members of a validated object, or elements of an array, in order. */
  *members(v: Val): Generator<[Val | undefined, Val]> {
    const b = this.b;
    this.pos = v.start + 1;
    this.ws();
    while (b[this.pos] !== (v.type === T.Obj ? 125 : 93)) {
      let key: Val | undefined;
      if (v.type === T.Obj) {
        key = this.value(1);
        this.ws();
        this.pos++;
      }
      const val = this.value(1);
      this.ws();
      if (b[this.pos] === 44) {
        this.pos++;
        this.ws();
      }
      yield [key, val];
    }
  }
}

function decodeString(b: Buffer, v: Val): string {
  if (b.indexOf(92, v.start + 1) === -1 || b.indexOf(92, v.start + 1) >= v.end) return b.toString('utf8', v.start + 1, v.end - 1);
  return (JSON.parse(b.toString('utf8', v.start, v.end)) as string).toWellFormed();
}

const numberOf = (b: Buffer, v: Val) => Number(b.toString('latin1', v.start, v.end));

/** What JSON.stringify writes for the value, members kept as written (canonical() in ndjson.c). */
function canonical(s: Scanner, v: Val): string {
  const b = s.b;
  switch (v.type) {
    case T.Str: return JSON.stringify(decodeString(b, v));
    case T.Num: return JSON.stringify(numberOf(b, v));
    case T.True: return 'true';
    case T.False: return 'false';
    case T.Null: return 'null';
    default: {
      const parts: string[] = [];
      const inner = new Scanner(b);
      for (const [k, val] of inner.members(v)) {
        const saved = inner.pos;
        parts.push(k ? `${canonical(inner, k)}:${canonical(inner, val)}` : canonical(inner, val));
        inner.pos = saved;
      }
      return v.type === T.Obj ? `{${parts.join(',')}}` : `[${parts.join(',')}]`;
    }
  }
}

const textOf = (s: Scanner, v: Val) => (v.type === T.Str ? decodeString(s.b, v) : canonical(s, v));

/** Sets a member the way JSON.parse would (an own property even for "__proto__"). */
export function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/**
 * One line's bytes (valid UTF-8) starting, after spaces and tabs, with '{'. draftLine: the line is
 * a draft line (see above), whose labels and multiline are read.
 */
export function draftFromJsonLine(b: Buffer, draftLine = false): NdjsonResult {
  const s = new Scanner(b);
  let top: Val;
  try {
    top = s.value(0);
    s.ws();
    if (s.pos !== b.length) s.fail(s.pos, 'invalid JSON: unexpected character after the object');
  } catch (e) {
    if (e instanceof ScanError) return { ok: false, error: e.message };
    throw e;
  }
  if (top.type !== T.Obj) return { ok: false, error: 'expected a JSON object' };
  const slots = new Map<string, Val>();
  for (const [k, v] of s.members(top)) {
    const key = decodeString(b, k!);
    if (KEYS.has(key)) slots.set(key, v);
  }
  const draft: EntryDraft = {};
  const str = (k: string) => {
    const v = slots.get(k);
    return v?.type === T.Str ? decodeString(b, v) : undefined;
  };
  const ts = slots.get('timestamp');
  if (ts?.type === T.Str) draft.timestamp = decodeString(b, ts);
  else if (ts?.type === T.Num) draft.timestamp = numberOf(b, ts);
  draft.level = str('level');
  draft.module = str('module');
  const msg = slots.get('message');
  const alt = slots.get('msg');
  const mv = msg && msg.type !== T.Null ? msg : alt;
  if (mv) draft.message = textOf(s, mv);
  draft.lang_key = str('lang_key');
  const args = slots.get('args');
  if (args?.type === T.Arr) {
    const out: (string | number)[] = [];
    for (const [, v] of s.members(args)) {
      if (out.length >= MAX_ARGS) break;
      const saved = s.pos;
      out.push(v.type === T.Num ? numberOf(b, v) : textOf(s, v));
      s.pos = saved;
    }
    draft.args = out;
  }
  draft.source = str('source');
  const fields = slots.get('fields');
  if (fields?.type === T.Obj) {
    const out: Record<string, unknown> = {};
    let i = 0;
    for (const [k, v] of s.members(fields)) {
      if (i++ >= MAX_FIELD_MEMBERS) break;
      if (v.type === T.Null) continue;
      const saved = s.pos;
      setOwn(out, decodeString(b, k!), v.type === T.Num ? numberOf(b, v) : v.type === T.True ? true : v.type === T.False ? false : textOf(s, v));
      s.pos = saved;
    }
    draft.fields = out;
  }
  draft.truncated = slots.get('truncated')?.type === T.True;
  if (draftLine) {
    const labels = slots.get('labels');
    if (labels?.type === T.Obj) {
      const out: Record<string, string> = {};
      let i = 0;
      for (const [k, v] of s.members(labels)) {
        if (i++ >= MAX_FIELD_MEMBERS) break;
        if (v.type === T.Str) setOwn(out, decodeString(b, k!), decodeString(b, v));
      }
      draft.labels = out;
    }
    if (slots.get('multiline')?.type === T.True) draft.multiline = true;
  }
  return { ok: true, draft };
}

const KEYS = new Set(['timestamp', 'level', 'module', 'message', 'msg', 'lang_key', 'args', 'source', 'fields', 'truncated', 'labels', 'multiline']);

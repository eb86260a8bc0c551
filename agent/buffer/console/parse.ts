/**
 * What the text of one console line says about itself: the JS twin of the console-line matchers
 * of native/addon/src/console.c, function for function. Each matcher is the hand-written form of a
 * regular expression (named above it) with JavaScript's meaning of \s (Unicode white space and
 * line terminators), \d and \w (ASCII) and /i (ASCII letters only, as without the u flag). The
 * text is a decoded line (UTF-16 here, UTF-8 in C): a surrogate pair counts two units where a bound
 * counts units, as the expressions did.
 */
import { levelFromSyslogSeverity, parseLevel, LEVELS, type Level } from '../../../lib/level.ts';

export type ConsoleFormat = 'kernel' | 'logloom' | 'esp-idf' | 'zephyr' | 'level';

/** Where the parts of a line are (offsets into its text). */
export interface Parsed {
  format: ConsoleFormat | undefined;
  level: Level | undefined;
  /** The message is the text from here. */
  msg: number;
  module: string | undefined;
  deviceTime: string | undefined;
  /** Seconds since boot, from a kernel `[   12.345678]` prefix. */
  kernelTime: number | undefined;
}

/** The parts as an object (what the input read before the codec did it). */
export interface ParsedLine {
  /** The text without the prefixes that were understood (and without ANSI colour codes). */
  message: string;
  level?: Level;
  module?: string;
  kernelTime?: number;
  /** A timestamp the device printed (its clock may be wrong, so the entry keeps the arrival time). */
  deviceTime?: string;
  format?: ConsoleFormat;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWord = (c: number) => isAlpha(c) || isDigit(c) || c === 95;
const isTag = (c: number) => isWord(c) || c === 46 || c === 45;
const isUpper = (c: number) => c >= 65 && c <= 90;

/** Units of the \s character at s[i] (1), 0 when it is not one. */
export function wsAt(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)) return 1;
  return c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff ? 1 : 0;
}

export function skipWs(s: string, i: number): number {
  while (wsAt(s, i)) i++;
  return i;
}

/** A line terminator (what `.` does not match without the s flag). */
export function isLt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/** Whether s[i..] starts with the ASCII text w (ci: ASCII case-insensitively). */
export function lit(s: string, i: number, w: string, ci = false): boolean {
  if (i + w.length > s.length) return false;
  for (let j = 0; j < w.length; j++) {
    const a = s.charCodeAt(i + j);
    const b = w.charCodeAt(j);
    if (a === b) continue;
    if (!ci || !isAlpha(a) || (a | 0x20) !== (b | 0x20)) return false;
  }
  return true;
}

export function digits(s: string, i: number, k: number): boolean {
  if (i + k > s.length) return false;
  for (let j = 0; j < k; j++) if (!isDigit(s.charCodeAt(i + j))) return false;
  return true;
}

/** \b right after a word character. */
export function boundaryAfterWord(s: string, i: number): boolean {
  return i >= s.length || !isWord(s.charCodeAt(i));
}

/** ANSI: /\x1b(?:\[[0-9;?]*[ -\/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/ at s[i] (an ESC): its length, 0 when none. */
function ansiAt(s: string, i: number): number {
  const n = s.length;
  const j = i + 1;
  if (j >= n) return 0;
  const c = s.charCodeAt(j);
  if (c === 0x5b) {
    let k = j + 1;
    for (let d = s.charCodeAt(k); k < n && (isDigit(d) || d === 0x3b || d === 0x3f); d = s.charCodeAt(++k));
    for (let d = s.charCodeAt(k); k < n && d >= 0x20 && d <= 0x2f; d = s.charCodeAt(++k));
    const f = s.charCodeAt(k);
    return k < n && f >= 0x40 && f <= 0x7e ? k + 1 - i : 0;
  }
  if (c === 0x5d) {
    let k = j + 1;
    while (k < n && s.charCodeAt(k) !== 0x07 && s.charCodeAt(k) !== 0x1b) k++;
    if (k < n && s.charCodeAt(k) === 0x07) return k + 1 - i;
    if (k + 1 < n && s.charCodeAt(k) === 0x1b && s.charCodeAt(k + 1) === 0x5c) return k + 2 - i;
    return 2; // ']' is in the third alternative's range \\-_
  }
  return (c >= 0x40 && c <= 0x5a) || (c >= 0x5c && c <= 0x5f) ? 2 : 0;
}

/** ANSI CSI/OSC sequences (colours, cursor moves) that consoles such as ESP-IDF print, removed. */
export function stripAnsi(t: string): string {
  if (!t.includes('\x1b')) return t;
  let out = '';
  let from = 0;
  for (let i = 0; i < t.length; ) {
    const a = t.charCodeAt(i) === 0x1b ? ansiAt(t, i) : 0;
    if (a) {
      out += t.slice(from, i);
      i += a;
      from = i;
    } else i++;
  }
  return out + t.slice(from);
}

/** A run of ASCII letters at p that is a level word (every use is followed by a non-letter): its level and end. */
function levelWord(s: string, p: number, ci: boolean): { level: Level; end: number } | undefined {
  let q = p;
  while (q < s.length && q - p < 9 && isAlpha(s.charCodeAt(q))) q++;
  if (q === p || q - p > 8) return undefined;
  if (!ci) for (let i = p; i < q; i++) if (!isUpper(s.charCodeAt(i))) return undefined;
  const level = parseLevel(s.slice(p, q));
  return level ? { level, end: q } : undefined;
}

/**
 * TIME_PREFIX: (?:(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\s+)?
 * Where the text after it starts (0: none) and the time's end.
 */
function timePrefix(s: string, ci: boolean): { after: number; timeEnd: number } {
  const n = s.length;
  const ch = (i: number) => s.charCodeAt(i);
  let q: number;
  if (digits(s, 0, 4) && ch(4) === 45 && digits(s, 5, 2) && ch(7) === 45 && digits(s, 8, 2) && (ch(10) === 84 || ch(10) === 32 || (ci && ch(10) === 116)) &&
      digits(s, 11, 2) && ch(13) === 58 && digits(s, 14, 2) && ch(16) === 58 && digits(s, 17, 2)) {
    q = 19;
    if (q + 1 < n && (ch(q) === 46 || ch(q) === 44) && isDigit(ch(q + 1))) {
      q++;
      while (q < n && isDigit(ch(q))) q++;
    }
    if (q < n && (ch(q) === 90 || (ci && ch(q) === 122))) q++;
    else if (q < n && (ch(q) === 43 || ch(q) === 45) && digits(s, q + 1, 2)) {
      let r = q + 3;
      if (r < n && ch(r) === 58) r++;
      if (digits(s, r, 2)) q = r + 2;
    }
  } else if (digits(s, 0, 2) && ch(2) === 58 && digits(s, 3, 2) && ch(5) === 58 && digits(s, 6, 2)) {
    q = 8;
    if (q + 1 < n && (ch(q) === 46 || ch(q) === 44) && isDigit(ch(q + 1))) {
      q++;
      while (q < n && isDigit(ch(q))) q++;
    }
  } else return { after: 0, timeEnd: 0 };
  const w = skipWs(s, q);
  return w === q ? { after: 0, timeEnd: 0 } : { after: w, timeEnd: q };
}

/** LEVEL_BRACKETED /^TIME[\[<](WORD)[\]>]:?\s*(.*)$/is, LEVEL_COLON /^TIME(WORD):\s*(.*)$/is, LEVEL_WORD /^TIME(WORD)\s+(.*)$/s; then MODULE_TAG. */
function levelForms(s: string, r: Parsed): boolean {
  const n = s.length;
  for (let form = 0; form < 3; form++) {
    const { after: p, timeEnd } = timePrefix(s, form < 2);
    let w: { level: Level; end: number } | undefined;
    let q = 0;
    if (form === 0) {
      const c = s.charCodeAt(p);
      if (p < n && (c === 0x5b || c === 0x3c)) {
        w = levelWord(s, p + 1, true);
        const e = w ? s.charCodeAt(w.end) : 0;
        if (w && w.end < n && (e === 0x5d || e === 0x3e)) {
          q = w.end + 1;
          if (q < n && s.charCodeAt(q) === 0x3a) q++;
          q = skipWs(s, q);
        } else w = undefined;
      }
    } else if (form === 1) {
      w = levelWord(s, p, true);
      if (w && w.end < n && s.charCodeAt(w.end) === 0x3a) q = skipWs(s, w.end + 1);
      else w = undefined;
    } else {
      w = levelWord(s, p, false);
      const after = w ? skipWs(s, w.end) : 0;
      if (w && after > w.end) q = after;
      else w = undefined;
    }
    if (!w) continue;
    r.format = 'level';
    r.level = w.level;
    r.msg = q;
    if (p > 0) r.deviceTime = s.slice(0, timeEnd);
    // MODULE_TAG: /^\[([A-Za-z][A-Za-z0-9_.-]{0,15})\]\s*(.*)$/s
    if (q + 1 < n && s.charCodeAt(q) === 0x5b && isAlpha(s.charCodeAt(q + 1))) {
      let t = q + 2;
      while (t < n && t - q - 1 < 16 && isTag(s.charCodeAt(t))) t++;
      if (t < n && s.charCodeAt(t) === 0x5d) {
        r.module = s.slice(q + 1, t);
        r.msg = skipWs(s, t + 1);
      }
    }
    return true;
  }
  return false;
}

/** LOGLOOM: /^\[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[([A-Za-z0-9_.-]{1,16})\] (\d{4}-\d{2}-\d{2}T\S+) ?(.*)$/s */
function logloomForm(s: string, r: Parsed): boolean {
  const n = s.length;
  let q = 1;
  while (q < n && isUpper(s.charCodeAt(q))) q++;
  const name = s.slice(1, q);
  if (!(LEVELS as readonly string[]).includes(name) || !lit(s, q, '] [')) return false;
  const m = q + 3;
  let t = m;
  while (t < n && t - m < 16 && isTag(s.charCodeAt(t))) t++;
  if (t === m || !lit(s, t, '] ')) return false;
  const d = t + 2;
  if (!(digits(s, d, 4) && lit(s, d + 4, '-') && digits(s, d + 5, 2) && lit(s, d + 7, '-') && digits(s, d + 8, 2) && lit(s, d + 10, 'T'))) return false;
  let e = d + 11;
  while (e < n && !wsAt(s, e)) e++;
  if (e === d + 11) return false;
  Object.assign(r, { format: 'logloom', level: name as Level, module: s.slice(m, t), deviceTime: s.slice(d, e), msg: e < n && s.charCodeAt(e) === 32 ? e + 1 : e });
  return true;
}

const ZEPHYR_LEVELS: [string, Level][] = [['err> ', 'ERROR'], ['wrn> ', 'WARN'], ['inf> ', 'INFO'], ['dbg> ', 'DEBUG']];

/** ZEPHYR: /^\[(\d{2}:\d{2}:\d{2}\.\d{3},\d{3})\] <(err|wrn|inf|dbg)> ([\w.-]{1,32}): ?(.*)$/s */
function zephyrForm(s: string, r: Parsed): boolean {
  const SHAPE = '[dd:dd:dd.ddd,ddd] <';
  const n = s.length;
  const k = SHAPE.length;
  if (n < k) return false;
  for (let i = 0; i < k; i++) if (SHAPE[i] === 'd' ? !isDigit(s.charCodeAt(i)) : s[i] !== SHAPE[i]) return false;
  const lv = ZEPHYR_LEVELS.find(([w]) => lit(s, k, w));
  if (!lv) return false;
  const m = k + 5;
  let t = m;
  while (t < n && t - m < 32 && isTag(s.charCodeAt(t))) t++;
  if (t === m || t >= n || s.charCodeAt(t) !== 0x3a) return false;
  Object.assign(r, { format: 'zephyr', level: lv[1], deviceTime: s.slice(1, 17), module: s.slice(m, t), msg: t + 1 < n && s.charCodeAt(t + 1) === 32 ? t + 2 : t + 1 });
  return true;
}

const ESP_LEVELS: Record<string, Level> = { E: 'ERROR', W: 'WARN', I: 'INFO', D: 'DEBUG', V: 'DEBUG' };

/** ESP_IDF: /^([EWIDV]) \((\d+)\) ([^:\s][^:]{0,31}): ?(.*)$/s, the module trimmed (String#trim: \s) */
function espForm(s: string, r: Parsed): boolean {
  const n = s.length;
  const level = Object.hasOwn(ESP_LEVELS, s[0] ?? '') ? ESP_LEVELS[s[0]!] : undefined;
  if (!level || !lit(s, 1, ' (')) return false;
  let q = 3;
  while (q < n && isDigit(s.charCodeAt(q))) q++;
  if (q === 3 || !lit(s, q, ') ')) return false;
  const m = q + 2;
  if (m >= n || s.charCodeAt(m) === 0x3a || wsAt(s, m)) return false;
  let t = m;
  let trimmed = m;
  while (t < n && s.charCodeAt(t) !== 0x3a) {
    const w = wsAt(s, t);
    t++;
    if (!w) trimmed = t;
  }
  if (t >= n || t - m > 32) return false;
  Object.assign(r, { format: 'esp-idf', level, deviceTime: s.slice(3, q), module: s.slice(m, trimmed), msg: t + 1 < n && s.charCodeAt(t + 1) === 32 ? t + 2 : t + 1 });
  return true;
}

/**
 * KERNEL: /^(?:<(\d{1,3})>)?(?:\[\s*(\d{1,10}\.\d{1,9})\]\s?)?/ first: a line with that prefix is a
 * kernel line (level from the priority, if any). Else Logloom's and Zephyr's forms (a line starting
 * with '['), ESP-IDF's, then the level forms. s is ANSI-stripped.
 */
export function parseConsole(s: string): Parsed {
  const r: Parsed = { format: undefined, level: undefined, msg: 0, module: undefined, deviceTime: undefined, kernelTime: undefined };
  const n = s.length;
  let p = 0;
  let pri = -1;
  if (n > 0 && s.charCodeAt(0) === 0x3c) {
    let q = 1;
    let v = 0;
    while (q < n && q <= 3 && isDigit(s.charCodeAt(q))) v = v * 10 + (s.charCodeAt(q++) - 48);
    if (q > 1 && q < n && s.charCodeAt(q) === 0x3e) {
      pri = v;
      p = q + 1;
    }
  }
  if (p < n && s.charCodeAt(p) === 0x5b) {
    let q = skipWs(s, p + 1);
    const d0 = q;
    while (q < n && q - d0 < 10 && isDigit(s.charCodeAt(q))) q++;
    if (q > d0 && q < n && s.charCodeAt(q) === 0x2e) {
      const f0 = ++q;
      while (q < n && q - f0 < 9 && isDigit(s.charCodeAt(q))) q++;
      if (q > f0 && q < n && s.charCodeAt(q) === 0x5d) {
        r.kernelTime = Number(s.slice(d0, q));
        q++;
        p = q + wsAt(s, q);
      }
    }
  }
  if (p > 0) {
    r.format = 'kernel';
    r.msg = p;
    if (pri >= 0) r.level = levelFromSyslogSeverity(pri & 7);
    return r;
  }
  if (n > 0 && s.charCodeAt(0) === 0x5b) {
    if (logloomForm(s, r) || zephyrForm(s, r)) return r;
  } else if (n > 2 && s.charCodeAt(1) === 32 && s.charCodeAt(2) === 0x28 && espForm(s, r)) return r;
  levelForms(s, r);
  return r;
}

/** Reads level, module and timestamps from one console line (ANSI stripped first); unknown forms keep their text. */
export function parseConsoleLine(raw: string): ParsedLine {
  const text = stripAnsi(raw);
  const p = parseConsole(text);
  const out: ParsedLine = { message: text.slice(p.msg) };
  if (p.level) out.level = p.level;
  if (p.module !== undefined) out.module = p.module;
  if (p.kernelTime !== undefined) out.kernelTime = p.kernelTime;
  if (p.deviceTime !== undefined) out.deviceTime = p.deviceTime;
  if (p.format) out.format = p.format;
  return out;
}

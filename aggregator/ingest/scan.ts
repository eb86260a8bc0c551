/**
 * A validating scanner over one NDJSON entry line, in bytes: it answers whether the line is
 * already exactly what the aggregator would store — the JSON.stringify of buildEntry() of that
 * line — so that the line can be stored as it came, with only `node` put in and `seq` added.
 *
 * Agents send entries in that form (they built them with the same buildEntry and serialised them
 * with JSON.stringify), so nearly every line passes and is never parsed into an object, rebuilt
 * and serialised again: that rebuild used to be most of the aggregator's CPU. Anything the
 * scanner is not sure of — a key it does not know or out of order, whitespace, an escape other
 * than \\ \" \t, a control or invisible character, invalid UTF-8, a message over the size bound, a
 * timestamp that is not a real ISO instant, a number JSON.stringify would write differently,
 * duplicate or index-like field names, `seq` inside the entry — is "not canonical", and the
 * caller takes the full path (JSON.parse + buildEntry) for that line. So the scanner only has to
 * be right when it says yes; test/aggregator/ingest.test.ts holds both paths byte-identical on
 * fuzzed lines.
 *
 * The results of a scan are kept in module variables (no object per line on the hot path).
 */
import { LEVELS } from '../../lib/level.ts';

/** Keys of an entry in the order buildEntry creates them (JSON.stringify keeps that order). */
const KEYS = ['timestamp', 'level', 'module', 'message', 'lang_key', 'args', 'node', 'source', 'truncated', 'fields'] as const;
const K_TIMESTAMP = 0, K_LEVEL = 1, K_MODULE = 2, K_MESSAGE = 3, K_LANG_KEY = 4, K_ARGS = 5, K_NODE = 6, K_SOURCE = 7, K_TRUNCATED = 8, K_FIELDS = 9;
const KEY_BYTES = KEYS.map((k) => Buffer.from(k, 'latin1'));
const REQUIRED = (1 << K_TIMESTAMP) | (1 << K_LEVEL) | (1 << K_MODULE) | (1 << K_MESSAGE);
const LEVEL_BYTES = LEVELS.map((l) => Buffer.from(l, 'latin1'));

/** Bounds of buildEntry (entry/build.ts) that a canonical line must already respect. */
const MAX_ARGS = 32;
const MAX_ARG_CHARS = 1024;
const MAX_FIELDS = 64;
const MAX_FIELD_KEY_CHARS = 64;
const MAX_SOURCE_CHARS = 256;
const MAX_MODULE = 16;
const MAX_LANG_KEY = 128;

const Q = 0x22, BS = 0x5c, COMMA = 0x2c, COLON = 0x3a;

/** Level of the last canonical line (index into LEVELS). */
export let scannedLevel = 0;
/** Where `"node":` goes: the index of the comma before the line's own node member, or where the member after message/lang_key/args ends. */
export let nodeAt = 0;
/** End of the line's own node member (its closing quote + 1), or nodeAt when the line has none. */
export let nodeEnd = 0;
/** The line's node member holds exactly the authenticated node id. */
export let nodeSame = false;

// Of the last string scanned: its UTF-8 bytes and UTF-16 length once unescaped.
let sBytes = 0;
let sUnits = 0;

/**
 * Scans a JSON string at `i` (its opening quote). Returns the index after the closing quote, or
 * -1 when the string is not canonical: an escape other than \\ \" \t (those three are what
 * JSON.stringify writes for text the sanitiser leaves alone), a raw control byte, DEL, a C1
 * control, invalid or overlong UTF-8, an encoded surrogate, or a character from U+2000–U+207F
 * (line/paragraph separators, bidi and invisible format controls) or U+FEFF: those are the
 * sanitiser's to judge, so such lines take the full path.
 */
function str(b: Uint8Array, i: number, end: number): number {
  if (b[i] !== Q) return -1;
  i++;
  let bytes = 0;
  let units = 0;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c === Q) {
        sBytes = bytes;
        sUnits = units;
        return i + 1;
      }
      if (c === BS) {
        const d = b[i + 1];
        if (d !== BS && d !== Q && d !== 0x74 /* t */) return -1;
        i += 2;
      } else {
        if (c < 0x20 || c === 0x7f) return -1;
        i++;
      }
      bytes++;
      units++;
    } else if (c < 0xe0) {
      if (c < 0xc2) return -1;
      const c1 = b[i + 1]!;
      if ((c1 & 0xc0) !== 0x80 || (c === 0xc2 && c1 < 0xa0)) return -1;
      i += 2;
      bytes += 2;
      units++;
    } else if (c < 0xf0) {
      const c1 = b[i + 1]!, c2 = b[i + 2]!;
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) return -1;
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0)) return -1;
      if ((c === 0xe2 && (c1 === 0x80 || c1 === 0x81)) || (c === 0xef && c1 === 0xbb && c2 === 0xbf)) return -1;
      i += 3;
      bytes += 3;
      units++;
    } else {
      if (c > 0xf4) return -1;
      const c1 = b[i + 1]!, c2 = b[i + 2]!, c3 = b[i + 3]!;
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) return -1;
      if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return -1;
      i += 4;
      bytes += 4;
      units += 2;
    }
  }
  return -1;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** A JSON number at `i` that JSON.stringify would write the same way (finite, shortest form). */
function num(b: Buffer, i: number, end: number): number {
  const from = i;
  if (b[i] === 0x2d) i++;
  if (!isDigit(b[i])) return -1;
  const lead = b[i];
  i++;
  let simple = true;
  while (i < end && isDigit(b[i])) i++;
  if (lead === 0x30 && i - from > (b[from] === 0x2d ? 2 : 1)) return -1;
  if (b[i] === 0x2e) {
    simple = false;
    i++;
    if (!isDigit(b[i])) return -1;
    while (i < end && isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    simple = false;
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (i < end && isDigit(b[i])) i++;
  }
  // Short integers print as they are written (leading zeros were refused above), except -0.
  if (simple && i - from <= 15 && !(b[from] === 0x2d && lead === 0x30)) return i;
  const text = b.toString('latin1', from, i);
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text ? i : -1;
}

/** Two ASCII digits at i as a number, or -1. */
function two(b: Uint8Array, i: number): number {
  const h = b[i]! - 0x30, l = b[i + 1]! - 0x30;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

/** `"YYYY-MM-DDTHH:MM:SS.mmmZ"` naming a real instant (what toISOString writes for years 0–9999). */
function timestamp(b: Uint8Array, i: number): number {
  if (b[i] !== Q || b[i + 25] !== Q) return -1;
  const s = i + 1;
  if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54 || b[s + 13] !== COLON || b[s + 16] !== COLON || b[s + 19] !== 0x2e || b[s + 23] !== 0x5a) return -1;
  const y1 = two(b, s), y2 = two(b, s + 2), month = two(b, s + 5), day = two(b, s + 8), hh = two(b, s + 11), mm = two(b, s + 14), ss = two(b, s + 17), ms = two(b, s + 20);
  const m3 = b[s + 22]! - 0x30;
  if (y1 < 0 || y2 < 0 || ms < 0 || m3 < 0 || m3 > 9 || month < 1 || month > 12 || day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59) return -1;
  if (day > 28) {
    const year = y1 * 100 + y2;
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
    if (day > days) return -1;
  }
  return i + 26;
}

function level(b: Uint8Array, i: number): number {
  if (b[i] !== Q) return -1;
  for (let l = 0; l < LEVEL_BYTES.length; l++) {
    const name = LEVEL_BYTES[l]!;
    if (b[i + 1 + name.length] !== Q) continue;
    let k = 0;
    while (k < name.length && b[i + 1 + k] === name[k]) k++;
    if (k === name.length) {
      scannedLevel = l;
      return i + 2 + name.length;
    }
  }
  return -1;
}

/** A string of 1..max bytes from a small ASCII alphabet: module tags ([A-Z0-9_.-]) or lang keys ([A-Za-z0-9_.-]). */
function tag(b: Uint8Array, i: number, end: number, max: number, lower: boolean): number {
  if (b[i] !== Q) return -1;
  let k = i + 1;
  for (; k < end && b[k] !== Q; k++) {
    const c = b[k]!;
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d || (lower && c >= 0x61 && c <= 0x7a);
    if (!ok) return -1;
  }
  const n = k - i - 1;
  return b[k] === Q && n >= 1 && n <= max ? k + 1 : -1;
}

function args(b: Buffer, i: number, end: number): number {
  if (b[i] !== 0x5b) return -1;
  i++;
  if (b[i] === 0x5d) return i + 1;
  for (let n = 0; ; n++) {
    if (n >= MAX_ARGS) return -1;
    if (b[i] === Q) {
      i = str(b, i, end);
      if (i < 0 || sUnits > MAX_ARG_CHARS) return -1;
    } else {
      i = num(b, i, end);
      if (i < 0) return -1;
    }
    if (b[i] === 0x5d) return i + 1;
    if (b[i] !== COMMA) return -1;
    i++;
  }
}

const fieldNames = new Set<string>();

function fields(b: Buffer, i: number, end: number): number {
  if (b[i] !== 0x7b || b[i + 1] === 0x7d) return -1; // `{}` is dropped by buildEntry
  i++;
  fieldNames.clear();
  for (let n = 0; ; n++) {
    if (n >= MAX_FIELDS) return -1;
    const k = i;
    i = str(b, i, end);
    if (i < 0 || sUnits > MAX_FIELD_KEY_CHARS || b[i] !== COLON) return -1;
    // Index-like names would be reordered by a JS object; __proto__ would not be kept.
    let digits = true;
    for (let d = k + 1; d < i - 1 && digits; d++) digits = isDigit(b[d]);
    if (digits) return -1;
    const name = b.toString('utf8', k + 1, i - 1);
    if (name === '__proto__' || fieldNames.has(name)) return -1;
    fieldNames.add(name);
    i++;
    const c = b[i];
    if (c === Q) {
      i = str(b, i, end);
      if (i < 0 || sUnits > MAX_ARG_CHARS) return -1;
    } else if (c === 0x74) {
      if (b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return -1;
      i += 4;
    } else if (c === 0x66) {
      if (b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return -1;
      i += 5;
    } else {
      i = num(b, i, end);
      if (i < 0) return -1;
    }
    if (b[i] === 0x7d) return i + 1;
    if (b[i] !== COMMA) return -1;
    i++;
  }
}

/** Which entry key starts at `i` (a quoted name followed by a colon); -1 for any other. Sets keyEnd. */
let keyEnd = 0;
function key(b: Uint8Array, i: number): number {
  if (b[i] !== Q) return -1;
  for (let k = 0; k < KEY_BYTES.length; k++) {
    const name = KEY_BYTES[k]!;
    if (b[i + 1] !== name[0] || b[i + 1 + name.length] !== Q || b[i + 2 + name.length] !== COLON) continue;
    let m = 1;
    while (m < name.length && b[i + 1 + m] === name[m]) m++;
    if (m === name.length) {
      keyEnd = i + 3 + name.length;
      return k;
    }
  }
  return -1;
}

/**
 * Whether the line at b[start] is an entry in canonical form for the aggregator with this
 * `maxMessageBytes`; returns the index of the newline that ends it, or -1 when it is not
 * canonical (then the caller finds the line's end itself). `limit` bounds the scan (the body's
 * length). `node` is the authenticated node id (UTF-8, as it appears inside the JSON string: node
 * ids need no escaping). On success, scannedLevel, nodeAt, nodeEnd and nodeSame describe the line.
 */
export function scanCanonical(b: Buffer, start: number, limit: number, maxMessageBytes: number, node: Uint8Array): number {
  if (b[start] !== 0x7b) return -1;
  const end = limit;
  let i = start + 1;
  let last = -1;
  let seen = 0;
  nodeAt = -1;
  nodeSame = false;
  let afterLow = -1;
  for (;;) {
    const member = i;
    if (last >= 0) {
      if (b[i] === 0x7d) break;
      if (b[i] !== COMMA) return -1;
      i++;
    }
    const k = key(b, i);
    if (k <= last) return -1; // unknown, repeated or out of order
    last = k;
    seen |= 1 << k;
    i = keyEnd;
    switch (k) {
      case K_TIMESTAMP: i = timestamp(b, i); break;
      case K_LEVEL: i = level(b, i); break;
      case K_MODULE: i = tag(b, i, end, MAX_MODULE, false); break;
      case K_MESSAGE:
        i = str(b, i, end);
        if (sBytes > maxMessageBytes) return -1;
        break;
      case K_LANG_KEY: i = tag(b, i, end, MAX_LANG_KEY, true); break;
      case K_ARGS: i = args(b, i, end); break;
      case K_NODE: {
        const v = i;
        i = str(b, i, end);
        if (i < 0) return -1;
        nodeAt = member;
        nodeEnd = i;
        const len = i - v - 2;
        if (len === node.length) {
          let m = 0;
          while (m < len && b[v + 1 + m] === node[m]) m++;
          nodeSame = m === len;
        }
        break;
      }
      case K_SOURCE:
        i = str(b, i, end);
        if (sUnits < 1 || sUnits > MAX_SOURCE_CHARS) return -1;
        break;
      case K_TRUNCATED:
        if (b[i] !== 0x74 || b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return -1;
        i += 4;
        break;
      case K_FIELDS: i = fields(b, i, end); break;
    }
    if (i < 0) return -1;
    if (k < K_NODE) afterLow = i;
  }
  if (b[i + 1] !== 0x0a || (seen & REQUIRED) !== REQUIRED) return -1;
  if (nodeAt < 0) nodeAt = nodeEnd = afterLow;
  return i + 1;
}

/**
 * The guard against log injection at the edge (docs/architecture.md): whatever reaches a sink or a
 * terminal must not be able to forge lines, move the cursor or hide text.
 *  - invalid UTF-8 was already replaced with U+FFFD when the bytes were decoded (decodeUtf8); a
 *    lone UTF-16 surrogate in a string handed over from JS becomes U+FFFD here (as a `\udXXX`
 *    escape does in an NDJSON line);
 *  - control characters other than tab are escaped (`\n`, `\r`, `\xHH`, `\u0085`), and so are the
 *    characters that act like them on a terminal or in a viewer: the line and paragraph
 *    separators U+2028/U+2029 (a new line to many viewers and to JavaScript source) and the
 *    bidirectional embeddings, overrides and isolates U+202A–U+202E, U+2066–U+2069 (they reorder
 *    the text shown after them: "Trojan source" style hiding);
 *  - the result is cut at a UTF-8 character boundary to at most `maxBytes` bytes.
 * The native codec (native/) implements the same rules; test/buffer/codec-conformance checks both.
 */
export interface Sanitised {
  text: string;
  truncated: boolean;
}

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/;
const CONTROL_ALL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/g;
/** The same without \n: for a message joined from several lines (multiline), whose line breaks are real. */
const CONTROL_BUT_NL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/;
const CONTROL_BUT_NL_ALL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/g;

function escapeControl(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 0x0a) return '\\n';
  if (code === 0x0d) return '\\r';
  if (code < 0x80) return '\\x' + code.toString(16).padStart(2, '0');
  return '\\u' + code.toString(16).padStart(4, '0');
}

export function escapeControls(text: string): string {
  if (!text.isWellFormed()) text = text.toWellFormed();
  return CONTROL.test(text) ? text.replace(CONTROL_ALL, escapeControl) : text;
}

/** Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Cuts a string to at most maxBytes of UTF-8 without splitting a character. */
export function cutUtf8(text: string, maxBytes: number): Sanitised {
  // Fast path: every UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return { text, truncated: false };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return { text, truncated: false };
  const buf = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so we stop at a character start.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return { text: buf.subarray(0, end).toString('utf8'), truncated: true };
}

/**
 * keepNewlines: the message was joined from several lines by the multiline stage; its \n stay
 * (every other control is escaped), and text renderings indent the lines after the first
 * (consoleLine), so a joined message still cannot forge a line of its own.
 */
export function sanitiseMessage(text: string, maxBytes: number, keepNewlines = false): Sanitised {
  if (!text.isWellFormed()) text = text.toWellFormed();
  if (keepNewlines) return cutUtf8(CONTROL_BUT_NL.test(text) ? text.replace(CONTROL_BUT_NL_ALL, escapeControl) : text, maxBytes);
  return cutUtf8(escapeControls(text), maxBytes);
}

/** The first max UTF-16 units of text, never splitting a surrogate pair (cut_units in C). */
export function cutUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  const c = text.charCodeAt(max - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

/**
 * Module tags: ASCII letters upper-cased, [A-Z0-9_.-] kept, every other UTF-16 unit becomes '_',
 * at most 16; an empty tag is APP (sanitise_module in C).
 */
export function sanitiseModule(text: string): string {
  if (/^[A-Z0-9_.-]{1,16}$/.test(text)) return text;
  let tag = '';
  for (let i = 0; i < text.length && tag.length < 16; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) tag += String.fromCharCode(c - 32);
    else if ((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45) tag += text[i];
    else tag += '_';
  }
  return tag.length > 0 ? tag : 'APP';
}

/**
 * Drafts → entry records through the codec: what an input that knows its entry's parts hands to
 * `emit` (serial, journald, pstore, any input whose line stage or labels need drafts, the
 * compiled-in plugins' notices, analysers' results) becomes a record by the same rules as the
 * bytes of the stream inputs, written once in C (buildEntry where the addon cannot load). No
 * LogEntry object is made.
 *
 * A draft is written as one draft line (draftLine: a JSON object) and fed to a codec of format
 * `draft` (line-codec.ts), made once per input port with its defaults; the codec reads it as an
 * NDJSON line (entry/ndjson.ts, native/addon/src/ndjson.c) and, because the line is the agent's own,
 * takes the draft's labels and multiline too. The record is exactly encodeEntry(buildEntry(draft)):
 * test/buffer/draft-conformance.test.ts holds the C codec and the JS codec (format draft) to it,
 * and the JS fallback is buildEntry itself (DraftCodec). What travels with the entry (the
 * checkpoint's token, the input id) goes into the record's 'K' header (records.ts).
 *
 * draftLine writes what JSON cannot say, or what an NDJSON line says differently, the way
 * buildEntry reads it; it only shapes values, the rules (sanitising, cutting, limits, level and
 * module names, timestamps) stay the codec's:
 *  - a message that is not a string is its text (textOf) already, as are args that are neither
 *    strings nor finite numbers, and fields values that are not strings, numbers or booleans;
 *  - fields: the first 64 members, as buildEntry counts them (null ones count, and are left out;
 *    a plain object of strings, booleans and finite numbers goes as it is); a number JSON cannot
 *    write (NaN, ±Infinity) goes as a number past a double's range, which the codec writes null,
 *    as buildEntry's JSON.stringify does;
 *  - labels: string, number and boolean values as their text, the first 32 such;
 *  - a Date timestamp: its ms (from 1e11 on, where a number means ms), else its ISO text (its
 *    seconds before the year 0, which ISO text of four digits cannot write);
 *  - level, module, source, lang_key only when they are strings; receivedAt is the codec's `now`.
 * A draft whose values cannot be read at all (a getter or proxy that throws) is not written: the
 * caller counts it as rejected.
 */
import { buildEntry, receivedAtOf, textOf, type BuildOptions, type EntryDraft } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';
import { setOwn } from '../../entry/ndjson.ts';
import { issueToken } from '../../entry/checkpoint.ts';
import type { Level } from '../../lib/level.ts';
import { keyedRecord } from './records.ts';
import type { LineCodec } from './line-codec.ts';
import { NativeLineCodec } from './native-codec.ts';

const MAX_ARGS = 32;
const MAX_FIELDS = 64;
const MAX_LABELS = 32;
/** A Date before this (1973-03-03) would read as seconds if written as its ms. */
const MS_FROM = 1e11;
/** 0000-01-01T00:00:00.000Z: from here toISOString writes the four-digit year parseTimestamp reads. */
const ISO_FROM = -62167219200000;
/** The largest line buffer a port keeps. */
const SCRATCH_MAX = 256 * 1024;
/** What the codec writes null for in fields (a JSON number cannot be NaN or infinite). */
const NOT_A_NUMBER = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON('1e999');

/**
 * Fields that go into the line as they are: a plain object (no prototype of its own, so no
 * inherited toJSON) of at most 64 own members, each a string, a boolean or a finite number. What
 * inputs emit is nearly always this: checked without copying it.
 */
function plainFields(fields: object): boolean {
  const proto = Object.getPrototypeOf(fields);
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  for (const k in fields) {
    if (!Object.hasOwn(fields, k) || ++n > MAX_FIELDS) return false;
    const v = (fields as Record<string, unknown>)[k];
    const t = typeof v;
    if (t !== 'string' && t !== 'boolean' && !(t === 'number' && Number.isFinite(v))) return false;
  }
  return n > 0;
}

function shapedFields(fields: object): Record<string, unknown> | undefined {
  if (plainFields(fields)) return fields as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let n = 0;
  let kept = 0;
  for (const [k, v] of Object.entries(fields)) {
    if (n++ >= MAX_FIELDS) break;
    if (v === null || v === undefined) continue;
    kept++;
    const t = typeof v;
    setOwn(out, k, t === 'string' || t === 'boolean' ? v : t === 'number' ? (Number.isFinite(v) ? v : NOT_A_NUMBER) : textOf(v, true));
  }
  return kept > 0 ? out : undefined;
}

function shapedLabels(labels: object): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    if (n++ >= MAX_LABELS) break;
    setOwn(out, k, String(v));
  }
  return n > 0 ? out : undefined;
}

function shapedArgs(args: readonly unknown[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (let i = 0; i < args.length && i < MAX_ARGS; i++) {
    const a = args[i];
    out.push(typeof a === 'string' || (typeof a === 'number' && Number.isFinite(a)) ? a : textOf(a, false));
  }
  return out;
}

function timestampOf(ts: unknown): string | number | undefined {
  if (typeof ts === 'string' || typeof ts === 'number') return ts;
  if (!(ts instanceof Date)) return undefined;
  const ms = ts.getTime();
  if (Number.isNaN(ms)) return undefined;
  return ms >= MS_FROM ? ms : ms >= ISO_FROM ? ts.toISOString() : ms / 1000;
}

/** The draft as its draft line (see the module comment). Throws only when reading the draft throws. */
export function draftLine(d: EntryDraft): string {
  const o: Record<string, unknown> = {};
  const ts = timestampOf(d.timestamp);
  if (ts !== undefined) o.timestamp = ts;
  if (typeof d.level === 'string') o.level = d.level;
  if (typeof d.module === 'string') o.module = d.module;
  const m = d.message;
  if (m !== undefined) o.message = typeof m === 'string' ? m : textOf(m, true);
  if (typeof d.lang_key === 'string') o.lang_key = d.lang_key;
  if (Array.isArray(d.args)) o.args = shapedArgs(d.args);
  if (typeof d.source === 'string') o.source = d.source;
  if (d.truncated) o.truncated = true;
  const f = d.fields;
  if (f !== null && typeof f === 'object' && !Array.isArray(f)) {
    const shaped = shapedFields(f);
    if (shaped) o.fields = shaped;
  }
  const l = d.labels;
  if (l !== null && typeof l === 'object' && !Array.isArray(l)) {
    const shaped = shapedLabels(l);
    if (shaped) o.labels = shaped;
  }
  if (d.multiline === true) o.multiline = true;
  return JSON.stringify(o);
}

/**
 * What encode gives: the record's payload ('E' or keyed 'K' header, then the entry's NDJSON) and
 * its token, or why there is none. reject: the codec found the line wrong (never expected) and
 * kept it as text, saying why.
 */
export type DraftRecord = { ok: true; rec: Buffer; token: number; reject?: string } | { ok: false; error: string };

/**
 * One per input port (and per plugin that emits): its defaults, and the codec its drafts go
 * through. native: the C codec (format draft) over each draft's line; else the JS rules of that
 * line's codec, without the line: buildEntry of the draft (what the line's codec is held to),
 * which is what the JS fallback costs either way.
 */
export class DraftCodec {
  private readonly codec: LineCodec | undefined;
  private readonly build: BuildOptions;
  private scratch = Buffer.allocUnsafe(4096);

  constructor(options: { maxMessageBytes: number; defaultLevel: Level; defaultModule: string; node: string }, native: boolean) {
    this.build = { maxMessageBytes: options.maxMessageBytes, defaultLevel: options.defaultLevel, defaultModule: options.defaultModule, node: options.node };
    this.codec = native ? new NativeLineCodec({ ...options, maxLineBytes: 0, minLevel: 'DEBUG', format: 'draft' }) : undefined;
  }

  /**
   * The draft's record. It may lie in memory the next codec call writes over
   * (LineCodec.feedTransient): push or copy it before. input: the id routes select by (0: none).
   * A draft that makes no record finishes its checkpoint (nothing will hold it).
   */
  encode(draft: EntryDraft, input: number): DraftRecord {
    let rec: Buffer | undefined;
    let json: string | undefined;
    let reject: string | undefined;
    try {
      if (this.codec) {
        const r = this.native(this.codec, draft);
        if (typeof r === 'string') return this.none(draft, r);
        rec = r.rec;
        reject = r.reject;
      } else json = encodeEntry(buildEntry(draft, this.build));
    } catch (e) {
      return this.none(draft, `draft not readable: ${(e as Error)?.message ?? String(e)}`);
    }
    const token = draft.checkpoint ? issueToken(draft.checkpoint) : 0;
    // The codec's record ('E' + NDJSON) where it lies, or the JS rules' NDJSON with the same header;
    // keyed ('K') when something travels with it.
    if (token || input) return { ok: true, rec: keyedRecord(rec ? rec.subarray(1) : json!, token, input), token, reject };
    return { ok: true, rec: rec ?? Buffer.from('E' + json, 'utf8'), token, reject };
  }

  /** No record of the draft: why, and its checkpoint finished (nothing will hold it). */
  private none(draft: EntryDraft, error: string): DraftRecord {
    draft.checkpoint?.hold();
    draft.checkpoint?.release();
    return { ok: false, error };
  }

  /** The draft's line through the C codec: its record ('E' + NDJSON, transient), or why there is none. */
  private native(c: LineCodec, draft: EntryDraft): { rec: Buffer; reject?: string } | string {
    const line = draftLine(draft);
    // Into one reused buffer (at most 3 bytes of UTF-8 per UTF-16 unit), kept at most SCRATCH_MAX:
    // a rare huge draft gets a buffer of its own.
    const need = line.length * 3;
    if (need > this.scratch.length && need <= SCRATCH_MAX) this.scratch = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2));
    const bytes = need <= this.scratch.length ? this.scratch.subarray(0, this.scratch.write(line, 0, 'utf8')) : Buffer.from(line, 'utf8');
    const now = receivedAtOf(draft) ?? Date.now();
    let frames = c.feedTransient ? c.feedTransient(bytes, now) : c.feed(bytes, now);
    // The line is a JSON object the agent wrote: the codec makes one 'E' record of it. An 'R' note
    // first would mean the two disagree on JSON: its reason is reported, the entry kept as text.
    let reject: string | undefined;
    if (frames.length > 4 && frames[4] === 0x52 /* R */) {
      const n = frames.readUInt32LE(0);
      reject = frames.toString('utf8', 5, 4 + n);
      frames = frames.subarray(4 + n);
    }
    if (frames.length < 5) return reject ?? 'the codec made no record of the draft';
    return { rec: frames.subarray(4, 4 + frames.readUInt32LE(0)), reject };
  }
}

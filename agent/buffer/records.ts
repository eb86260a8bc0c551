/**
 * Entry records and the records path (docs/architecture.md, docs/c-plugins.md). In the ring, entries
 * are records framed `u32 length (LE) | payload`, each payload one entry as NDJSON (encodeEntry's
 * bytes) behind a header that says what else travels with it:
 *   'E' | NDJSON                            made by the fast codec, nothing else attached;
 *   'K' | u32 token | u16 input | NDJSON    (LE) token: the acknowledgement token of an input
 *                                           checkpoint (0 = none, entry/checkpoint.ts);
 *                                           input: the input's id (0 = not recorded), for routes;
 *   NDJSON (starts with '{')                a bare entry.
 * An entry is such a record from the input to the sink: the pipeline hands every stage a batch of
 * records as they came out of the ring (agent/pipeline/batch.ts), and stages that read the bytes
 * (C filters, filter_level, the sinks, the forwarder) never make JS objects of them.
 * native/common/records.c is the C reader of the same form.
 */
import { freezeEntry, type LogEntry } from '../../entry/entry.ts';
import { holdToken, openTokens, releaseToken } from '../../entry/checkpoint.ts';
import { LEVELS, levelRank } from '../../lib/level.ts';
import { loadedAddon, type NativeAddon } from '../../lib/native-runtime.ts';

const E = 0x45;
const NL = 0x0a;
/** The tag of a record that carries a token and an input id, and its header's size. */
export const KEYED = 0x4b;
export const KEYED_HEADER = 7;

/** Where the NDJSON of the record framed at off starts (after its header). */
export function recordStart(frames: Buffer, off: number): number {
  const tag = frames[off + 4];
  return tag === E ? off + 5 : tag === KEYED ? off + 4 + KEYED_HEADER : off + 4;
}

/** The token and input id of the record framed at off (0, 0 when it carries none). */
export function recordToken(frames: Buffer, off: number): number {
  return frames[off + 4] === KEYED ? frames.readUInt32LE(off + 5) : 0;
}

export function recordInput(frames: Buffer, off: number): number {
  return frames[off + 4] === KEYED ? frames.readUInt16LE(off + 9) : 0;
}

/** Calls fn with the token of every record that carries one, in order. */
export function forEachToken(frames: Buffer, fn: (token: number) => void): void {
  for (let off = 0; off + 4 <= frames.length; off += 4 + frames.readUInt32LE(off)) {
    if (frames[off + 4] === KEYED) {
      const t = frames.readUInt32LE(off + 5);
      if (t !== 0) fn(t);
    }
  }
}

/** One keyed record ('K' header) for an entry's NDJSON. */
export function keyedRecord(json: string | Buffer, token: number, input: number): Buffer {
  const n = typeof json === 'string' ? Buffer.byteLength(json) : json.length;
  const out = Buffer.allocUnsafe(KEYED_HEADER + n);
  out[0] = KEYED;
  out.writeUInt32LE(token, 1);
  out.writeUInt16LE(input, 5);
  if (typeof json === 'string') out.write(json, KEYED_HEADER, 'utf8');
  else json.copy(out, KEYED_HEADER);
  return out;
}

/**
 * The codec's output with its 'E' records rewritten as keyed records, in one copy: the i-th 'E'
 * record gets token(i) (0 for none) and the input id; other frames ('R' notes) stay as they are.
 */
export function keyRecords(frames: Buffer, input: number, token: (index: number) => number): Buffer {
  let entries = 0;
  for (let off = 0; off + 4 <= frames.length; off += 4 + frames.readUInt32LE(off)) if (frames[off + 4] === E) entries++;
  const out = Buffer.allocUnsafe(frames.length + entries * (KEYED_HEADER - 1));
  let w = 0;
  let i = 0;
  for (let off = 0; off + 4 <= frames.length; ) {
    const end = off + 4 + frames.readUInt32LE(off);
    if (frames[off + 4] !== E) {
      w += frames.copy(out, w, off, end);
    } else {
      out.writeUInt32LE(KEYED_HEADER + end - off - 5, w);
      out[w + 4] = KEYED;
      out.writeUInt32LE(token(i++), w + 5);
      out.writeUInt16LE(input, w + 9);
      w += 4 + KEYED_HEADER;
      w += frames.copy(out, w, off + 5, end);
    }
    off = end;
  }
  return out.subarray(0, w);
}

/** A run of entry records: `count` frames back to back. */
export interface EntryRecords {
  readonly frames: Buffer;
  readonly count: number;
  /**
   * Record i as an entry to read fields from, when the run is a pipeline batch: its lazy view (or
   * its object, when a stage already decoded the batch), one per record shared by every stage the
   * batch passes, so what one filter decoded (a message, a source) the next reads for free.
   */
  readonly view?: (index: number) => LogEntry;
}

/**
 * Calls fn with where each record's NDJSON lies in frames ([start, end), after the header),
 * without making a Buffer per record: the records path runs this once per stage on every entry.
 */
export function forEachRecord(frames: Buffer, fn: (start: number, end: number, index: number) => void): void {
  let off = 0;
  for (let i = 0; off + 4 <= frames.length; i++) {
    const end = off + 4 + frames.readUInt32LE(off);
    fn(recordStart(frames, off), end, i);
    off = end;
  }
}

/**
 * NDJSON (each entry then `\n`) for records [from, to): the body of a forward BATCH. One
 * allocation, the size of those records' frames (every frame's 4-byte header pays for its
 * newline): a run cut into several batches does not give each a buffer the size of the whole run,
 * and the records before `from` are skipped by their headers alone. into: a buffer at least that
 * size to write into instead (the result is a view of it), for a caller that reuses one while
 * nothing else holds it.
 */
export function recordsToNdjson(r: EntryRecords, from = 0, to = r.count, into?: Buffer): Buffer {
  if (from === 0 && to >= r.count) {
    const addon = loadedAddon();
    if (addon) return framesToNdjsonNative(r.frames, addon, into);
  }
  const span = recordsSpan(r, from, to);
  const out = into && into.length >= span.length ? into : Buffer.allocUnsafe(span.length);
  let w = 0;
  forEachRecord(span, (start, end) => {
    w += span.copy(out, w, start, end);
    out[w++] = NL;
  });
  return out.subarray(0, w);
}

/** forwardLines' answer ([records, frames offset after them, bytes written, why it stopped]), reused. */
const linesResult = new Float64Array(4);
/** forwardLines stopped before a record with an empty message and a lang_key (forward-lines.h LINES_RENDER). */
const LINES_RENDER = 1;

/**
 * recordsToNdjson of a whole batch through the addon: its lines copied by one call
 * (native/addon/src/forward-lines.h) instead of a copy per record and two walks over the frames
 * in JavaScript, which had been a tenth of the pipeline's main thread behind sink_tcp. The
 * forwarder's rule stops before a record that holds an empty message and a lang_key (it sends
 * such an entry rendered); here it is a line like any other, copied as it is.
 */
function framesToNdjsonNative(f: Buffer, addon: NativeAddon, into?: Buffer): Buffer {
  // A line is never longer than its frame (the frame's 4-byte length pays for the newline).
  const out = into && into.length >= f.length ? into : Buffer.allocUnsafe(f.length);
  let w = 0;
  for (let off = 0; off + 4 <= f.length; ) {
    addon.forwardLines(f, off, out, w, 0xffffffff, f.length + 1, linesResult);
    w += linesResult[2]!;
    off = linesResult[1]!;
    if (linesResult[3] !== LINES_RENDER) break;
    const end = off + 4 + f.readUInt32LE(off);
    w += f.copy(out, w, recordStart(f, off), end);
    out[w++] = NL;
    off = end;
  }
  return out.subarray(0, w);
}

/**
 * The frames of records [from, to) (a view): found by their headers alone. Its length bounds
 * their NDJSON (recordsToNdjson).
 */
export function recordsSpan(r: EntryRecords, from = 0, to = r.count): Buffer {
  const f = r.frames;
  let off = 0;
  let i = 0;
  for (; i < from && off + 4 <= f.length; i++) off += 4 + f.readUInt32LE(off);
  const first = off;
  for (; i < to && off + 4 <= f.length; i++) off += 4 + f.readUInt32LE(off);
  return f.subarray(first, off);
}

/** The entries as objects, for a stage that cannot take records (and for tests). */
export function recordsToEntries(r: EntryRecords): LogEntry[] {
  const out: LogEntry[] = [];
  forEachRecord(r.frames, (start, end) => out.push(freezeEntry(JSON.parse(r.frames.toString('utf8', start, end)) as LogEntry)));
  return out;
}

const HEAD = Buffer.from('{"timestamp":"');
const LEVEL_KEY = Buffer.from('","level":"');
const MODULE_KEY = Buffer.from('","module":"');
const QUOTE = 0x22;

/** Where a record's level and module values lie, or undefined for a record of another shape. */
export interface LevelModuleSpan {
  levelStart: number;
  levelEnd: number;
  moduleStart: number;
  moduleEnd: number;
}

/**
 * Finds level and module in a record without parsing it: encodeEntry writes timestamp, level and
 * module first, and none of the three is ever escaped (an ISO time, a level name, a sanitised tag).
 */
export function levelModuleSpan(frames: Buffer, start: number, end: number): LevelModuleSpan | undefined {
  const out = { levelStart: 0, levelEnd: 0, moduleStart: 0, moduleEnd: 0 };
  return levelModuleSpanInto(frames, start, end, out) ? out : undefined;
}

/**
 * levelModuleSpan written into `out` (true when the record has the shape): for a loop over every
 * record, which keeps one span instead of making an object per entry.
 */
export function levelModuleSpanInto(frames: Buffer, start: number, end: number, out: LevelModuleSpan): boolean {
  // Byte loops, not Buffer#compare/indexOf: this runs for every record a filter reads, and the
  // keys and values are a few bytes long, where each native call costs more than the comparison.
  if (!bytesAt(frames, start, end, HEAD)) return false;
  const tsEnd = quoteFrom(frames, start + HEAD.length, end);
  if (tsEnd < 0 || !bytesAt(frames, tsEnd, end, LEVEL_KEY)) return false;
  const levelStart = tsEnd + LEVEL_KEY.length;
  const levelEnd = quoteFrom(frames, levelStart, end);
  if (levelEnd < 0 || !bytesAt(frames, levelEnd, end, MODULE_KEY)) return false;
  const moduleStart = levelEnd + MODULE_KEY.length;
  const moduleEnd = quoteFrom(frames, moduleStart, end);
  if (moduleEnd < 0) return false;
  out.levelStart = levelStart;
  out.levelEnd = levelEnd;
  out.moduleStart = moduleStart;
  out.moduleEnd = moduleEnd;
  return true;
}

/** Whether frames holds want at [at, end). A byte loop: want is a few bytes (see levelModuleSpan). */
export function bytesAt(frames: Buffer, at: number, end: number, want: Buffer): boolean {
  if (at + want.length > end) return false;
  for (let i = 0; i < want.length; i++) if (frames[at + i] !== want[i]) return false;
  return true;
}

/** Index of the first '"' in [from, end), or -1. */
function quoteFrom(frames: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (frames[i] === QUOTE) return i;
  return -1;
}

/** The five level names start with five different letters: the first byte names the level. */
const RANK_BY_INITIAL = new Map(LEVELS.map((l) => [l.charCodeAt(0), levelRank(l)]));

/** recordLevelsAtLeast's answers, reused: read before the next call (nothing keeps them). */
let levelAnswers = new Uint8Array(0);

/**
 * Per record of a batch, whether its level ranks at or above minRank (1) or below it (0), read by
 * the addon in one call (native/addon/src/levels.h, the rule of levelModuleSpanInto and
 * spanLevelRank). Undefined when the addon is not loaded (nothing here loads it: with
 * buffer.native off the agent runs no native code) or a record has another shape: the caller
 * decides record by record. The answer is valid until the next call.
 */
export function recordLevelsAtLeast(r: EntryRecords, minRank: number): Uint8Array | undefined {
  const addon = loadedAddon();
  if (!addon) return undefined;
  if (levelAnswers.length < r.count) levelAnswers = new Uint8Array(Math.max(r.count, 1024));
  const v = levelAnswers.subarray(0, r.count);
  if (addon.levelVerdicts(r.frames, minRank, v) !== r.count || v.indexOf(2) >= 0) return undefined;
  return v;
}

/** The rank of the level in a span (levelRank's), without making a string. */
export function spanLevelRank(frames: Buffer, s: LevelModuleSpan): number | undefined {
  return RANK_BY_INITIAL.get(frames[s.levelStart]!);
}

/** Level and module of the record at [start, end): from the span, else by parsing it. */
export function recordLevelModule(frames: Buffer, start: number, end: number): { level: string; module: string } {
  const s = levelModuleSpan(frames, start, end);
  if (s) return { level: frames.toString('latin1', s.levelStart, s.levelEnd), module: frames.toString('latin1', s.moduleStart, s.moduleEnd) };
  const e = JSON.parse(frames.toString('utf8', start, end)) as Partial<LogEntry>;
  return { level: String(e.level ?? 'INFO'), module: String(e.module ?? 'APP') };
}

/** A sink took a run of records: one hold on each token in it. */
export function holdRecordTokens(r: EntryRecords): void {
  if (openTokens()) forEachToken(r.frames, holdToken);
}

/** The run is finished for whoever held it (delivered, durable, filtered out or dropped). */
export function releaseRecordTokens(r: EntryRecords): void {
  if (openTokens()) forEachToken(r.frames, releaseToken);
}

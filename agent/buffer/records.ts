/**
 * Entry records and the records path (docs/architecture.md, docs/c-plugins.md). In the ring, entries
 * are records framed `u32 length (LE) | payload`, each payload one entry as NDJSON (encodeEntry's
 * bytes), optionally preceded by 'E' (made by the fast codec). When every stage an entry meets can
 * work on these bytes (C filters, filter_level, the forwarder), the pipeline hands them a run of
 * records as they came out of the ring, and the entries never become JS objects.
 * native/common/records.c is the C reader of the same form.
 */
import { freezeEntry, type LogEntry } from '../entry/entry.ts';
import { LEVELS, levelRank } from '../../lib/level.ts';

const E = 0x45;
const NL = 0x0a;

/** A run of entry records: `count` frames back to back. */
export interface EntryRecords {
  readonly frames: Buffer;
  readonly count: number;
}

export function isRecords(x: unknown): x is EntryRecords {
  return typeof x === 'object' && x !== null && Buffer.isBuffer((x as EntryRecords).frames);
}

/**
 * Calls fn with where each record's NDJSON lies in frames ([start, end), after the codec's 'E'),
 * without making a Buffer per record: the records path runs this once per stage on every entry.
 */
export function forEachRecord(frames: Buffer, fn: (start: number, end: number, index: number) => void): void {
  let off = 0;
  for (let i = 0; off + 4 <= frames.length; i++) {
    const end = off + 4 + frames.readUInt32LE(off);
    const start = frames[off + 4] === E ? off + 5 : off + 4;
    fn(start, end, i);
    off = end;
  }
}

/** The records whose verdict is true, in order (one copy into a new buffer). */
export function keepRecords(r: EntryRecords, keep: ArrayLike<boolean>): EntryRecords {
  let count = 0;
  for (let i = 0; i < r.count; i++) if (keep[i]) count++;
  if (count === r.count) return r;
  const out = Buffer.allocUnsafe(r.frames.length);
  let w = 0;
  let off = 0;
  for (let i = 0; off + 4 <= r.frames.length; i++) {
    const end = off + 4 + r.frames.readUInt32LE(off);
    if (keep[i]) w += r.frames.copy(out, w, off, end);
    off = end;
  }
  return { frames: out.subarray(0, w), count };
}

/**
 * NDJSON (each entry then `\n`) for records [from, to): the body of a forward BATCH. One
 * allocation: every frame's 4-byte header pays for its newline.
 */
export function recordsToNdjson(r: EntryRecords, from = 0, to = r.count): Buffer {
  const out = Buffer.allocUnsafe(r.frames.length);
  let w = 0;
  forEachRecord(r.frames, (start, end, i) => {
    if (i < from || i >= to) return;
    w += r.frames.copy(out, w, start, end);
    out[w++] = NL;
  });
  return out.subarray(0, w);
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
  if (HEAD.compare(frames, start, Math.min(start + HEAD.length, end)) !== 0) return undefined;
  const tsEnd = frames.indexOf(QUOTE, start + HEAD.length);
  if (tsEnd < 0 || tsEnd >= end || LEVEL_KEY.compare(frames, tsEnd, Math.min(tsEnd + LEVEL_KEY.length, end)) !== 0) return undefined;
  const levelStart = tsEnd + LEVEL_KEY.length;
  const levelEnd = frames.indexOf(QUOTE, levelStart);
  if (levelEnd < 0 || levelEnd >= end || MODULE_KEY.compare(frames, levelEnd, Math.min(levelEnd + MODULE_KEY.length, end)) !== 0) return undefined;
  const moduleStart = levelEnd + MODULE_KEY.length;
  const moduleEnd = frames.indexOf(QUOTE, moduleStart);
  if (moduleEnd < 0 || moduleEnd >= end) return undefined;
  return { levelStart, levelEnd, moduleStart, moduleEnd };
}

/** The five level names start with five different letters: the first byte names the level. */
const RANK_BY_INITIAL = new Map(LEVELS.map((l) => [l.charCodeAt(0), levelRank(l)]));

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

/**
 * A lazy, read-only view of one entry record, for JS filters and sinks on the records path that
 * need fields. It reads only what is touched: level and module straight off the bytes (never
 * escaped, see levelModuleSpan), timestamp and message from their spans (the message is decoded
 * by itself), and the rest by parsing the record once, on first use. It is a LogEntry to any
 * code that only reads (render.ts, filters), so the same logic serves objects and records.
 */
import type { LogEntry } from '../../entry/entry.ts';
import type { Level } from '../../lib/level.ts';
import { forEachRecord, levelModuleSpan, type EntryRecords, type LevelModuleSpan } from './records.ts';

const MESSAGE_KEY = Buffer.from(',"message":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class RecordView implements LogEntry {
  private readonly frames: Buffer;
  /** Where the record's NDJSON lies in frames. */
  readonly start: number;
  readonly end: number;
  private span: LevelModuleSpan | null | undefined;
  private parsed?: LogEntry;
  private msg?: string;

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
    return s ? (this.frames.toString('latin1', s.levelStart, s.levelEnd) as Level) : this.all().level;
  }

  get module(): string {
    const s = this.lm();
    return s ? this.frames.toString('latin1', s.moduleStart, s.moduleEnd) : this.all().module;
  }

  get timestamp(): string {
    // The record starts {"timestamp":"…" and an ISO time is never escaped.
    const s = this.lm();
    return s ? this.frames.toString('latin1', this.start + 14, s.levelStart - 11) : this.all().timestamp;
  }

  get message(): string {
    if (this.msg !== undefined) return this.msg;
    const s = this.lm();
    const f = this.frames;
    if (s && MESSAGE_KEY.compare(f, s.moduleEnd + 1, s.moduleEnd + 1 + MESSAGE_KEY.length) === 0) {
      // The string runs to the first quote not escaped by an odd number of backslashes.
      const open = s.moduleEnd + MESSAGE_KEY.length;
      let q = open + 1;
      let escaped = false;
      for (;;) {
        q = f.indexOf(QUOTE, q);
        if (q < 0 || q >= this.end) break;
        let b = q - 1;
        while (f[b] === BACKSLASH) b--;
        if ((q - 1 - b) % 2 === 0) {
          const bs = f.indexOf(BACKSLASH, open + 1);
          escaped = bs >= 0 && bs < q;
          return (this.msg = escaped ? (JSON.parse(f.toString('utf8', open, q + 1)) as string) : f.toString('utf8', open + 1, q));
        }
        q++;
      }
    }
    return (this.msg = this.all().message);
  }

  get lang_key() { return this.all().lang_key; }
  get args() { return this.all().args; }
  get node() { return this.all().node; }
  get source() { return this.all().source; }
  get seq() { return this.all().seq; }
  get truncated() { return this.all().truncated; }
  get fields() { return this.all().fields; }
  get labels() { return this.all().labels; }

  /** A plain frozen entry (for code that keeps or copies it). */
  toEntry(): LogEntry {
    return this.all();
  }
}

/** Views of every record of a run, in order. */
export function recordViews(r: EntryRecords): RecordView[] {
  const out: RecordView[] = new Array(r.count);
  forEachRecord(r.frames, (start, end, i) => (out[i] = new RecordView(r.frames, start, end)));
  return out;
}

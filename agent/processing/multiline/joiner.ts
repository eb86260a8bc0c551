/**
 * Groups consecutive lines of one stream (a file, a connection, a port) into one entry while a
 * multiline mode says they continue it. A group is flushed when a line starts a new entry, when
 * no line came for `flushMs` (the last entry of a burst must not wait for the next one), or when
 * it reaches maxLines / maxBytes (a runaway group cannot hold memory).
 */
import { MULTILINE_MODES, type ContinuationRule, type MultilineMode } from './modes.ts';

export interface JoinerOptions {
  mode: MultilineMode;
  start?: RegExp;
  continuation?: RegExp;
  flushMs: number;
  maxLines: number;
  maxBytes: number;
}

export interface Held<T> {
  item: T;
  text: string;
}

interface Stream<T> {
  rule: ContinuationRule;
  group: Held<T>[];
  bytes: number;
  timer?: NodeJS.Timeout;
}

/** At most this many streams hold a group at once; past it the oldest group is flushed. */
const MAX_STREAMS = 4096;

export class MultilineJoiner<T> {
  private readonly streams = new Map<string, Stream<T>>();
  private readonly opts: JoinerOptions;
  /** Gets each finished group (one or more lines, in order); returns false to ask for a pause. */
  private readonly flushGroup: (group: Held<T>[], why: 'next' | 'timeout' | 'limit' | 'end') => boolean;
  groups = 0;
  joinedLines = 0;
  limitFlushes = 0;

  constructor(opts: JoinerOptions, flushGroup: (group: Held<T>[], why: 'next' | 'timeout' | 'limit' | 'end') => boolean) {
    this.opts = opts;
    this.flushGroup = flushGroup;
  }

  /** Adds a line of `stream`; returns false when a flushed group asked for a pause. */
  push(stream: string, item: T, text: string): boolean {
    let s = this.streams.get(stream);
    if (!s) {
      if (this.streams.size >= MAX_STREAMS) this.flushStream(this.streams.keys().next().value!, 'limit');
      s = { rule: MULTILINE_MODES[this.opts.mode](this.opts), group: [], bytes: 0 };
      this.streams.set(stream, s);
    }
    let ok = true;
    const continues = s.rule.continues(text);
    const bytes = Buffer.byteLength(text) + 1;
    if (s.group.length > 0 && (!continues || s.group.length >= this.opts.maxLines || s.bytes + bytes > this.opts.maxBytes)) {
      const why = continues ? 'limit' : 'next';
      if (continues) this.limitFlushes++;
      ok = this.flushOut(s, why);
    }
    s.group.push({ item, text });
    s.bytes += bytes;
    if (s.timer) s.timer.refresh();
    else {
      s.timer = setTimeout(() => this.flushStream(stream, 'timeout'), this.opts.flushMs);
      s.timer.unref?.();
    }
    return ok;
  }

  private flushOut(s: Stream<T>, why: 'next' | 'timeout' | 'limit' | 'end'): boolean {
    const group = s.group;
    s.group = [];
    s.bytes = 0;
    if (group.length === 0) return true;
    this.groups++;
    if (group.length > 1) this.joinedLines += group.length;
    return this.flushGroup(group, why);
  }

  private flushStream(stream: string, why: 'timeout' | 'limit' | 'end'): void {
    const s = this.streams.get(stream);
    if (!s) return;
    clearTimeout(s.timer);
    this.streams.delete(stream);
    this.flushOut(s, why);
  }

  /** Flushes every held group (the input stops, or a stream ended). */
  flushAll(): void {
    for (const key of [...this.streams.keys()]) this.flushStream(key, 'end');
  }

  /** Flushes one stream's group (its connection closed). */
  end(stream: string): void {
    this.flushStream(stream, 'end');
  }

  /** Lines waiting in groups. */
  get held(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.group.length;
    return n;
  }
}

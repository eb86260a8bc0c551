/**
 * The kmsg codec format in JS (the twin of native/addon/src/kmsg.c, run by JsLineCodec with format
 * `kmsg`): the byte stream of /dev/kmsg, or of a FIFO carrying its records, into records, their
 * positions, and entries.
 *  - Lines split on \n (no \r removed), empty ones skipped, a line past maxLineBytes cut. A line not
 *    starting with a space begins a record, one starting with a space continues it.
 *  - A record is complete when the next one begins, at the end of every feed when each chunk is
 *    whole records (`whole`: the device returns exactly one per read), or at end() (the source went
 *    idle); a line without its newline yet waits for it. A record keeps at most maxLineBytes bytes
 *    (its header line, then \n + each continuation line): the rest is discarded, the entry truncated.
 *  - A header that does not parse: an 'R' note, counted, no entry.
 *  - Positions: a gap in seq is counted as missed; a record at or below `lastSeq` (delivered before)
 *    or any record under `skipAll` (the backlog before the input started) is skipped and counted.
 *  - Fragments (kernels before 4.9): a `c` record is held and the `+` records after it joined to it,
 *    until a record that is not a `+` or end(); a join past maxLineBytes is not made.
 *  - The entries take the module of the options (else the codec's default module).
 *  - Every entry follows an 'S' note carrying its seq: the position its checkpoint takes.
 */
import type { EntryDraft } from '../../../entry/build.ts';
import { decodeUtf8 } from '../../../entry/sanitise.ts';
import { kmsgDraft, notAHeader, parseKmsgRecord, type KmsgRecord } from './record.ts';
import { LineSplitter } from '../../../lib/line-splitter.ts';

export interface KmsgCodecOptions {
  /** Wall-clock ms of the kernel's boot: an entry's timestamp is this + ts_usec / 1000. */
  bootWallMs: number;
  /** The last seq delivered before (a saved position): records at or below are skipped, gaps counted from it. */
  lastSeq?: number;
  /** Skip every record (counted, seq tracked): the backlog read before an input starts at the end. */
  skipAll?: boolean;
  /** Each chunk fed is whole records (the device): the record in progress completes with the chunk. */
  whole?: boolean;
  /** The entries' module (the input's `module`, else KERNEL); absent or empty: the codec's default module. */
  module?: string;
}

/** codecFormatCounters of a kmsg codec. last_seq, held_seq: -1 when none. */
export interface KmsgCounters {
  skipped: number;
  missed: number;
  /** The last seq read. */
  last_seq: number;
  /** The seq of the first fragment held back for joining: the position must stay before it. */
  held_seq: number;
}

/** Where the framer's output goes (JsLineCodec). */
export interface KmsgOut {
  /** Counts records (lines), cut ones and rejected ones, as the codec's counters. */
  readonly count: { lines: number; cut: number; rejected: number };
  /** 'R' + why. */
  reject(why: string): void;
  /** 'S' + seq, then the entry of draft (neither when it is filtered out). */
  entry(draft: EntryDraft, seq: number): void;
}

const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');

export class KmsgFramer {
  private readonly max: number;
  private readonly o: KmsgCodecOptions;
  private readonly out: KmsgOut;
  /** Lines of at most maxLineBytes, \r kept (the C codec's codec_split_lines does the same). */
  private readonly lines: LineSplitter;
  /** The record in progress. */
  private rec: Buffer[] = [];
  private recBytes = 0;
  private hasRec = false;
  private recCut = false;
  /** A fragment and those joined to it so far. */
  private held: KmsgRecord[] = [];
  private heldBytes = 0;
  private heldCut = false;
  private heldSeq = -1;
  private lastSeq = -1;
  private hasLast = false;
  private readonly skipUpTo: number;
  private skipped = 0;
  private missed = 0;

  constructor(maxLineBytes: number, options: KmsgCodecOptions | undefined, out: KmsgOut) {
    this.max = maxLineBytes;
    this.o = options ?? { bootWallMs: 0 };
    this.out = out;
    this.lines = new LineSplitter(maxLineBytes, (line, cut) => this.line(line, cut), { keepCr: true });
    const last = this.o.lastSeq ?? -1;
    this.skipUpTo = last >= 0 ? last : -1;
    if (last >= 0) {
      this.lastSeq = last;
      this.hasLast = true;
    }
  }

  push(chunk: Buffer): void {
    this.lines.push(chunk);
    if (this.o.whole) this.recordDone();
  }

  /** The source went idle (or ended): the record in progress and a held fragment are complete. */
  end(): void {
    this.recordDone();
    this.release();
  }

  counters(): KmsgCounters {
    return { skipped: this.skipped, missed: this.missed, last_seq: this.hasLast ? this.lastSeq : -1, held_seq: this.held.length ? this.heldSeq : -1 };
  }

  private line(line: Buffer, cut: boolean): void {
    const n = line.length;
    if (n === 0) return;
    if (line[0] === SPACE && this.hasRec) {
      const room = this.max - this.recBytes;
      if (n + 1 > room) cut = true;
      if (room > 0) {
        this.rec.push(NEWLINE, Buffer.from(line.subarray(0, Math.min(n, room - 1))));
        this.recBytes += 1 + Math.min(n, room - 1);
      }
      if (cut) this.recCut = true;
      return;
    }
    this.recordDone();
    this.rec = [Buffer.from(line)];
    this.recBytes = n;
    this.hasRec = true;
    this.recCut = cut;
  }

  private recordDone(): void {
    if (!this.hasRec) return;
    const bytes = this.rec.length === 1 ? this.rec[0]! : Buffer.concat(this.rec);
    const cut = this.recCut;
    this.hasRec = false;
    this.rec = [];
    this.recBytes = 0;
    this.recCut = false;
    const count = this.out.count;
    count.lines++;
    if (cut) count.cut++;
    const text = decodeUtf8(bytes);
    const r = parseKmsgRecord(text);
    if (!r) {
      count.rejected++;
      this.out.reject(notAHeader(text));
      return;
    }
    if (this.hasLast && r.seq > this.lastSeq + 1) this.missed += r.seq - this.lastSeq - 1;
    this.lastSeq = r.seq;
    this.hasLast = true;
    if (this.o.skipAll || r.seq <= this.skipUpTo) {
      this.skipped++;
      return;
    }
    const n = Buffer.byteLength(text, 'utf8');
    if (r.flags === '+' && this.held.length && this.heldBytes + n <= this.max) return this.hold(r, n, cut);
    this.release();
    this.hold(r, n, cut);
    if (r.flags === 'c') this.heldSeq = r.seq;
    else this.release();
  }

  private hold(r: KmsgRecord, bytes: number, cut: boolean): void {
    this.held.push(r);
    this.heldBytes += bytes;
    this.heldCut ||= cut;
  }

  /** The held record (one, or a fragment and those joined to it) as its entry. */
  private release(): void {
    if (!this.held.length) return;
    const parts = this.held;
    const cut = this.heldCut;
    this.held = [];
    this.heldBytes = 0;
    this.heldCut = false;
    this.out.entry(kmsgDraft(parts, this.o.bootWallMs, cut, this.o.module || undefined), parts[parts.length - 1]!.seq);
  }
}

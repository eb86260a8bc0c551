/**
 * The serial console format of the JS codec twin (JsLineCodec, format `serial`): the same steps as
 * native/addon/src/console.c in the same order. A read is framed (framing.ts), each line decoded
 * (UTF-8 with U+FFFD, or latin1), counted, ANSI-stripped, parsed (parse.ts), stamped with a
 * strictly increasing monotonic time, and grouped (oops.ts); what comes out becomes drafts
 * (drafts.ts) and those become records through the codec's entry rules. Notes: 'U' before an
 * oops group's record (urgent), 'L' + line before a routine line's (lineNotes).
 */
import { isUtf8 } from 'node:buffer';
import type { EntryDraft } from '../../../entry/build.ts';
import { decodeUtf8 } from '../../../entry/sanitise.ts';
import { LineFramer, type FramedLine } from './framing.ts';
import { parseConsole, stripAnsi, type ParsedLine } from './parse.ts';
import { OopsGrouper } from './oops.ts';
import { bootDraft, lineDraft, oopsDraft, type SerialLine } from './drafts.ts';

export interface SerialCodecOptions {
  /** 'auto' (default: \n, \r\n or a lone \r), or the exact separator bytes. */
  separator?: 'auto' | Uint8Array;
  /** utf-8 (default; invalid bytes become U+FFFD and are counted) or latin1 (every byte one character). */
  encoding?: 'utf-8' | 'latin1';
  /** Level, module and times from the text (default true); off: the markers are still matched after the kernel prefix. */
  parse?: boolean;
  groupOops?: boolean;
  detectBoot?: boolean;
  /** An oops group this long is closed (ended_by: max_lines); default 1000. */
  oopsMaxLines?: number;
  /** An 'L' + line note before each routine line's record: the line as read, for a line stage's parser. */
  lineNotes?: boolean;
}

/** codecFlush's what: the partial line (silence), the open oops group (silence), both (the port closed). */
export type SerialFlush = 'line' | 'group' | 'close';
export const SERIAL_FLUSH: readonly SerialFlush[] = ['line', 'group', 'close'];

/** The format's own figures (LineCodec.formatCounters), as serial_counters in C. */
export interface SerialCounters {
  invalid_lines: number;
  partial_lines: number;
  oops_groups: number;
  boots: number;
  /** A partial line waits (the input arms its idle timer). */
  pending_bytes: number;
  /** Lines of the open oops group (the input arms its oops timer); 0: none open. */
  open_group_lines: number;
}

/** What the stream writes into: the codec's entry rules, its notes, its shared counters. */
export interface SerialSink {
  entry(draft: EntryDraft): void;
  note(payload: string): void;
  count: { lines: number; cut: number };
}

export class SerialStream {
  private readonly opts: Required<Omit<SerialCodecOptions, 'separator' | 'encoding'>> & { latin1: boolean };
  private readonly sink: SerialSink;
  private readonly framer: LineFramer;
  private readonly grouper: OopsGrouper<SerialLine>;
  /** Last monotonic stamp given to a line (µs resolution), kept strictly increasing. */
  private lastMono = -1;
  private readonly figures = { invalid_lines: 0, partial_lines: 0, oops_groups: 0, boots: 0 };

  constructor(o: SerialCodecOptions, maxLineBytes: number, sink: SerialSink) {
    this.opts = {
      latin1: o.encoding === 'latin1', parse: o.parse ?? true, groupOops: o.groupOops ?? true, detectBoot: o.detectBoot ?? true,
      oopsMaxLines: Math.max(1, o.oopsMaxLines ?? 1000), lineNotes: o.lineNotes ?? false,
    };
    this.sink = sink;
    const sep = o.separator === undefined || o.separator === 'auto' ? 'auto' : Buffer.from(o.separator);
    this.framer = new LineFramer({ separator: sep, maxLineBytes, utf8: !this.opts.latin1 }, (line) => this.onLine(line));
    // Drafts carry no source: the codec's own applies (its entry rules' default).
    this.grouper = new OopsGrouper<SerialLine>(
      { group: this.opts.groupOops, detectBoot: this.opts.detectBoot, maxLines: this.opts.oopsMaxLines },
      {
        line: (l) => {
          if (this.opts.lineNotes) this.sink.note('L' + l.text);
          this.sink.entry(lineDraft(l));
        },
        group: (g) => {
          this.figures.oops_groups++;
          this.sink.note('U');
          this.sink.entry(oopsDraft(g));
        },
        boot: (b) => {
          this.figures.boots++;
          this.sink.entry(bootDraft(b, this.figures.boots));
        },
      },
    );
  }

  feed(chunk: Buffer, wallMs: number, monoMs: number): void {
    this.framer.push(chunk, wallMs, monoMs);
  }

  flush(what: SerialFlush): void {
    if (what !== 'group') this.framer.flush(what === 'close' ? 'close' : 'idle');
    if (what !== 'line') this.grouper.close(what === 'close' ? 'close' : 'idle');
  }

  counters(): SerialCounters {
    return { ...this.figures, pending_bytes: this.framer.pendingBytes, open_group_lines: this.grouper.openLines };
  }

  private onLine(line: FramedLine): void {
    const bytes = line.bytes;
    let text: string;
    let invalid = false;
    if (this.opts.latin1) text = bytes.toString('latin1');
    else {
      text = decodeUtf8(bytes);
      // Only a line with a U+FFFD can have had invalid bytes (the check of the bytes is the rare case).
      invalid = text.includes('\ufffd') && !isUtf8(bytes);
    }
    this.sink.count.lines++;
    if (invalid) this.figures.invalid_lines++;
    if (line.end === 'max_bytes') this.sink.count.cut++;
    else if (line.end !== 'separator') this.figures.partial_lines++;
    const plain = stripAnsi(text);
    // Parsed even with `parse` off: oops and boot markers are matched after the kernel prefix.
    const p = parseConsole(plain);
    // Lines from one read share an arrival time; 1 µs steps keep their order recoverable from
    // mono_ms even after the priority lane let an oops overtake them.
    let mono = Math.round(line.monoMs * 1000) / 1000;
    if (mono <= this.lastMono) mono = Math.round((this.lastMono + 0.001) * 1000) / 1000;
    this.lastMono = mono;
    const parsed: ParsedLine | undefined = this.opts.parse
      ? { message: plain.slice(p.msg), level: p.level, module: p.module, kernelTime: p.kernelTime, deviceTime: p.deviceTime, format: p.format }
      : undefined;
    this.grouper.feed({
      text: plain,
      body: p.format === 'kernel' ? plain.slice(p.msg) : plain,
      wallMs: line.wallMs,
      monoMs: mono,
      kernelTime: p.kernelTime,
      parsed,
      end: line.end,
      invalid,
    });
  }
}

/**
 * A codec stream for an input whose context has no openStream (a line stage or labels need drafts:
 * attach-stage.ts): the same codec the fast path runs (C when the addon is already loaded, else
 * its JS twin: buffer.native off runs no native code) makes the records, and each entry record
 * becomes a draft again for emit (recordToEntry), so that the input keeps one parser whichever way
 * its entries go. The drafts carry the entry's parts already cleaned (escaping and cutting are
 * idempotent), so the pipeline makes the same entries of them.
 *
 * The codec's notes (codec.h) are acted on as FastIngest does: 'R' is the input's reject
 * (ctx.reject); 'S' gives the next record's checkpoint (notes, format kmsg); 'U' sends the next
 * record through ctx.emitUrgent (format serial: a grouped oops); 'L' (format serial, lineNotes)
 * gives the next draft its line as read, which a configured parser reads instead of the message.
 */
import type { EntryDraft } from '../../entry/build.ts';
import type { Checkpoint } from '../../entry/checkpoint.ts';
import { loadedAddon } from '../../lib/native-runtime.ts';
import type { NoteAcks, RawStream } from '../buffer/fast-ingest.ts';
import { JsLineCodec, recordToEntry, type CodecCounters, type CodecOptions, type FormatCounters, type LineCodec, type SerialFlush } from '../buffer/line-codec.ts';
import { NativeLineCodec } from '../buffer/native-codec.ts';
import type { InputContext } from './input.ts';

const E = 0x45;
const L = 0x4c;
const R = 0x52;
const S = 0x53;
const U = 0x55;

export class DraftStream implements RawStream {
  private readonly codec: LineCodec;
  private readonly ctx: InputContext;
  private readonly notes: NoteAcks | undefined;

  constructor(ctx: InputContext, options: CodecOptions, notes?: NoteAcks) {
    const addon = loadedAddon();
    this.codec = addon ? new NativeLineCodec(options, addon) : new JsLineCodec(options);
    this.ctx = ctx;
    this.notes = notes;
  }

  feed(chunk: Buffer): boolean {
    return this.take(this.codec.feed(chunk, Date.now()));
  }

  /** Format serial: one read with its arrival times. */
  feedAt(chunk: Buffer, wallMs: number, monoMs: number): boolean {
    if (!this.codec.feedAt) throw new TypeError('feedAt: the stream\'s codec is not of format serial');
    return this.take(this.codec.feedAt(chunk, wallMs, monoMs));
  }

  /** Format serial: the partial line, the open oops group or both. */
  flush(what: SerialFlush): boolean {
    if (!this.codec.flush) throw new TypeError('flush: the stream\'s codec is not of format serial');
    return this.take(this.codec.flush(what));
  }

  feedDatagrams(data: Buffer, meta: Int32Array): boolean {
    return this.take(this.codec.feedDatagrams(data, meta, Date.now()));
  }

  end(): boolean {
    return this.take(this.codec.end(Date.now()));
  }

  drained(): Promise<void> {
    return this.ctx.drained();
  }

  settled(): Promise<void> {
    return Promise.resolve();
  }

  stats(): CodecCounters {
    return this.codec.counters();
  }

  formatCounters(): FormatCounters {
    return this.codec.formatCounters?.() ?? {};
  }

  /** Each entry record to emit (all of them: they were accepted), false when one asked to pause. */
  private take(frames: Buffer): boolean {
    let ok = true;
    let cp: Checkpoint | undefined;
    let urgent = false;
    let line: string | undefined;
    for (let off = 0; off + 4 <= frames.length; ) {
      const end = off + 4 + frames.readUInt32LE(off);
      const tag = frames[off + 4];
      if (tag === R) this.ctx.reject(frames.toString('utf8', off + 5, end));
      else if (tag === S) {
        finish(cp);
        cp = this.notes?.position(Number(frames.toString('latin1', off + 5, end)));
      } else if (tag === U) urgent = true;
      else if (tag === L) line = frames.toString('utf8', off + 5, end);
      else if (tag === E) {
        const draft = draftOf(frames.subarray(off + 4, end), line, cp);
        ok = (urgent && this.ctx.emitUrgent ? this.ctx.emitUrgent(draft) : this.ctx.emit(draft)) && ok;
        cp = undefined;
        urgent = false;
        line = undefined;
      }
      off = end;
    }
    finish(cp);
    return ok;
  }
}

function draftOf(rec: Buffer, line: string | undefined, checkpoint: Checkpoint | undefined): EntryDraft {
  const e = recordToEntry(rec);
  const draft: EntryDraft = { timestamp: e.timestamp, level: e.level, module: e.module, message: e.message, source: e.source, fields: e.fields };
  if (e.truncated) draft.truncated = true;
  // Only a multiline entry (an oops group) has real newlines: every other message has them escaped.
  if (e.message.includes('\n')) draft.multiline = true;
  if (line !== undefined) draft.line = line;
  if (checkpoint) draft.checkpoint = checkpoint;
  return draft;
}

/** A checkpoint no record will carry (a note with no entry after it, never expected): finished. */
function finish(cp: Checkpoint | undefined): void {
  cp?.hold();
  cp?.release();
}

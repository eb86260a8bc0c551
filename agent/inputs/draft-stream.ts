/**
 * A codec stream for an input whose context has no openStream (a line stage or labels need drafts:
 * attach-stage.ts): the same codec the fast path runs (C when the addon is already loaded, else
 * its JS twin: buffer.native off runs no native code) makes the records, and each entry record
 * becomes a draft again for emit (recordToEntry), so that the input keeps one parser whichever way
 * its entries go. 'R' notes are the input's rejects (ctx.reject); 'S' notes give the next record's
 * checkpoint (notes), as FastIngest does with them.
 */
import type { EntryDraft } from '../../entry/build.ts';
import type { Checkpoint } from '../../entry/checkpoint.ts';
import { loadedAddon } from '../../lib/native-runtime.ts';
import type { NoteAcks, RawStream } from '../buffer/fast-ingest.ts';
import { JsLineCodec, recordToEntry, type CodecCounters, type CodecOptions, type FormatCounters, type LineCodec } from '../buffer/line-codec.ts';
import { NativeLineCodec } from '../buffer/native-codec.ts';
import type { InputContext } from './input.ts';

const E = 0x45;
const R = 0x52;
const S = 0x53;

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
    for (let off = 0; off + 4 <= frames.length; ) {
      const end = off + 4 + frames.readUInt32LE(off);
      const tag = frames[off + 4];
      if (tag === R) this.ctx.reject(frames.toString('utf8', off + 5, end));
      else if (tag === S) {
        finish(cp);
        cp = this.notes?.position(Number(frames.toString('latin1', off + 5, end)));
      } else if (tag === E) {
        const e = recordToEntry(frames.subarray(off + 4, end));
        const draft: EntryDraft = { timestamp: e.timestamp, level: e.level, module: e.module, message: e.message, source: e.source, fields: e.fields, truncated: e.truncated, checkpoint: cp };
        cp = undefined;
        ok = this.ctx.emit(draft) && ok;
      }
      off = end;
    }
    finish(cp);
    return ok;
  }
}

/** A checkpoint no record will carry (a note with no entry after it, never expected): finished. */
function finish(cp: Checkpoint | undefined): void {
  cp?.hold();
  cp?.release();
}

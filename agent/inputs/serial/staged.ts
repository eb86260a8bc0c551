/**
 * The serial input's stream when the agent gives it none (ctx.openStream undefined: a line stage
 * or labels need drafts, agent/inputs/attach-stage.ts). The same codec (format serial, C when the
 * addon loads) frames, parses and groups; its records are turned back into drafts for ctx.emit:
 * a 'U' note sends the next one through ctx.emitUrgent, an 'L' note (lineNotes) gives the next
 * one its line as read, which a configured parser reads instead of the message. The drafts carry
 * the entry's parts already cleaned (escaping and cutting are idempotent), so the pipeline makes
 * the same entries of them as before the codec did this work.
 */
import type { EntryDraft } from '../../../entry/build.ts';
import { createCodec } from '../../buffer/select.ts';
import { recordToEntry, type CodecCounters, type CodecOptions, type LineCodec, type SerialFlush } from '../../buffer/line-codec.ts';
import type { InputContext } from '../input.ts';

/**
 * The codec's bound on messages here: the pipeline cuts them at the agent's max_message_bytes when
 * the drafts become records, so this one only has to be at least that (the agent's maximum).
 */
const STAGED_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class StagedSerialStream {
  private readonly codec: LineCodec;
  private readonly ctx: InputContext;

  constructor(options: Omit<CodecOptions, 'maxMessageBytes' | 'minLevel' | 'format'>, ctx: InputContext) {
    this.ctx = ctx;
    this.codec = createCodec({ ...options, maxMessageBytes: STAGED_MAX_MESSAGE_BYTES, minLevel: 'DEBUG', format: 'serial', serial: { ...options.serial, lineNotes: true } }, 'auto', (m) => ctx.log.info(m));
  }

  feedAt(chunk: Buffer, wallMs: number, monoMs: number): boolean {
    return this.emit(this.codec.feedAt!(chunk, wallMs, monoMs));
  }

  flush(what: SerialFlush): boolean {
    return this.emit(this.codec.flush!(what));
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

  formatCounters(): Record<string, number> {
    return this.codec.formatCounters!();
  }

  /** The records as drafts, in order; false when the input should pause. */
  private emit(frames: Buffer): boolean {
    let ok = true;
    let urgent = false;
    let line: string | undefined;
    for (let off = 0; off + 4 <= frames.length; ) {
      const end = off + 4 + frames.readUInt32LE(off);
      const tag = frames[off + 4];
      if (tag === 0x55 /* U */) urgent = true;
      else if (tag === 0x4c /* L */) line = frames.toString('utf8', off + 5, end);
      else if (tag === 0x45 /* E */) {
        const draft = draftOf(frames.subarray(off + 4, end), line);
        ok = (urgent && this.ctx.emitUrgent ? this.ctx.emitUrgent(draft) : this.ctx.emit(draft)) && ok;
        urgent = false;
        line = undefined;
      }
      off = end;
    }
    return ok;
  }
}

function draftOf(rec: Buffer, line: string | undefined): EntryDraft {
  const e = recordToEntry(rec);
  const draft: EntryDraft = { timestamp: e.timestamp, level: e.level, module: e.module, message: e.message, source: e.source, fields: e.fields };
  if (e.truncated) draft.truncated = true;
  // An oops group's lines are joined by real newlines (every other message has them escaped).
  if (e.message.includes('\n')) draft.multiline = true;
  if (line !== undefined) draft.line = line;
  return draft;
}

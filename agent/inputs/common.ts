import type { EntryDraft } from '../../entry/build.ts';
import { parseLine } from '../../entry/codec.ts';
import { extractLevelModule } from '../buffer/line-codec.ts';
import { decodeUtf8 } from '../../entry/sanitise.ts';
import { LEVELS } from '../../lib/level.ts';
import type { InputContext } from './input.ts';
import type { RawStream } from '../buffer/fast-ingest.ts';
import type { CodecCounters } from '../buffer/line-codec.ts';
import { s, type Fields, type Infer, type ObjectSchema } from '../../lib/schema/schema.ts';
import { labelsSchema } from '../processing/labels.ts';

/** Keys every input accepts, whatever its type. */
export const commonInputFields = {
  name: s.optional(s.string({ doc: '' }), { doc: 'Name shown in status and metrics (default: the type, numbered when repeated).' }),
  module: s.optional(s.string({ doc: '', pattern: /^[A-Za-z0-9_.-]{1,16}$/, patternDoc: 'a module tag of 1 to 16 characters [A-Za-z0-9_.-]' }), {
    doc: 'Module tag for entries that do not carry one (default: the input type in upper case).',
  }),
  default_level: s.enum(LEVELS, { default: 'INFO', doc: 'Level for lines that carry none.' }),
  when_full: s.enum(['drop_oldest', 'drop_newest', 'block'] as const, {
    default: 'block',
    doc: 'When the buffer is full: drop the oldest queued entry, drop this new one, or pause this input (replayable inputs only lose nothing with block).',
  }),
  labels: labelsSchema('Labels for this input\'s entries, over the global labels: name → value, or {file: PATH} (its contents), or {command: CMD} (its output, run once at start). See docs/labels.md.'),
};

export type CommonInputConfig = Infer<ObjectSchema<typeof commonInputFields>>;

/** An input's schema: its own fields plus the common ones. */
export function inputSchema<F extends Fields>(doc: string, fields: F) {
  return s.object({ ...commonInputFields, ...fields }, { doc });
}

/**
 * A line from a stream input (unix, tcp, stdin) as a draft: NDJSON objects keep their fields,
 * anything else is a plain-text message. A cut line is never parsed as JSON (it cannot be whole).
 */
export function draftFromLine(line: Buffer, cut: boolean, source: string, reject: (why: string) => void): EntryDraft | undefined {
  const text = decodeUtf8(line);
  if (text.length === 0) return undefined;
  if (cut) return { message: text, truncated: true, source, line: text };
  const parsed = parseLine(text);
  if (!parsed.ok) {
    // Keep the line rather than lose it: forward it as text and count the rejection.
    reject(parsed.error);
    return { message: text, source, line: text };
  }
  if (parsed.draft.message === text) {
    // Plain text: take a leading level/module (`[ERROR] [PUMP] …`, `WARNING: …`, `<12>tag: …`)
    // the same way the C codec does, so both buffer modes give the same entries.
    const x = extractLevelModule(text);
    if (x.level) return { message: text.slice(x.offset), level: x.level, module: x.module, source, line: text };
  }
  return { ...parsed.draft, source, line: text };
}

/** Something an input reads from that can pause: a socket, stdin. */
export interface Pausable {
  isPaused(): boolean;
  pause(): unknown;
  resume(): unknown;
}

/**
 * Backpressure: pauses the source until the pipeline has room again (ctx.drained). A source
 * already paused is left to the resume already waiting.
 */
export function pauseUntilDrained(ctx: Pick<InputContext | RawStream, 'drained'>, source: Pausable): void {
  if (source.isPaused()) return;
  source.pause();
  void ctx.drained().then(() => source.resume());
}

/**
 * Wraps an input's data handler (a socket's 'data'/'end', a stream's chunk) so that an exception
 * raised by one peer's bytes (a codec or parser bug, a value no code path expected) is counted as
 * a reject of this input and logged, instead of escaping into the event loop and stopping the
 * agent with every other input. The peer's connection goes on with its next chunk.
 */
export function guardData<A extends unknown[]>(ctx: Pick<InputContext, 'reject' | 'log'>, handle: (...a: A) => void): (...a: A) => void {
  return (...a: A) => {
    try {
      handle(...a);
    } catch (e) {
      const why = `data could not be processed (${(e as Error)?.message ?? String(e)}); the rest of this chunk was dropped`;
      ctx.reject(why);
      ctx.log.warn(why);
    }
  };
}

/**
 * The codec figures of an input's streams (ctx.openStream: one per connection, or per UDP peer),
 * open and closed: a stream's figures stay counted after it closes.
 */
export class StreamTally {
  private readonly open = new Set<RawStream>();
  private readonly closed: CodecCounters = { lines: 0, records: 0, filtered: 0, cut: 0, rejected: 0 };
  /** Closed streams whose last bytes may still be parsing off the main thread. */
  private readonly settling = new Set<Promise<void>>();

  add(stream: RawStream): RawStream {
    this.open.add(stream);
    return stream;
  }

  close(stream: RawStream): void {
    if (!this.open.delete(stream)) return;
    const settled = stream.settled().then(() => {
      this.settling.delete(settled);
      add(this.closed, stream.stats());
    });
    this.settling.add(settled);
  }

  /** Every stream's bytes are in the buffer: the input's stop() waits for it (no emit after stop). */
  async settled(): Promise<void> {
    await Promise.all([...[...this.open].map((s) => s.settled()), ...this.settling]);
  }

  totals(): CodecCounters {
    const t = { ...this.closed };
    for (const st of this.open) add(t, st.stats());
    return t;
  }
}

function add(to: CodecCounters, c: CodecCounters): void {
  to.lines += c.lines;
  to.records += c.records;
  to.filtered += c.filtered;
  to.cut += c.cut;
  to.rejected += c.rejected;
}

/**
 * The line stage: what happens to a line input's drafts between the input and the pipeline.
 *
 *   input ──► [cri parts joined] ──► multiline groups ──► parser (first line of a group) ──► pipeline
 *
 * Every line input goes through it the same way: the agent hands the input a context whose emit
 * is this stage's (agent/inputs/attach-stage.ts), so no input carries its own copy. A parser reads
 * `draft.line` (the line as read, before the input took a level or NDJSON fields from it); a line
 * that does not parse keeps the draft the input made, and is counted. Lines held in a multiline
 * group keep their file checkpoints unfinished until the joined entry is finished downstream, so
 * a restart never skips the start of a stack trace.
 */
import type { EntryDraft } from '../../entry/build.ts';
import { Checkpoint } from '../../entry/checkpoint.ts';
import { MultilineJoiner, type Held } from './multiline/joiner.ts';
import type { LineParser, ParsedLine } from './parsers/types.ts';
import type { MultilineConfig, ParserConfig } from './schema.ts';
import { createParser } from './parser.ts';

export interface LineStageConfig {
  parser?: ParserConfig;
  multiline?: MultilineConfig;
}

export interface LineStageStatus {
  parsed: number;
  unparsed: number;
  time_errors: number;
  multiline_entries: number;
  multiline_lines: number;
  multiline_held: number;
  multiline_cut: number;
  cri_parts: number;
}

/** A joined entry's checkpoint: finished when the entry is, and only then are its lines. */
function joinCheckpoints(cps: Checkpoint[]): Checkpoint | undefined {
  if (cps.length <= 1) return cps[0];
  for (const cp of cps) cp.hold();
  const last = cps[cps.length - 1]!;
  return new Checkpoint(last, () => {
    for (const cp of cps) cp.release();
  });
}

function streamKey(draft: EntryDraft): string {
  return `${draft.source ?? ''}\u0000${draft.checkpoint?.stream ?? ''}`;
}

export class LineStage {
  private readonly parser: LineParser | undefined;
  private readonly cri: boolean;
  private readonly joiner: MultilineJoiner<EntryDraft> | undefined;
  private readonly next: (draft: EntryDraft) => boolean;
  /** CRI: parts of a line split by the runtime, per stream, until its F part. */
  private readonly criParts = new Map<string, EntryDraft[]>();
  private readonly counts = { parsed: 0, unparsed: 0, time_errors: 0, cri_parts: 0 };

  constructor(cfg: LineStageConfig, next: (draft: EntryDraft) => boolean) {
    this.next = next;
    this.parser = cfg.parser ? createParser(cfg.parser) : undefined;
    this.cri = cfg.parser?.format === 'cri';
    const m = cfg.multiline;
    if (m) {
      this.joiner = new MultilineJoiner<EntryDraft>(
        {
          mode: m.mode,
          start: m.start === undefined ? undefined : new RegExp(m.start),
          continuation: m.continuation === undefined ? undefined : new RegExp(m.continuation),
          flushMs: m.flush_timeout, maxLines: m.max_lines, maxBytes: m.max_bytes,
        },
        (group) => this.next(this.joined(group)),
      );
    }
  }

  /** The input's emit: returns false when the input should pause (as the pipeline's emit). */
  emit(draft: EntryDraft): boolean {
    if (this.cri) {
      const whole = this.criLine(draft);
      if (!whole) return true;
      return this.joiner ? this.joiner.push(streamKey(whole), whole, String(whole.message ?? '')) : this.next(whole);
    }
    if (this.joiner) return this.joiner.push(streamKey(draft), draft, draft.line ?? String(draft.message ?? ''));
    return this.next(this.parse(draft));
  }

  /** Sends every entry still collecting lines (the input stopped). */
  end(): void {
    this.joiner?.flushAll();
    for (const [key, parts] of [...this.criParts]) {
      this.criParts.delete(key);
      this.next(this.joinParts(parts));
    }
  }

  status(): LineStageStatus {
    return {
      ...this.counts,
      multiline_entries: this.joiner?.groups ?? 0,
      multiline_lines: this.joiner?.joinedLines ?? 0,
      multiline_held: this.joiner?.held ?? 0,
      multiline_cut: this.joiner?.limitFlushes ?? 0,
    };
  }

  /** Runs the parser on a draft's line; undefined (counted) when the line is not in the format. */
  private tryParse(draft: EntryDraft): { parsed: ParsedLine; text: string } | undefined {
    const text = draft.line ?? (typeof draft.message === 'string' ? draft.message : undefined);
    let parsed: ParsedLine | undefined;
    // A cut line cannot be whole: it is kept as the input made it.
    if (text !== undefined && !draft.truncated) {
      try {
        parsed = this.parser!.parse(text);
      } catch {
        // A parser must not stop the input; a line it chokes on is kept as text.
        parsed = undefined;
      }
    }
    if (!parsed || text === undefined) {
      this.counts.unparsed++;
      return undefined;
    }
    this.counts.parsed++;
    return { parsed, text };
  }

  /** Applies the parser to a draft; an unparsed line keeps the input's draft. */
  private parse(draft: EntryDraft): EntryDraft {
    if (!this.parser) return draft;
    const r = this.tryParse(draft);
    return r ? this.merge(draft, r.parsed, r.text) : draft;
  }

  private merge(draft: EntryDraft, p: ParsedLine, text: string): EntryDraft {
    if (p.timeError) this.counts.time_errors++;
    const out: EntryDraft = { ...draft, message: p.message ?? text, line: undefined };
    if (p.timestamp !== undefined) out.timestamp = p.timestamp;
    if (p.level) out.level = p.level;
    else if (draft.line !== undefined) out.level = undefined; // the input's guess came from the raw text, which the parser now owns
    if (p.module) out.module = p.module;
    else if (draft.line !== undefined) out.module = undefined;
    if (p.fields) out.fields = { ...(draft.fields as Record<string, unknown> | undefined), ...p.fields };
    return out;
  }

  /** CRI: parses one runtime line; returns the whole line once its F part came. */
  private criLine(draft: EntryDraft): EntryDraft | undefined {
    const r = this.tryParse(draft);
    if (!r) return draft; // not CRI: kept as text (counted)
    const line = this.merge(draft, r.parsed, r.text);
    const key = streamKey(draft);
    let parts = this.criParts.get(key);
    if (r.parsed.partial) {
      this.counts.cri_parts++;
      if (!parts) this.criParts.set(key, (parts = []));
      parts.push(line);
      // A runtime never splits a line into this many parts; a stream that does is cut here.
      if (parts.length < 1024) return undefined;
      this.criParts.delete(key);
      return this.joinParts(parts);
    }
    if (!parts) return line;
    this.criParts.delete(key);
    parts.push(line);
    return this.joinParts(parts);
  }

  private joinParts(parts: EntryDraft[]): EntryDraft {
    const first = parts[0]!;
    return {
      ...first,
      message: parts.map((p) => String(p.message ?? '')).join(''),
      checkpoint: joinCheckpoints(parts.flatMap((p) => (p.checkpoint ? [p.checkpoint] : []))),
    };
  }

  /** One entry from a multiline group: the first line parsed, the others appended with real newlines. */
  private joined(group: Held<EntryDraft>[]): EntryDraft {
    const first = this.cri ? group[0]!.item : this.parse(group[0]!.item);
    if (group.length === 1) return first;
    const rest = group.slice(1);
    return {
      ...first,
      message: [String(first.message ?? ''), ...rest.map((h) => h.text)].join('\n'),
      multiline: true,
      truncated: group.some((h) => h.item.truncated) || undefined,
      checkpoint: joinCheckpoints(group.flatMap((h) => (h.item.checkpoint ? [h.item.checkpoint] : []))),
    };
  }
}

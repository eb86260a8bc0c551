import type { EntryDraft } from '../../entry/build.ts';
import type { AgentLog } from '../../lib/log.ts';
import type { RawStream, StreamReplay } from '../buffer/fast-ingest.ts';
import type { FormatOptions, StreamFormat } from '../buffer/line-codec.ts';

/**
 * What every input gets from the agent. An input turns bytes into drafts and hands them to
 * `emit`; the pipeline makes each the entry's record through the input's codec (sanitised,
 * timestamped, framed: agent/buffer/draft-codec.ts) and applies the input's `when_full` policy. `emit` returns false when the input should pause (policy `block` and the
 * buffer is full); `drained()` resolves when it may resume, like a stream's 'drain'.
 */
export interface InputContext {
  readonly name: string;
  readonly log: AgentLog;
  /** Directory where the input may persist state (file offsets…). */
  readonly stateDir: string;
  emit(draft: EntryDraft): boolean;
  /** Like emit, through the priority lane: for the rare entry that must overtake routine ones (a kernel oops). */
  emitUrgent?(draft: EntryDraft): boolean;
  drained(): Promise<void>;
  /** Count a rejected line (bad JSON, over the size bound…) in this input's stats. */
  reject(reason: string): void;
  /**
   * The fast path for a byte stream (one per connection), when the agent's buffer is the ring:
   * lines are split, sanitised and framed by the codec (C when the addon is loaded) straight
   * into the ring. feed/end return false to pause, like emit. A replayable input passes replay:
   * acks is told of every line with its end offset and gives the checkpoint its record carries;
   * or notes (format kmsg) is told of each record's position from the codec's 'S' note before it.
   * options: the format's own (CodecOptions.kmsg, CodecOptions.serial: separator, encoding,
   * parsing, oops grouping).
   * Undefined: use emit (a line stage or labels need drafts).
   */
  openStream?(source: string, maxLineBytes: number, format?: StreamFormat, replay?: StreamReplay, options?: FormatOptions): RawStream;
}

/** Figures an input reports in `logloom status` beyond the pipeline's own per-input counters. */
export type InputStatus = Record<string, string | number | boolean | Record<string, unknown>[]>;

export interface Input {
  start(): Promise<void>;
  /** Stop accepting; resolve when no more emits will happen. */
  stop(): Promise<void>;
  status?(): InputStatus;
}

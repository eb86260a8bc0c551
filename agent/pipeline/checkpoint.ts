/**
 * Input checkpoints: how a replayable input (the file input) learns which of its lines are safe,
 * so that the position it commits never runs ahead of data that could still be lost.
 *
 * An input attaches a Checkpoint to each draft it emits (`draft.checkpoint`: the position just
 * after that line). The entry then carries a hold count: the pipeline holds it while buffered,
 * each sink runner holds it while the entry is queued or in flight, and a sink that keeps
 * entries beyond its flush (the aggregator forwarder: until ACK or spool write) adds its own hold
 * with holdEntries and releases it when the entries are durable. When the count reaches zero the
 * checkpoint is done, and the input may commit its position up to it. Entries that are filtered
 * out or dropped by a policy release at once (a drop is counted where it happens).
 *
 * Entries are frozen, so the checkpoint lives in a side table keyed by the entry object.
 */
import type { LogEntry } from '../entry/entry.ts';

export interface CheckpointPosition {
  /** Input name (as in `logloom status`). */
  readonly input: string;
  /** Identity of the stream within the input, e.g. `<dev>:<inode>` for a file. */
  readonly stream: string;
  /** Byte offset just after the line. */
  readonly offset: number;
}

/** A position plus its hold count; `onDone` is called once when the last hold is released. */
export class Checkpoint implements CheckpointPosition {
  readonly input: string;
  readonly stream: string;
  readonly offset: number;
  private holds = 0;
  private readonly onDone: (cp: Checkpoint) => void;
  done = false;

  constructor(pos: CheckpointPosition, onDone: (cp: Checkpoint) => void) {
    this.input = pos.input;
    this.stream = pos.stream;
    this.offset = pos.offset;
    this.onDone = onDone;
  }

  hold(): void {
    this.holds++;
  }

  release(): void {
    if (this.done) return;
    if (--this.holds <= 0) {
      this.done = true;
      this.onDone(this);
    }
  }
}

const table = new WeakMap<LogEntry, Checkpoint>();

/** Called by the pipeline when an entry is built from a draft with a checkpoint: the pipeline's own hold. */
export function trackEntry(entry: LogEntry, cp: Checkpoint): void {
  table.set(entry, cp);
  cp.hold();
}

/** A filter replaced an entry by a copy (e.g. redacted): the copy carries the original's checkpoint and holds on. */
export function moveCheckpoint(from: LogEntry, to: LogEntry): void {
  const cp = table.get(from);
  if (cp && from !== to) table.set(to, cp);
}

export function checkpointOf(entry: LogEntry): Checkpoint | undefined {
  return table.get(entry);
}

export function holdEntry(entry: LogEntry): void {
  table.get(entry)?.hold();
}

export function releaseEntry(entry: LogEntry): void {
  table.get(entry)?.release();
}

export function holdEntries(entries: readonly LogEntry[]): void {
  for (const e of entries) table.get(e)?.hold();
}

export function releaseEntries(entries: readonly LogEntry[]): void {
  for (const e of entries) table.get(e)?.release();
}

/**
 * Positions recovered at start-up from durable places other than the input's own state (the
 * forwarder's spool records which positions its batches cover). Sinks start before inputs, so
 * the spool registers here first; an input resumes from the greater of its own committed position
 * and the recovered one.
 */
const recovered = new Map<string, number>();

export function recordRecoveredPosition(pos: CheckpointPosition): void {
  const key = `${pos.input}\u0000${pos.stream}`;
  if ((recovered.get(key) ?? -1) < pos.offset) recovered.set(key, pos.offset);
}

export function recoveredPosition(input: string, stream: string): number | undefined {
  return recovered.get(`${input}\u0000${stream}`);
}

/** For tests running several agents in one process. */
export function clearRecoveredPositions(): void {
  recovered.clear();
}

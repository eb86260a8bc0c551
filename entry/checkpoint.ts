/**
 * Input checkpoints: how a replayable input (file, kmsg, journald, pstore) learns which of its
 * entries are safe, so that the position it commits never runs ahead of data that could still be
 * lost. Like Vector's finalizers, the acknowledgement travels with the data.
 *
 * An input makes a Checkpoint for each line or record it hands over (the position just after it)
 * and gets it back done once every holder let go. The hold is a token in the entry's record
 * (agent/buffer/records.ts, the 'K' header), issued when the record enters the pipeline
 * (issueToken: the pipeline's hold). Each sink that takes a batch holds the tokens in it
 * (holdRecordTokens in agent/buffer/records.ts) until its flush succeeded; a sink that keeps entries beyond its flush (the
 * aggregator forwarder: until ACK or spool write, Kafka: until acknowledged) adds its own hold and
 * releases it when they are durable. The pipeline lets go of its own hold once every sink had the
 * batch. A record that is filtered out, dropped by a policy or evicted from the ring is finished
 * where that happens (a drop is counted there too). When the count reaches zero the checkpoint is
 * done, and the input may commit its position up to it.
 *
 * A stage that needs entry objects gets them decoded from the records; each object answers for
 * its record's checkpoint (checkpointOf, a side table keyed by the frozen object), and holds on
 * the object and on the token count together.
 */
import type { LogEntry } from './entry.ts';

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
  /** Tokens issued for it (usually one): forgotten when it is done. */
  tokens?: number[];

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
      if (this.tokens) for (const t of this.tokens) byToken.delete(t);
      this.onDone(this);
    }
  }
}

const table = new WeakMap<LogEntry, Checkpoint>();

/** Checkpoints by the token their record carries; 0 means "no token". */
const byToken = new Map<number, Checkpoint>();
let nextToken = 1;

/** Issues the token for a record about to enter the buffer, with the pipeline's hold on cp. */
export function issueToken(cp: Checkpoint): number {
  cp.hold();
  const t = nextToken;
  // u32 in the frame; 0 is never issued. A wrap would need 4 billion records in flight at once.
  nextToken = nextToken >= 0xffffffff ? 1 : nextToken + 1;
  byToken.set(t, cp);
  (cp.tokens ??= []).push(t);
  return t;
}

export function tokenCheckpoint(token: number): Checkpoint | undefined {
  return byToken.get(token);
}

export function holdToken(token: number): void {
  byToken.get(token)?.hold();
}

export function releaseToken(token: number): void {
  byToken.get(token)?.release();
}

/**
 * A record became an entry object (for a stage that needs objects): the object answers for the
 * same checkpoint, so holds taken on the record and on the object count together.
 */
export function tokenToEntry(token: number, entry: LogEntry): void {
  const cp = byToken.get(token);
  if (cp) table.set(entry, cp);
}

/** Tokens issued and not yet finished (status, tests). */
export function openTokens(): number {
  return byToken.size;
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

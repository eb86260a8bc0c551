/**
 * The fast path for byte-stream inputs (ARCHITECTURE §9): bytes → codec (split, sanitise,
 * level/module, frame; native when the addon is loaded) → pushed into the ring in one call per
 * chunk. Plain-text and syslog lines never become JS objects before the pipeline drains them;
 * NDJSON lines are parsed once through the entry door (parseLine + buildEntry) and queued behind
 * the records before them, so order holds. One stream per connection (a codec keeps the partial
 * line); counters are the input's.
 */
import type { BuildOptions } from '../entry/build.ts';
import type { LogEntry } from '../entry/entry.ts';
import type { WhenFull } from './entry-queue.ts';
import type { RingEntryQueue } from './entry-buffer.ts';
import { recordToEntry, type LineCodec } from './line-codec.ts';

export interface StreamCounters {
  received: number;
  rejected: number;
  dropped: number;
  paused: number;
  last_reject: string;
}

/** What an input gets from InputContext.openStream: feed bytes, false = pause (block, full). */
export interface RawStream {
  feed(chunk: Buffer): boolean;
  end(): boolean;
}

export class FastIngest implements RawStream {
  private readonly codec: LineCodec;
  private readonly queue: RingEntryQueue;
  private readonly policy: WhenFull;
  private readonly counters: StreamCounters;
  private readonly build: BuildOptions;
  private readonly offer: (entry: LogEntry) => boolean;
  private readonly scheduled: () => void;

  constructor(o: {
    codec: LineCodec; queue: RingEntryQueue; policy: WhenFull; counters: StreamCounters; build: BuildOptions;
    /** The pipeline's offer for entries built here (J records, the slow path); it counts them as received. */
    offer: (entry: LogEntry) => boolean;
    /** Tells the pipeline records arrived. */
    schedule: () => void;
  }) {
    this.codec = o.codec;
    this.queue = o.queue;
    this.policy = o.policy;
    this.counters = o.counters;
    this.build = o.build;
    this.offer = o.offer;
    this.scheduled = o.schedule;
  }

  feed(chunk: Buffer): boolean {
    return this.take(this.codec.feed(chunk, Date.now()));
  }

  end(): boolean {
    return this.take(this.codec.end(Date.now()));
  }

  private reject = (why: string): void => {
    this.counters.rejected++;
    this.counters.last_reject = why;
  };

  private take(frames: Buffer): boolean {
    let ok = true;
    let runStart = -1;
    let runCount = 0;
    let off = 0;
    const flushRun = (end: number) => {
      if (runStart >= 0) ok = this.pushRun(frames.subarray(runStart, end), runCount) && ok;
      runStart = -1;
      runCount = 0;
    };
    while (off + 4 <= frames.length) {
      const n = frames.readUInt32LE(off);
      if (frames[off + 4] === 0x45 /* E */) {
        if (runStart < 0) runStart = off;
        runCount++;
      } else {
        flushRun(off);
        ok = this.offer(recordToEntry(frames.subarray(off + 4, off + 4 + n), this.build, this.reject)) && ok;
      }
      off += 4 + n;
    }
    flushRun(off);
    if (frames.length) this.scheduled();
    return ok;
  }

  /** Pushes a run of complete-entry records with one call; the policy's drops are this input's. */
  private pushRun(run: Buffer, count: number): boolean {
    this.counters.received += count;
    const q = this.queue;
    if (q.length + count > q.maxEntries || q.hasSpill()) return this.slowly(run);
    const before = q.ring.counters();
    const used = q.ring.pushFrames(run, this.policy);
    const after = q.ring.counters();
    this.counters.dropped += after.dropped - before.dropped + (after.evicted - before.evicted);
    if (used === run.length) return true;
    // block and full: these lines were accepted from the peer, so they wait beside the ring
    // (in order) and the input pauses.
    this.counters.paused++;
    q.forceFrames(run.subarray(used));
    return false;
  }

  /** Count bound reached or entries already waiting beside the ring: one entry at a time. */
  private slowly(run: Buffer): boolean {
    let ok = true;
    let off = 0;
    while (off + 4 <= run.length) {
      const n = run.readUInt32LE(off);
      this.counters.received--; // offer() below counts it again through the pipeline's port
      ok = this.offer(recordToEntry(run.subarray(off + 4, off + 4 + n), this.build)) && ok;
      off += 4 + n;
    }
    return ok;
  }
}

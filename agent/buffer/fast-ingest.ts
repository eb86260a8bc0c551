/**
 * The fast path for byte-stream inputs: bytes → codec (split, parse NDJSON, sanitise,
 * level/module, frame; native when the addon is loaded) → pushed into the ring in one call per
 * chunk. No line becomes a JS object before the pipeline drains it. One stream per connection
 * (a codec keeps the partial line); counters are the input's.
 */
import type { WhenFull } from './entry-queue.ts';
import type { RingEntryQueue } from './entry-buffer.ts';
import type { CodecCounters, LineCodec } from './line-codec.ts';
import { forEachFrame } from './ring.ts';

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
  /** The codec's figures for this stream (lines, cut lines, rejects…). */
  stats(): CodecCounters;
}

export class FastIngest implements RawStream {
  private readonly codec: LineCodec;
  private readonly queue: RingEntryQueue;
  private readonly policy: WhenFull;
  private readonly counters: StreamCounters;
  private readonly scheduled: () => void;

  constructor(o: {
    codec: LineCodec; queue: RingEntryQueue; policy: WhenFull; counters: StreamCounters;
    /** Tells the pipeline records arrived. */
    schedule: () => void;
  }) {
    this.codec = o.codec;
    this.queue = o.queue;
    this.policy = o.policy;
    this.counters = o.counters;
    this.scheduled = o.schedule;
  }

  feed(chunk: Buffer): boolean {
    return this.take(this.codec.feed(chunk, Date.now()));
  }

  end(): boolean {
    return this.take(this.codec.end(Date.now()));
  }

  stats(): CodecCounters {
    return this.codec.counters();
  }

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
        // 'R': the codec kept the next line as text because it was not valid JSON; count it.
        flushRun(off);
        this.counters.rejected++;
        this.counters.last_reject = frames.toString('utf8', off + 5, off + 4 + n);
      }
      off += 4 + n;
    }
    flushRun(off);
    if (frames.length) this.scheduled();
    return ok;
  }

  /**
   * Pushes a run of complete-entry records with one call. The part past the count bound
   * (buffer.max_entries), or all of it while entries wait beside the ring, goes to overflow.
   */
  private pushRun(run: Buffer, count: number): boolean {
    this.counters.received += count;
    const q = this.queue;
    if (q.hasSpill()) return this.overflow(run, count);
    const room = Math.max(0, q.maxEntries - q.length);
    if (room >= count) return this.toRing(run, count);
    const cut = frameOffset(run, room);
    const ok = room > 0 ? this.toRing(run.subarray(0, cut), room) : true;
    // toRing paused the input and kept what it could not push: the rest waits behind it.
    if (!ok) return (q.forceFrames(run.subarray(cut), count - room), false);
    return this.overflow(run.subarray(cut), count - room);
  }

  /** Into the ring; its byte bound applies the policy (drops counted as this input's). */
  private toRing(run: Buffer, count: number): boolean {
    const q = this.queue;
    const before = q.ring.counters();
    const used = q.ring.pushFrames(run, this.policy);
    const after = q.ring.counters();
    this.counters.dropped += after.dropped - before.dropped + (after.evicted - before.evicted);
    if (used === run.length) return true;
    // block and full: these lines were accepted from the peer, so they wait beside the ring
    // (in order, as bytes) and the input pauses.
    this.counters.paused++;
    const rest = run.subarray(used);
    q.forceFrames(rest, forEachFrame(rest, () => {}));
    return false;
  }

  /** Records the count bound or entries already waiting leave no room for: when_full decides. */
  private overflow(run: Buffer, count: number): boolean {
    const q = this.queue;
    switch (this.policy) {
      case 'drop_newest':
        this.counters.dropped += count;
        return true;
      case 'drop_oldest': {
        // A run longer than the whole bound loses its own oldest records too.
        const own = count - q.maxEntries;
        if (own > 0) {
          run = run.subarray(frameOffset(run, own));
          count -= own;
          this.counters.dropped += own;
        }
        this.counters.dropped += q.evictOldest(q.length + count - q.maxEntries);
        if (q.hasSpill()) q.forceFrames(run, count);
        else this.toRing(run, count);
        return true;
      }
      case 'block':
        // Accepted from the peer already: they wait beside the ring as bytes; the input pauses.
        this.counters.paused++;
        q.forceFrames(run, count);
        return false;
    }
  }
}

/** Byte offset of record n in a framed run. */
function frameOffset(frames: Buffer, n: number): number {
  let off = 0;
  for (let i = 0; i < n && off + 4 <= frames.length; i++) off += 4 + frames.readUInt32LE(off);
  return off;
}

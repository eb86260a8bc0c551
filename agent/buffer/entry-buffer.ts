/**
 * The pipeline's buffer between inputs and filters, over the ring facade (ring.ts): entries are
 * stored as entry records (records.ts) in a fixed block of memory (`buffer.max_bytes`, a hard
 * bound instead of an estimate, no per-entry objects for the garbage collector while they wait),
 * in the native ring, or the JS one on the same layout where the addon cannot load. What travels
 * with an entry travels in its record: the acknowledgement token of an input checkpoint and the
 * input's id ('K' header). Tokens leave the buffer with their record; one whose record the ring
 * dropped or evicted is released here, so its input may move on.
 */
import type { LogEntry } from '../../entry/entry.ts';
import { freezeEntry } from '../../entry/entry.ts';
import { releaseToken, tokenToEntry } from '../../entry/checkpoint.ts';
import type { Ring, WhenFull } from './ring.ts';
import { forEachToken, releaseRecordTokens, KEYED, recordStart, recordToken, type EntryRecords } from './records.ts';
import { JsRing } from './js-ring.ts';
import { COUNTER_NAMES, COUNTERS_OFFSET } from './ring-layout.ts';
import { createRing, useNative, type NativeMode } from './select.ts';

const EVICTED = COUNTER_NAMES.indexOf('evicted');

/** Result of offering an entry: queued, queued after evicting the oldest, dropped, or refused (block). */
export type OfferResult = 'queued' | 'evicted' | 'dropped' | 'full';

/** Large enough that any entry (16 KiB message, args, fields) fits as one record. */
const MIN_RING_BYTES = 1024 * 1024;

export class RingEntryQueue {
  readonly ring: Ring;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /**
   * What could not go into the ring: entries forced under block while full or larger than a
   * record may be, and runs of codec records past the bounds (kept as bytes). While it holds
   * anything new entries queue behind it, so FIFO order holds.
   */
  private spill: EntryRecords[] = [];
  private spillCount = 0;
  private ownEvictions = 0;
  /**
   * Tokens of the records in the buffer, in queue order. A drained record's token leaves here;
   * tokens queued before it that were not drained were dropped or evicted by the ring, and are
   * released then (or when the buffer runs empty).
   */
  private tokens: number[] = [];
  private tokensAt = 0;

  private readonly counts: Float64Array;
  /**
   * Single records are pushed from JS on the same memory (the layout is shared): one N-API call per
   * entry costs more than the push itself. Batches (pushFrames) and drains go to the ring.
   */
  private readonly single: Ring;

  constructor(ring: Ring, maxEntries: number) {
    this.ring = ring;
    this.single = ring.impl === 'native' ? new JsRing(ring.shared) : ring;
    this.counts = new Float64Array(ring.shared, COUNTERS_OFFSET, COUNTER_NAMES.length);
    this.maxEntries = maxEntries;
    this.maxBytes = ring.capacity;
  }

  get length(): number {
    return this.ring.records() + this.spillCount;
  }

  get byteLength(): number {
    return this.ring.usedBytes();
  }

  get evicted(): number {
    // Read straight from the shared counters: the pipeline asks before every offer.
    return this.counts[EVICTED]! + this.ownEvictions;
  }

  isFull(extraBytes = 0): boolean {
    if (this.length >= this.maxEntries || this.spill.length > 0) return true;
    return this.length > 0 && this.ring.usedBytes() + extraBytes + 8 > this.ring.capacity;
  }

  /**
   * Offers one entry record (its payload: 'E' or 'K' header and NDJSON, records.ts), copied in:
   * the caller may reuse its memory. token: the one in its 'K' header (0: none); a token of a
   * record not taken ('dropped', 'full') stays the caller's.
   */
  offer(rec: Buffer, policy: WhenFull, token = 0): OfferResult {
    let evicted = false;
    if (this.length >= this.maxEntries || this.spill.length > 0) {
      if (policy === 'block') return 'full';
      if (policy === 'drop_newest') return 'dropped';
      evicted = this.evictOldest(this.length - this.maxEntries + 1) > 0;
      if (this.spill.length > 0) {
        this.toSpill(rec, token);
        return evicted ? 'evicted' : 'queued';
      }
    }
    if (token) this.tokens.push(token);
    const r = this.single.push(rec, policy);
    if (r === 'dropped' || r === 'full') this.untrack(token);
    if (r === 'oversize') {
      this.untrack(token);
      this.toSpill(rec, token);
      return evicted ? 'evicted' : 'queued';
    }
    return evicted && r === 'queued' ? 'evicted' : r;
  }

  /**
   * drop_oldest past the count bound: removes up to n of the oldest entries (counted as evicted;
   * a checkpointed one is finished, so its input may move on). Returns how many.
   */
  evictOldest(n: number): number {
    let done = 0;
    while (done < n) {
      // No sweep of the tokens left: the caller may be about to push records whose tokens it adopted.
      const r = this.takeRecords(n - done, false);
      if (!r) break;
      releaseRecordTokens(r);
      done += r.count;
    }
    this.ownEvictions += done;
    return done;
  }

  /** Appends a record ignoring the bounds (block: the entry was already accepted from its peer); copied in, as offer. */
  force(rec: Buffer, token = 0): void {
    if (this.spill.length > 0) return this.toSpill(rec, token);
    if (token) this.tokens.push(token);
    if (this.single.push(rec, 'block') !== 'queued') {
      this.untrack(token);
      this.toSpill(rec, token);
    }
  }

  /** One record as a run of its own, beside the ring (a copy). */
  private toSpill(rec: Buffer, token: number): void {
    const frames = Buffer.allocUnsafe(4 + rec.length);
    frames.writeUInt32LE(rec.length, 0);
    rec.copy(frames, 4);
    this.spillRun({ frames, count: 1 }, token ? [token] : undefined);
  }

  private spillRun(run: EntryRecords, tokens?: number[]): void {
    if (tokens) for (const t of tokens) this.tokens.push(t);
    else if (this.tokensMayBeIn(run)) forEachToken(run.frames, (t) => this.tokens.push(t));
    this.spill.push(run);
    this.spillCount += run.count;
  }

  private tokensMayBeIn(run: EntryRecords): boolean {
    return run.frames.length > 4 && run.frames.includes(KEYED);
  }

  /** The last offer's record did not go into the ring after all. */
  private untrack(token: number): void {
    if (token && this.tokens[this.tokens.length - 1] === token) this.tokens.pop();
  }

  /** Whether entries wait beside the ring (new ones must queue behind them). */
  hasSpill(): boolean {
    return this.spill.length > 0;
  }

  /**
   * The tokens of records about to be offered as a run (FastIngest, before pushFrames or
   * forceFrames): the buffer's from here on, released by it if the records are dropped.
   */
  adopt(frames: Buffer): void {
    forEachToken(frames, (t) => this.tokens.push(t));
  }

  /** Records the ring or the count bound refused under block: they wait beside it, as bytes (their tokens adopted already). */
  forceFrames(frames: Buffer, count: number): void {
    if (count > 0) this.spillRun({ frames, count }, []);
  }

  /** Records came out of the buffer: their tokens leave it, and earlier ones left without them. */
  private drained(frames: Buffer): void {
    if (this.tokensAt === this.tokens.length) return;
    forEachToken(frames, (t) => {
      const i = this.tokens.indexOf(t, this.tokensAt);
      if (i < 0) return;
      while (this.tokensAt < i) releaseToken(this.tokens[this.tokensAt++]!);
      this.tokensAt = i + 1;
    });
    this.compactTokens();
  }

  /** The buffer is empty: any token still listed belonged to a record dropped or evicted. */
  private emptied(): void {
    while (this.tokensAt < this.tokens.length) releaseToken(this.tokens[this.tokensAt++]!);
    this.compactTokens();
  }

  private compactTokens(): void {
    if (this.tokensAt === this.tokens.length) {
      this.tokens = [];
      this.tokensAt = 0;
    } else if (this.tokensAt > 1024 && this.tokensAt * 2 > this.tokens.length) {
      this.tokens = this.tokens.slice(this.tokensAt);
      this.tokensAt = 0;
    }
  }

  /** The oldest entry as an object, or undefined when empty (tests and tools; the pipeline takes records). */
  shift(): LogEntry | undefined {
    const r = this.takeRecords(1);
    if (!r) return undefined;
    const start = recordStart(r.frames, 0);
    const e = freezeEntry(JSON.parse(r.frames.toString('utf8', start)) as LogEntry);
    const token = recordToken(r.frames, 0);
    if (token) tokenToEntry(token, e);
    return e;
  }

  /**
   * Up to max records from the head of the buffer, as they are, or null when it is empty. sweep:
   * when the buffer runs empty, tokens still listed (their records were dropped or evicted in the
   * ring) are released.
   */
  takeRecords(max: number, sweep = true): EntryRecords | null {
    const frames = this.ring.drain(max);
    if (frames) {
      const count = this.ring.lastDrained;
      this.drained(frames);
      if (sweep && this.spill.length === 0 && this.ring.records() === 0) this.emptied();
      return { frames, count };
    }
    const next = this.spill.shift();
    if (next === undefined) {
      if (sweep && this.ring.records() === 0) this.emptied();
      return null;
    }
    this.spillCount -= next.count;
    this.drained(next.frames);
    return next;
  }

  status(): Record<string, unknown> {
    return { impl: this.ring.impl, capacity: this.ring.capacity, spill: this.spillCount, ...this.ring.counters() };
  }
}

/**
 * The pipeline buffer for buffer.native: `on` the native ring (a start-up error without the
 * addon), `auto` the native ring when the addon loads, else the JS ring; `off` (or `js`) the JS
 * ring. Same layout, same records either way. The ring holds buffer.max_bytes (at least 1 MiB, at
 * most 512 MiB), outside the V8 heap.
 */
export function createEntryBuffer(maxEntries: number, maxBytes: number, mode: NativeMode | 'js', log?: (msg: string) => void, runtimeDir?: string): RingEntryQueue {
  // Where a bundled addon is unpacked (agent runtime_dir; see lib/native-runtime.ts).
  const nativeDir = runtimeDir ? `${runtimeDir}/native` : undefined;
  const bytes = Math.min(Math.max(maxBytes, MIN_RING_BYTES), 1 << 29);
  if (mode === 'js' || mode === 'off') return new RingEntryQueue(createRing(bytes, 'off', log), maxEntries);
  return new RingEntryQueue(createRing(bytes, useNative(mode, log, nativeDir) ? 'on' : 'off', log, nativeDir), maxEntries);
}

/** The pipeline's buffer. */
export type EntryBuffer = RingEntryQueue;

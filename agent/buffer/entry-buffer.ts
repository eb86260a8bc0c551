/**
 * The pipeline's buffer between inputs and filters, over the ring facade (ring.ts): entries are
 * stored as framed NDJSON records in a fixed block of memory (`buffer.max_bytes`, a hard bound
 * instead of an estimate, no per-entry objects for the garbage collector while they wait), in the
 * native ring or the JS one (`buffer.native`). The surface is EntryQueue's, which the pipeline
 * was written against. Entries that carry an input checkpoint (the file input's replay position,
 * keyed by object identity) are kept as objects beside the ring and only their id travels through
 * it, so the identity survives; ids evicted by drop_oldest release their checkpoint.
 */
import type { LogEntry } from '../entry/entry.ts';
import { freezeEntry } from '../entry/entry.ts';
import { encodeEntry } from '../entry/codec.ts';
import { inputOf } from '../pipeline/routes/input-tag.ts';
import { checkpointOf, releaseEntry } from '../pipeline/checkpoint.ts';
import type { OfferResult, WhenFull } from './entry-queue.ts';
import { forEachFrame, type Ring } from './ring.ts';
import { isRecords, type EntryRecords } from './records.ts';
import { JsRing } from './js-ring.ts';
import { COUNTER_NAMES, COUNTERS_OFFSET } from './ring-layout.ts';

const EVICTED = COUNTER_NAMES.indexOf('evicted');
import { createRing, useNative, type NativeMode } from './select.ts';
import { EntryQueue } from './entry-queue.ts';
import { setRuntimeDir } from '../../lib/native-runtime.ts';

/** What the pipeline needs from its buffer (EntryQueue has the same shape). */
export interface EntryBuffer {
  readonly length: number;
  readonly byteLength: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Entries evicted by drop_oldest so far. */
  readonly evicted: number;
  isFull(extraBytes?: number): boolean;
  offer(entry: LogEntry, policy: WhenFull): OfferResult;
  /** Appends ignoring the bounds (block: the entry was already accepted from its peer). */
  force(entry: LogEntry): void;
  shift(): LogEntry | undefined;
}

/** Records are read this many at a time (one native call) and decoded as the pipeline asks. */
const READ_AHEAD = 256;
/** Large enough that any entry (16 KiB message, args, fields) fits as one record. */
const MIN_RING_BYTES = 1024 * 1024;

export class RingEntryQueue implements EntryBuffer {
  readonly ring: Ring;
  readonly maxEntries: number;
  readonly maxBytes: number;
  private ahead: LogEntry[] = [];
  private aheadAt = 0;
  /**
   * What could not go into the ring: entries forced under block while full or larger than a
   * record may be, and runs of codec records past the bounds (kept as bytes). While it holds
   * anything new entries queue behind it, so FIFO order holds.
   */
  private spill: (LogEntry | EntryRecords)[] = [];
  private spillCount = 0;
  private ownEvictions = 0;
  /** Checkpointed entries by id, in id (= queue) order; the ring holds 'T' + f64 id records. */
  private tracked = new Map<number, LogEntry>();
  private nextId = 1;

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
    return this.ring.records() + (this.ahead.length - this.aheadAt) + this.spillCount;
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

  offer(entry: LogEntry, policy: WhenFull): OfferResult {
    let evicted = false;
    if (this.length >= this.maxEntries || this.spill.length > 0) {
      if (policy === 'block') return 'full';
      if (policy === 'drop_newest') return 'dropped';
      evicted = this.evictOldest(this.length - this.maxEntries + 1) > 0;
      if (this.spill.length > 0) {
        this.toSpill(entry);
        return evicted ? 'evicted' : 'queued';
      }
    }
    const r = this.single.push(this.encode(entry), policy);
    if (r === 'dropped' || r === 'full') this.untrack();
    if (r === 'oversize') {
      this.untrack();
      this.toSpill(entry);
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
    for (let e: LogEntry | undefined; done < n && (e = this.shift()); done++) releaseEntry(e);
    this.ownEvictions += done;
    return done;
  }

  force(entry: LogEntry): void {
    if (this.spill.length > 0) return this.toSpill(entry);
    if (this.single.push(this.encode(entry), 'block') !== 'queued') {
      this.untrack();
      this.toSpill(entry);
    }
  }

  private toSpill(item: LogEntry | EntryRecords): void {
    this.spill.push(item);
    this.spillCount += isRecords(item) ? item.count : 1;
  }

  /** NDJSON, or for a checkpointed entry 'T' + its id (the object waits in `tracked`). */
  private encode(entry: LogEntry): Buffer {
    // Checkpointed and input-tagged entries (routes by input) keep their identity: side tables are keyed by the object.
    if (!checkpointOf(entry) && inputOf(entry) === undefined) return Buffer.from(encodeEntry(entry), 'utf8');
    const id = this.nextId++;
    this.tracked.set(id, entry);
    const rec = Buffer.allocUnsafe(9);
    rec[0] = 0x54;
    rec.writeDoubleLE(id, 1);
    return rec;
  }

  /** The last encode's entry did not go into the ring after all. */
  private untrack(): void {
    if (this.tracked.delete(this.nextId - 1)) this.nextId--;
  }

  /** Whether entries wait beside the ring (new ones must queue behind them). */
  hasSpill(): boolean {
    return this.spill.length > 0;
  }

  /** Codec records ('E' frames) the ring or the count bound refused under block: they wait beside it, as bytes. */
  forceFrames(frames: Buffer, count: number): void {
    if (count > 0) this.toSpill({ frames, count });
  }

  private decode(p: Buffer): LogEntry {
    // 'E' + NDJSON: a record from the fast codec (agent/buffer/fast-ingest.ts).
    if (p[0] === 0x45) return freezeEntry(JSON.parse(p.toString('utf8', 1)) as LogEntry);
    if (p[0] !== 0x54) return freezeEntry(JSON.parse(p.toString('utf8')) as LogEntry);
    const id = p.readDoubleLE(1);
    // Older ids still here were evicted inside the ring (drop_oldest): their holds end now.
    for (const [k, e] of this.tracked) {
      if (k >= id) break;
      this.tracked.delete(k);
      releaseEntry(e);
    }
    const e = this.tracked.get(id)!;
    this.tracked.delete(id);
    return e;
  }

  shift(): LogEntry | undefined {
    if (this.aheadAt < this.ahead.length) {
      const e = this.ahead[this.aheadAt]!;
      this.ahead[this.aheadAt++] = undefined as unknown as LogEntry;
      return e;
    }
    const frames = this.ring.drain(READ_AHEAD);
    if (frames) {
      this.ahead = [];
      this.aheadAt = 0;
      forEachFrame(frames, (p) => this.ahead.push(this.decode(p)));
      return this.shift();
    }
    const next = this.spill.shift();
    if (next === undefined || !isRecords(next)) {
      if (next) this.spillCount--;
      return next;
    }
    // A run of records waiting beside the ring: read it ahead as entries.
    this.spillCount -= next.count;
    this.ahead = [];
    this.aheadAt = 0;
    forEachFrame(next.frames, (p) => this.ahead.push(this.decode(p)));
    return this.shift();
  }

  /**
   * The records path: up to max records straight from the ring, or null when the queue's head is
   * not there (entries already read ahead as objects, entries waiting beside the ring, or a
   * checkpointed entry, which must stay an object). A checkpointed record ends the run: it and the
   * rest of this drain are read ahead as objects, so order holds.
   */
  takeRecords(max: number): EntryRecords | null {
    if (this.aheadAt < this.ahead.length) return null;
    const frames = this.ring.drain(max);
    if (!frames) {
      // The ring is empty: a run waiting beside it goes next, still as bytes (codec runs hold no 'T').
      const next = this.spill[0];
      if (next === undefined || !isRecords(next)) return null;
      this.spill.shift();
      this.spillCount -= next.count;
      return next;
    }
    let off = 0;
    let count = 0;
    while (off + 4 <= frames.length && frames[off + 4] !== 0x54 /* T */) {
      off += 4 + frames.readUInt32LE(off);
      count++;
    }
    if (off < frames.length) {
      this.ahead = [];
      this.aheadAt = 0;
      forEachFrame(frames.subarray(off), (p) => this.ahead.push(this.decode(p)));
    }
    return count ? { frames: frames.subarray(0, off), count } : null;
  }

  status(): Record<string, unknown> {
    return { impl: this.ring.impl, capacity: this.ring.capacity, spill: this.spillCount, ...this.ring.counters() };
  }
}

/**
 * The pipeline buffer for a mode: `off` keeps entries as objects (EntryQueue); `on` uses the
 * native ring (and the unix input's fast path), a start-up error without the addon; `auto` the
 * ring when the addon loads, else objects. For the setting `auto` the agent starts with objects
 * and asks for the ring only once it knows the records path can open (Agent.chooseBuffer): while
 * filters and sinks take JS objects the ring costs more than it saves (bench/ingest.ts), on the
 * records path it saves (bench/records-path.ts). `js` is the ring and codec in JavaScript (same
 * layout, same records): what carries the records path where the addon cannot load.
 * The ring holds buffer.max_bytes (at least 1 MiB, at most 512 MiB), outside the V8 heap.
 */
export function createEntryBuffer(maxEntries: number, maxBytes: number, mode: NativeMode | 'js', log?: (msg: string) => void, runtimeDir?: string): EntryBuffer {
  // Where a bundled addon is unpacked (agent runtime_dir; see lib/native-runtime.ts).
  if (runtimeDir) setRuntimeDir(`${runtimeDir}/native`);
  const bytes = Math.min(Math.max(maxBytes, MIN_RING_BYTES), 1 << 29);
  if (mode === 'js') return new RingEntryQueue(createRing(bytes, 'off', log), maxEntries);
  if (mode === 'off' || !useNative(mode, log)) return new EntryQueue(maxEntries, maxBytes);
  return new RingEntryQueue(createRing(bytes, 'on', log), maxEntries);
}

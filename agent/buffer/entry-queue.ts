import type { LogEntry } from '../entry/entry.ts';
import { releaseEntry } from '../pipeline/checkpoint.ts';

export type WhenFull = 'drop_oldest' | 'drop_newest' | 'block';

/** Result of offering an entry: queued, queued after evicting the oldest, dropped, or refused (block). */
export type OfferResult = 'queued' | 'evicted' | 'dropped' | 'full';

/** Rough memory weight of an entry, so the byte bound tracks what the message text costs. */
export function entryWeight(e: LogEntry): number {
  return 64 + e.message.length + e.module.length + (e.source?.length ?? 0);
}

/**
 * A bounded FIFO of entries (count and byte bounds) with a when_full policy chosen per offer.
 * Implemented as a growable ring of slots so that shift is O(1).
 */
export class EntryQueue {
  private slots: (LogEntry | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Entries evicted by drop_oldest (counted here; the caller attributes them). */
  evicted = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.slots = new Array(Math.min(maxEntries, 1024));
  }

  get length(): number {
    return this.count;
  }

  get byteLength(): number {
    return this.bytes;
  }

  isFull(extraBytes = 0): boolean {
    return this.count >= this.maxEntries || (this.count > 0 && this.bytes + extraBytes > this.maxBytes);
  }

  offer(entry: LogEntry, policy: WhenFull): OfferResult {
    const w = entryWeight(entry);
    let result: OfferResult = 'queued';
    if (this.isFull(w)) {
      if (policy === 'block') return 'full';
      if (policy === 'drop_newest') return 'dropped';
      while (this.count > 0 && this.isFull(w)) {
        // Evicted is finished: a checkpointed entry's input may commit past it.
        releaseEntry(this.shift()!);
        this.evicted++;
      }
      result = 'evicted';
    }
    this.push(entry, w);
    return result;
  }

  /** Appends ignoring the bounds (for callers that account for overflow themselves). */
  force(entry: LogEntry): void {
    this.push(entry, entryWeight(entry));
  }

  private push(entry: LogEntry, w: number): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) % this.slots.length] = entry;
    this.count++;
    this.bytes += w;
  }

  private grow(): void {
    // Past maxEntries only force/unshiftAll grow the ring (a failed batch going back to the head).
    const size = this.slots.length < this.maxEntries ? Math.min(this.maxEntries, this.slots.length * 2) : this.slots.length * 2;
    const next = new Array<LogEntry | undefined>(Math.max(size, 1));
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) % this.slots.length];
    this.slots = next;
    this.head = 0;
  }

  shift(): LogEntry | undefined {
    if (this.count === 0) return undefined;
    const e = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.bytes -= entryWeight(e);
    return e;
  }

  /** Removes and returns up to n entries from the head. */
  take(n: number): LogEntry[] {
    const out: LogEntry[] = [];
    while (out.length < n && this.count > 0) out.push(this.shift()!);
    return out;
  }

  /** Puts entries back at the head (a failed batch keeps its place), ignoring the bounds. */
  unshiftAll(entries: readonly LogEntry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      if (this.count === this.slots.length) this.grow();
      this.head = (this.head - 1 + this.slots.length) % this.slots.length;
      this.slots[this.head] = entries[i];
      this.count++;
      this.bytes += entryWeight(entries[i]!);
    }
  }
}

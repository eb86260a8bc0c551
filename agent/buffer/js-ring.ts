import { COUNTER_NAMES, COUNTERS_OFFSET, EVSEQ_WORD, HEAD_WORD, RING_HEADER, RING_WRAP, ringCapacity, TAIL_WORD } from './ring-layout.ts';
import type { PushResult, Ring, RingCounters, RingPolicy } from './ring.ts';

const C_PUSHED = 0, C_PUSHED_BYTES = 1, C_DROPPED = 2, C_EVICTED = 3, C_FULL = 4, C_OVERSIZE = 5, C_DRAINED = 6, C_DRAINED_BYTES = 7;

const pad4 = (n: number) => (n + 3) & ~3;
/** ring.c REWIND_AT: an empty ring whose head is past min(capacity / 4, this) starts a new lap. */
const REWIND_AT = 65536;

/**
 * The ring in JavaScript: the same algorithm as native/addon/src/ring.c on the same memory, with
 * Atomics for head and tail (the fallback when the addon does not load, and the reference the
 * conformance suite compares the addon with).
 */
export class JsRing implements Ring {
  readonly impl = 'js' as const;
  readonly capacity: number;
  readonly maxRecordBytes: number;
  readonly shared: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly data: Buffer;
  private readonly count: Float64Array;
  lastDrained = 0;

  constructor(shared: SharedArrayBuffer) {
    this.shared = shared;
    this.capacity = ringCapacity(shared);
    this.maxRecordBytes = this.capacity / 2 - 4;
    this.words = new Int32Array(shared, 0, RING_HEADER / 4);
    this.data = Buffer.from(shared, RING_HEADER, this.capacity);
    this.count = new Float64Array(shared, COUNTERS_OFFSET, COUNTER_NAMES.length);
  }

  private idx(pos: number): number {
    return pos >= this.capacity ? pos - this.capacity : pos;
  }

  private advance(pos: number, n: number): number {
    pos += n;
    return pos >= 2 * this.capacity ? pos - 2 * this.capacity : pos;
  }

  private used(head: number, tail: number): number {
    return head >= tail ? head - tail : head + 2 * this.capacity - tail;
  }

  usedBytes(): number {
    // Tail first (ring.c ring_used): the pair never shows tail ahead of head.
    const t = Atomics.load(this.words, TAIL_WORD);
    return this.used(Atomics.load(this.words, HEAD_WORD), t);
  }

  records(): number {
    const c = this.count;
    return c[C_PUSHED]! - c[C_DRAINED]! - c[C_EVICTED]!;
  }

  /** drop_oldest: the producer moves tail past the oldest record (CAS, racing the consumer). */
  private evictOne(head: number): boolean {
    for (;;) {
      const t = Atomics.load(this.words, TAIL_WORD);
      if (t === head) return false;
      const ti = this.idx(t);
      const len = this.data.readUInt32LE(ti);
      const isRecord = len !== RING_WRAP;
      const nt = isRecord ? this.advance(t, 4 + pad4(len)) : this.advance(t, this.capacity - ti);
      if (Atomics.compareExchange(this.words, TAIL_WORD, t, nt) === t) {
        // Before the freed bytes are rewritten: a consumer that copied them sees the change.
        Atomics.add(this.words, EVSEQ_WORD, 1);
        if (isRecord) {
          this.count[C_EVICTED]!++;
          return true;
        }
      }
    }
  }

  /**
   * An empty ring past REWIND_AT starts its next lap early, so the pages touched stay near the
   * largest backlog instead of the whole capacity (ring.c, rewind_if_empty, says why it is safe).
   */
  private rewindIfEmpty(head: number): number {
    const cap = this.capacity;
    const hi = this.idx(head);
    if (hi < Math.min(Math.floor(cap / 4), REWIND_AT)) return head;
    const t = Atomics.load(this.words, TAIL_WORD);
    if (t !== head) return head;
    this.data.writeUInt32LE(RING_WRAP, hi);
    const lap = this.advance(head, cap - hi);
    Atomics.store(this.words, HEAD_WORD, lap);
    Atomics.add(this.words, EVSEQ_WORD, 1);
    Atomics.compareExchange(this.words, TAIL_WORD, t, lap);
    return lap;
  }

  /** Writes one record at head (not yet published); returns [result, new head]. */
  private put(head: number, rec: Uint8Array, policy: RingPolicy): [PushResult, number] {
    const cap = this.capacity;
    const len = rec.length;
    const need = 4 + pad4(len);
    if (len > this.maxRecordBytes || need > cap / 2) {
      this.count[C_OVERSIZE]!++;
      return ['oversize', head];
    }
    head = this.rewindIfEmpty(head);
    let evicted = false;
    for (;;) {
      const hi = this.idx(head);
      const contiguous = cap - hi;
      const total = need <= contiguous ? need : contiguous + need;
      const free = cap - this.used(head, Atomics.load(this.words, TAIL_WORD));
      if (total <= free) break;
      if (policy === 'drop_newest') {
        this.count[C_DROPPED]!++;
        return ['dropped', head];
      }
      if (policy === 'block') {
        this.count[C_FULL]!++;
        return ['full', head];
      }
      Atomics.store(this.words, HEAD_WORD, head);
      // false: the consumer emptied the ring meanwhile, so the next check finds room.
      if (this.evictOne(head)) evicted = true;
    }
    let hi = this.idx(head);
    if (need > cap - hi) {
      this.data.writeUInt32LE(RING_WRAP, hi);
      head = this.advance(head, cap - hi);
      hi = 0;
    }
    this.data.writeUInt32LE(len, hi);
    this.data.set(rec, hi + 4);
    this.count[C_PUSHED]!++;
    this.count[C_PUSHED_BYTES]! += len;
    return [evicted ? 'evicted' : 'queued', this.advance(head, need)];
  }

  push(record: Uint8Array, policy: RingPolicy): PushResult {
    const [r, head] = this.put(Atomics.load(this.words, HEAD_WORD), record, policy);
    Atomics.store(this.words, HEAD_WORD, head);
    return r;
  }

  pushFrames(frames: Uint8Array, policy: RingPolicy): number {
    const buf = Buffer.isBuffer(frames) ? frames : Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength);
    let head = Atomics.load(this.words, HEAD_WORD);
    let off = 0;
    while (off + 4 <= buf.length) {
      const n = buf.readUInt32LE(off);
      if (n > buf.length - off - 4) break;
      const [r, h] = this.put(head, buf.subarray(off + 4, off + 4 + n), policy);
      head = h;
      if (r === 'full') break;
      off += 4 + n;
    }
    Atomics.store(this.words, HEAD_WORD, head);
    return off;
  }

  drain(maxRecords: number, maxBytes = Number.MAX_SAFE_INTEGER): Buffer | null {
    const cap = this.capacity;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const evseq = Atomics.load(this.words, EVSEQ_WORD);
      // Tail before head (ring.c ring_drain_plan).
      const tail = Atomics.load(this.words, TAIL_WORD);
      const h = Atomics.load(this.words, HEAD_WORD);
      // Plan: how many records, how many output bytes.
      let t = tail;
      let n = 0;
      let bytes = 0;
      let torn = false;
      while (t !== h && n < maxRecords) {
        const ti = this.idx(t);
        const len = this.data.readUInt32LE(ti);
        if (len === RING_WRAP) {
          t = this.advance(t, cap - ti);
          continue;
        }
        if (len > cap / 2 || ti + 4 + len > cap) {
          torn = true;
          break;
        }
        if (n > 0 && bytes + 4 + len > maxBytes) break;
        bytes += 4 + len;
        n++;
        t = this.advance(t, 4 + pad4(len));
      }
      if (torn) continue;
      // Copy, then commit with a CAS: a failure means drop_oldest evicted what we copied.
      const out = n > 0 ? Buffer.allocUnsafe(bytes) : null;
      t = tail;
      let o = 0;
      for (let i = 0; i < n; ) {
        const ti = this.idx(t);
        const len = this.data.readUInt32LE(ti);
        if (len === RING_WRAP) {
          t = this.advance(t, cap - ti);
          continue;
        }
        if (len > cap / 2 || ti + 4 + len > cap || o + 4 + len > bytes) {
          torn = true;
          break;
        }
        out!.writeUInt32LE(len, o);
        this.data.copy(out!, o + 4, ti + 4, ti + 4 + len);
        o += 4 + len;
        i++;
        t = this.advance(t, 4 + pad4(len));
      }
      if (torn) continue;
      // Seqlock check: an eviction since we started may have rewritten what we copied (positions
      // alone can come round to the same value).
      if (Atomics.load(this.words, EVSEQ_WORD) !== evseq) continue;
      const h2 = Atomics.load(this.words, HEAD_WORD);
      if (t !== h2 && this.data.readUInt32LE(this.idx(t)) === RING_WRAP) t = this.advance(t, cap - this.idx(t));
      this.lastDrained = n;
      if (t === tail) return out;
      if (Atomics.compareExchange(this.words, TAIL_WORD, tail, t) !== tail) continue;
      this.count[C_DRAINED]! += n;
      this.count[C_DRAINED_BYTES]! += bytes - 4 * n;
      return out;
    }
    throw new Error('ring drain: the producer kept evicting what was being read');
  }

  lost(): number {
    return this.count[C_DROPPED]! + this.count[C_EVICTED]!;
  }

  counters(): RingCounters {
    return readCounters(this.count);
  }
}

export function readCounters(count: Float64Array): RingCounters {
  const out = {} as RingCounters;
  COUNTER_NAMES.forEach((name, i) => (out[name] = count[i]!));
  return out;
}

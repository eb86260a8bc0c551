/**
 * The ring facade (docs/architecture.md): a fixed-capacity byte ring of framed records shared between
 * one producer and one consumer (possibly in different threads). Two implementations with the
 * same API and the same memory layout: native-ring.ts (the C addon) and js-ring.ts (Atomics).
 * test/buffer/ring-conformance.test.ts runs one suite against both.
 */
/** An input's policy when the buffer is full: pause the input (block), or drop, counted. */
export type WhenFull = 'drop_oldest' | 'drop_newest' | 'block';
export type RingPolicy = WhenFull;
/** queued; queued after evicting older records; dropped (drop_newest); full (block: retry later); oversize. */
export type PushResult = 'queued' | 'evicted' | 'dropped' | 'full' | 'oversize';
export const PUSH_RESULTS: readonly PushResult[] = ['queued', 'evicted', 'dropped', 'full', 'oversize'];
export const POLICY_CODE: Record<RingPolicy, number> = { drop_oldest: 0, drop_newest: 1, block: 2 };

export interface RingCounters {
  /** Records and payload bytes accepted. */
  pushed: number;
  pushed_bytes: number;
  /** Refused by drop_newest. */
  dropped: number;
  /** Evicted by drop_oldest. */
  evicted: number;
  /** Refused under block (the producer keeps the record and retries). */
  full: number;
  /** Larger than maxRecordBytes; refused whatever the policy. */
  oversize: number;
  drained: number;
  drained_bytes: number;
}

export interface Ring {
  readonly impl: 'native' | 'js';
  /** Data bytes (the header is extra). */
  readonly capacity: number;
  /** Largest payload a record may have: capacity/2 - 4, so any accepted record always fits. */
  readonly maxRecordBytes: number;
  /** The memory: hand it to a worker and attach there (attachRing) to produce or consume. */
  readonly shared: SharedArrayBuffer;
  push(record: Uint8Array, policy: RingPolicy): PushResult;
  /**
   * Pushes records framed as `u32 length (LE) | payload`, back to back (the codec's output), and
   * publishes them at once. Returns the bytes consumed: less than frames.length only when `block`
   * found the ring full; the caller keeps the rest and pushes it again after a drain.
   */
  pushFrames(frames: Uint8Array, policy: RingPolicy): number;
  /** Removes up to maxRecords (and about maxBytes) records: framed like pushFrames, or null when empty. */
  drain(maxRecords: number, maxBytes?: number): Buffer | null;
  /** How many records the last drain returned (so that its caller need not count the frames). */
  readonly lastDrained: number;
  /** Bytes in use (records, padding and wrap markers). */
  usedBytes(): number;
  /** Records queued now. */
  records(): number;
  /** Records lost to the policies so far (dropped + evicted): what counters() says, without building it (read per push). */
  lost(): number;
  counters(): RingCounters;
}

/** Calls fn for each record of a framed batch (u32 length | payload ...). Returns the count. */
export function forEachFrame(frames: Uint8Array, fn: (payload: Buffer, index: number) => void): number {
  const buf = Buffer.isBuffer(frames) ? frames : Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength);
  let off = 0;
  let i = 0;
  while (off + 4 <= buf.length) {
    const n = buf.readUInt32LE(off);
    if (off + 4 + n > buf.length) break;
    fn(buf.subarray(off + 4, off + 4 + n), i++);
    off += 4 + n;
  }
  return i;
}

/**
 * The number of whole records in a framed batch, read off their headers alone: forEachFrame with
 * nothing to do would make a Buffer per record, about 100 bytes of garbage for each entry that
 * the pipeline drains.
 */
export function countFrames(frames: Uint8Array): number {
  const view = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
  let off = 0;
  let i = 0;
  while (off + 4 <= frames.byteLength) {
    const next = off + 4 + view.getUint32(off, true);
    if (next > frames.byteLength) break;
    off = next;
    i++;
  }
  return i;
}

/** Frames records as `u32 length | payload` back to back. */
export function frameRecords(records: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const r of records) total += 4 + r.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const r of records) {
    out.writeUInt32LE(r.length, off);
    out.set(r, off + 4);
    off += 4 + r.length;
  }
  return out;
}

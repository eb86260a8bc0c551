import { loadAddon, type NativeAddon } from '../../lib/native-runtime.ts';
import { COUNTER_NAMES, COUNTERS_OFFSET, HEAD_WORD, RING_HEADER, ringCapacity, TAIL_WORD } from './ring-layout.ts';
import { readCounters } from './js-ring.ts';
import { POLICY_CODE, PUSH_RESULTS, type PushResult, type Ring, type RingCounters, type RingPolicy } from './ring.ts';

/** The ring in C (native/addon/src/ring.c), on the same shared memory layout as JsRing. */
export class NativeRing implements Ring {
  readonly impl = 'native' as const;
  readonly capacity: number;
  readonly maxRecordBytes: number;
  readonly shared: SharedArrayBuffer;
  /** The view the addon works on (the whole SharedArrayBuffer). */
  readonly view: Uint8Array;
  private readonly addon: NativeAddon;
  private readonly count: Float64Array;
  private readonly words: Int32Array;
  /** Where ringDrain writes its record count (over an ArrayBuffer: the addon reads it in place). */
  private readonly drainedCount = new Uint32Array(new ArrayBuffer(4));
  lastDrained = 0;

  constructor(shared: SharedArrayBuffer, addon: NativeAddon = loadAddon()) {
    this.addon = addon;
    this.shared = shared;
    this.capacity = ringCapacity(shared);
    this.maxRecordBytes = this.capacity / 2 - 4;
    this.view = new Uint8Array(shared);
    this.count = new Float64Array(shared, COUNTERS_OFFSET, COUNTER_NAMES.length);
    this.words = new Int32Array(shared, 0, RING_HEADER / 4);
  }

  push(record: Uint8Array, policy: RingPolicy): PushResult {
    return PUSH_RESULTS[this.addon.ringPush(this.view, record, POLICY_CODE[policy])]!;
  }

  pushFrames(frames: Uint8Array, policy: RingPolicy): number {
    return this.addon.ringPushFrames(this.view, frames, POLICY_CODE[policy]);
  }

  drain(maxRecords: number, maxBytes = Number.MAX_SAFE_INTEGER): Buffer | null {
    const frames = this.addon.ringDrain(this.view, maxRecords, maxBytes, this.drainedCount);
    this.lastDrained = frames ? this.drainedCount[0]! : 0;
    return frames;
  }

  usedBytes(): number {
    // Tail first (ring.c ring_used): the pair never shows tail ahead of head.
    const t = Atomics.load(this.words, TAIL_WORD);
    const h = Atomics.load(this.words, HEAD_WORD);
    return h >= t ? h - t : h + 2 * this.capacity - t;
  }

  records(): number {
    const c = this.count;
    return c[0]! - c[6]! - c[3]!;
  }

  lost(): number {
    return this.count[2]! + this.count[3]!; // dropped, evicted (COUNTER_NAMES)
  }

  counters(): RingCounters {
    return readCounters(this.count);
  }
}

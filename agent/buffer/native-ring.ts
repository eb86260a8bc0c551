import { loadAddon, type NativeAddon } from '../../lib/native-runtime.ts';
import { COUNTER_NAMES, COUNTERS_OFFSET, ringCapacity } from './ring-layout.ts';
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

  constructor(shared: SharedArrayBuffer, addon: NativeAddon = loadAddon()) {
    this.addon = addon;
    this.shared = shared;
    this.capacity = ringCapacity(shared);
    this.maxRecordBytes = this.capacity / 2 - 4;
    this.view = new Uint8Array(shared);
    this.count = new Float64Array(shared, COUNTERS_OFFSET, COUNTER_NAMES.length);
  }

  push(record: Uint8Array, policy: RingPolicy): PushResult {
    return PUSH_RESULTS[this.addon.ringPush(this.view, record, POLICY_CODE[policy])]!;
  }

  pushFrames(frames: Uint8Array, policy: RingPolicy): number {
    return this.addon.ringPushFrames(this.view, frames, POLICY_CODE[policy]);
  }

  drain(maxRecords: number, maxBytes = Number.MAX_SAFE_INTEGER): Buffer | null {
    return this.addon.ringDrain(this.view, maxRecords, maxBytes);
  }

  usedBytes(): number {
    const w = new Int32Array(this.shared, 0, 64);
    const h = Atomics.load(w, 16), t = Atomics.load(w, 32);
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

/**
 * The shared memory layout of the ring, identical for the C and JS implementations (see
 * native/addon/src/ring.h): a producer in one thread and a consumer in another may each use either.
 *   0 magic 'LLRG' | 4 capacity | 64 head (i32) | 128 tail (i32) | 136 eviction seq (i32) | 192 counters f64[8] | 256 data
 * head and tail sit on their own cache lines; positions run over [0, 2*capacity).
 */
export const RING_MAGIC = 0x47524c4c;
export const RING_HEADER = 256;
export const HEAD_WORD = 64 / 4;
export const TAIL_WORD = 128 / 4;
/** Bumped by each drop_oldest eviction; the consumer's seqlock check against rewritten records. */
export const EVSEQ_WORD = 136 / 4;
export const COUNTERS_OFFSET = 192;
export const RING_WRAP = 0xffffffff;
export const COUNTER_NAMES = ['pushed', 'pushed_bytes', 'dropped', 'evicted', 'full', 'oversize', 'drained', 'drained_bytes'] as const;
/** Smallest and largest capacity accepted (positions must fit an i32 twice over). */
export const RING_MIN_CAPACITY = 1024;
export const RING_MAX_CAPACITY = 1 << 29;

/** Allocates and initialises ring memory of `capacity` data bytes (rounded down to 4). */
export function createRingMemory(capacity: number): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY)
    throw new RangeError(`ring capacity must be an integer in ${RING_MIN_CAPACITY}..${RING_MAX_CAPACITY} bytes, got ${capacity}`);
  const cap = capacity & ~3;
  const sab = new SharedArrayBuffer(RING_HEADER + cap);
  const u32 = new Uint32Array(sab, 0, 2);
  u32[0] = RING_MAGIC;
  u32[1] = cap;
  return sab;
}

/** Checks a SharedArrayBuffer holds a ring and returns its capacity. */
export function ringCapacity(sab: SharedArrayBuffer): number {
  const u32 = new Uint32Array(sab, 0, 2);
  if (u32[0] !== RING_MAGIC || u32[1]! + RING_HEADER > sab.byteLength) throw new TypeError('not a Logloom ring (bad magic or size)');
  return u32[1]!;
}

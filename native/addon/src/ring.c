#include "ring.h"

#include <string.h>

#define CAP(b) (*(const uint32_t *)((b) + 4))
#define HEAD(b) ((int32_t *)((b) + RING_OFF_HEAD))
#define TAIL(b) ((int32_t *)((b) + RING_OFF_TAIL))
#define EVSEQ(b) ((int32_t *)((b) + RING_OFF_EVSEQ))
#define COUNTERS(b) ((double *)((b) + RING_OFF_COUNTERS))
#define DATA(b) ((b) + RING_HEADER)

static inline uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }
static inline uint32_t idx(uint32_t pos, uint32_t cap) { return pos >= cap ? pos - cap : pos; }
static inline uint32_t advance(uint32_t pos, uint32_t n, uint32_t cap) {
  pos += n;
  return pos >= 2 * cap ? pos - 2 * cap : pos;
}
static inline uint32_t used_between(uint32_t head, uint32_t tail, uint32_t cap) {
  return head >= tail ? head - tail : head + 2 * cap - tail;
}
static inline uint32_t load_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

uint32_t ring_used(const uint8_t *base) {
  uint32_t cap = CAP(base);
  /* Tail first: head only moves on, so the pair never shows tail ahead of head (rewind_if_empty). */
  uint32_t t = (uint32_t)__atomic_load_n(TAIL((uint8_t *)base), __ATOMIC_ACQUIRE);
  uint32_t h = (uint32_t)__atomic_load_n(HEAD((uint8_t *)base), __ATOMIC_ACQUIRE);
  return used_between(h, t, cap);
}

/* Producer-side eviction of the oldest record (drop_oldest). Returns 0 when something was
 * evicted, -1 when the ring is empty. */
static int evict_one(uint8_t *base, uint32_t head, uint32_t cap) {
  for (;;) {
    uint32_t t = (uint32_t)__atomic_load_n(TAIL(base), __ATOMIC_ACQUIRE);
    if (t == head) return -1;
    uint32_t ti = idx(t, cap);
    uint32_t len = load_u32(DATA(base) + ti);
    uint32_t nt;
    int is_record = 1;
    if (len == RING_WRAP) {
      nt = advance(t, cap - ti, cap); /* skip to the start of the next lap */
      is_record = 0;
    } else {
      nt = advance(t, 4 + pad4(len), cap);
    }
    int32_t expected = (int32_t)t;
    if (__atomic_compare_exchange_n(TAIL(base), &expected, (int32_t)nt, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      /* Before the freed bytes are rewritten: a consumer that copied them sees the change. */
      __atomic_fetch_add(EVSEQ(base), 1, __ATOMIC_SEQ_CST);
      if (is_record) COUNTERS(base)[C_EVICTED] += 1;
      if (is_record) return 0;
    }
    /* CAS failed: the consumer moved tail; look again. */
  }
}

/* Where an empty ring starts its next lap early (see rewind). Small enough that the pages in use
 * stay hot in the CPU's cache; the wrap it costs is two atomic stores. */
#define REWIND_AT(cap) ((cap) / 4 < 65536u ? (cap) / 4 : 65536u)

/* Rewind: when the ring is empty and the head is past REWIND_AT, the next record starts at offset 0
 * of the next lap. Why: otherwise the head circles the whole capacity, so every page of
 * buffer.max_bytes becomes resident (16 MiB by default) even when a few KiB are queued at a time;
 * with it the pages touched stay near REWIND_AT plus the largest backlog.
 * Relied on: tail == *head means nothing is queued, published or not (tail <= published head <=
 * *head in ring order). The marker is written and head published before tail moves, and
 * consumers load tail before head, so none sees tail ahead of head; a consumer may itself step
 * over the marker first (drain_commit does), and then the CAS here fails harmlessly. EVSEQ is
 * bumped before tail moves, as by an eviction: a consumer that planned a drain before the rewind
 * (and may have read the old lap's bytes as records) fails its commit and plans again. */
static void rewind_if_empty(uint8_t *base, uint32_t *head, uint32_t cap) {
  uint32_t hi = idx(*head, cap);
  if (hi < REWIND_AT(cap)) return;
  uint32_t t = (uint32_t)__atomic_load_n(TAIL(base), __ATOMIC_ACQUIRE);
  if (t != *head) return;
  uint32_t wrap = RING_WRAP;
  memcpy(DATA(base) + hi, &wrap, 4);
  uint32_t lap = advance(*head, cap - hi, cap);
  __atomic_store_n(HEAD(base), (int32_t)lap, __ATOMIC_RELEASE);
  __atomic_fetch_add(EVSEQ(base), 1, __ATOMIC_SEQ_CST);
  int32_t expected = (int32_t)t;
  __atomic_compare_exchange_n(TAIL(base), &expected, (int32_t)lap, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  *head = lap;
}

/* Writes one record at *head (local, not yet published). Returns a PUSH_* code. */
static int put(uint8_t *base, uint32_t *head, const uint8_t *rec, uint32_t len, int policy) {
  uint32_t cap = CAP(base);
  uint32_t need = 4 + pad4(len);
  if (len > cap / 2 - 4 || need > cap / 2) {
    COUNTERS(base)[C_OVERSIZE] += 1;
    return PUSH_OVERSIZE;
  }
  rewind_if_empty(base, head, cap);
  int evicted = 0;
  for (;;) {
    uint32_t hi = idx(*head, cap);
    uint32_t contiguous = cap - hi;
    uint32_t total = need <= contiguous ? need : contiguous + need;
    uint32_t t = (uint32_t)__atomic_load_n(TAIL(base), __ATOMIC_ACQUIRE);
    uint32_t free_bytes = cap - used_between(*head, t, cap);
    if (total <= free_bytes) break;
    if (policy == POLICY_DROP_NEWEST) {
      COUNTERS(base)[C_DROPPED] += 1;
      return PUSH_DROPPED;
    }
    if (policy == POLICY_BLOCK) {
      COUNTERS(base)[C_FULL] += 1;
      return PUSH_FULL;
    }
    /* drop_oldest evicts published records only: publish what this batch wrote so far first. */
    __atomic_store_n(HEAD(base), (int32_t)*head, __ATOMIC_RELEASE);
    /* -1: the consumer emptied the ring meanwhile, so the next check finds room. */
    if (evict_one(base, *head, cap) == 0) evicted = 1;
  }
  uint32_t hi = idx(*head, cap);
  if (need > cap - hi) {
    uint32_t wrap = RING_WRAP;
    memcpy(DATA(base) + hi, &wrap, 4);
    *head = advance(*head, cap - hi, cap);
    hi = 0;
  }
  memcpy(DATA(base) + hi, &len, 4);
  memcpy(DATA(base) + hi + 4, rec, len);
  *head = advance(*head, need, cap);
  COUNTERS(base)[C_PUSHED] += 1;
  COUNTERS(base)[C_PUSHED_BYTES] += len;
  return evicted ? PUSH_EVICTED : PUSH_QUEUED;
}

int ring_push(uint8_t *base, const uint8_t *rec, uint32_t len, int policy) {
  uint32_t head = (uint32_t)__atomic_load_n(HEAD(base), __ATOMIC_RELAXED);
  int r = put(base, &head, rec, len, policy);
  __atomic_store_n(HEAD(base), (int32_t)head, __ATOMIC_RELEASE);
  return r;
}

size_t ring_push_frames(uint8_t *base, const uint8_t *frames, size_t len, int policy) {
  uint32_t head = (uint32_t)__atomic_load_n(HEAD(base), __ATOMIC_RELAXED);
  size_t off = 0;
  while (off + 4 <= len) {
    uint32_t n = load_u32(frames + off);
    if (n > len - off - 4) break; /* truncated frame: stop, the caller sees the short count */
    int r = put(base, &head, frames + off + 4, n, policy);
    if (r == PUSH_FULL) break;
    off += 4 + (size_t)n;
  }
  __atomic_store_n(HEAD(base), (int32_t)head, __ATOMIC_RELEASE);
  return off;
}

void ring_drain_plan(const uint8_t *base, uint32_t max_records, size_t max_bytes, uint32_t *records, size_t *bytes, int32_t *tail_out,
                     int32_t *evseq_out) {
  uint32_t cap = CAP(base);
  *evseq_out = __atomic_load_n(EVSEQ((uint8_t *)base), __ATOMIC_SEQ_CST);
  /* Tail first, then head: the producer's rewind moves tail forward after publishing head, so
   * this order never sees tail ahead of head. */
  uint32_t t = (uint32_t)__atomic_load_n(TAIL((uint8_t *)base), __ATOMIC_ACQUIRE);
  uint32_t h = (uint32_t)__atomic_load_n(HEAD((uint8_t *)base), __ATOMIC_ACQUIRE);
  *tail_out = (int32_t)t;
  uint32_t n = 0;
  size_t b = 0;
  while (t != h && n < max_records) {
    uint32_t ti = idx(t, cap);
    uint32_t len = load_u32(DATA(base) + ti);
    if (len == RING_WRAP) {
      t = advance(t, cap - ti, cap);
      continue;
    }
    if (len > cap / 2 || ti + 4 + len > cap) break; /* evicted and overwritten under us: the commit will fail */
    if (n > 0 && b + 4 + len > max_bytes) break;
    b += 4 + len;
    n++;
    t = advance(t, 4 + pad4(len), cap);
  }
  *records = n;
  *bytes = b;
}

int ring_drain_commit(uint8_t *base, int32_t tail, int32_t evseq, uint32_t records, uint8_t *out, size_t bytes) {
  uint32_t cap = CAP(base);
  uint32_t t = (uint32_t)tail;
  size_t o = 0;
  for (uint32_t n = 0; n < records;) {
    uint32_t ti = idx(t, cap);
    uint32_t len = load_u32(DATA(base) + ti);
    if (len == RING_WRAP) {
      t = advance(t, cap - ti, cap);
      continue;
    }
    if (len > cap / 2 || ti + 4 + len > cap || o + 4 + len > bytes) return -1;
    memcpy(out + o, &len, 4);
    memcpy(out + o + 4, DATA(base) + ti + 4, len);
    o += 4 + len;
    n++;
    t = advance(t, 4 + pad4(len), cap);
  }
  /* Seqlock check: no eviction since the plan, so nothing we copied was rewritten meanwhile
   * (positions alone could come round to the same value: ABA). */
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (__atomic_load_n(EVSEQ(base), __ATOMIC_SEQ_CST) != evseq) return -1;
  /* Also step over a wrap marker right after the last record, so an empty ring reads empty. */
  uint32_t h = (uint32_t)__atomic_load_n(HEAD(base), __ATOMIC_ACQUIRE);
  if (t != h && load_u32(DATA(base) + idx(t, cap)) == RING_WRAP) t = advance(t, cap - idx(t, cap), cap);
  if (t == (uint32_t)tail) return 0;
  int32_t expected = tail;
  if (!__atomic_compare_exchange_n(TAIL(base), &expected, (int32_t)t, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return -1;
  COUNTERS(base)[C_DRAINED] += records;
  COUNTERS(base)[C_DRAINED_BYTES] += (double)(bytes - 4.0 * records);
  return 0;
}

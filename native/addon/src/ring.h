/*
 * The ring buffer: fixed capacity in bytes, framed records, lock-free single producer / single
 * consumer. It lives in caller-provided memory (a SharedArrayBuffer on the JS side) whose layout
 * is shared with the JS implementation (agent/buffer/ring-layout.ts), so a producer in one thread
 * and a consumer in another can each use either implementation.
 *
 * Layout (bytes):   0 magic 'LLRG' | 4 capacity | 64 head (i32) | 128 tail (i32)
 *                   136 eviction sequence (i32) | 192 counters f64[8] | 256 data[capacity]
 * Positions run over [0, 2*capacity) so that full and empty differ (head - tail = used bytes).
 * A record is u32 length + payload padded to 4 bytes; 0xFFFFFFFF marks "continue at offset 0".
 * The producer owns head; the consumer owns tail, except that drop_oldest lets the producer
 * advance tail with a compare-and-swap. The consumer therefore copies records first and commits
 * with a CAS on tail, after checking (seqlock-style) that no eviction happened since it started:
 * otherwise the records may have been rewritten meanwhile and the copy is discarded.
 * Records larger than capacity/2 - 4 are refused (counted as oversize) so any record fits.
 * An empty ring whose head is past min(capacity/4, 64 KiB) starts its next lap early (a wrap
 * marker, head, then tail moved by the producer), so the pages in use follow the backlog rather
 * than the capacity (ring.c, rewind_if_empty).
 */
#ifndef LOGLOOM_RING_H
#define LOGLOOM_RING_H
#include <stddef.h>
#include <stdint.h>

#define RING_MAGIC 0x47524c4cu /* "LLRG" little-endian */
#define RING_HEADER 256
#define RING_OFF_HEAD 64
#define RING_OFF_TAIL 128
#define RING_OFF_EVSEQ 136 /* i32, bumped by each eviction (drop_oldest) */
#define RING_OFF_COUNTERS 192
#define RING_WRAP 0xFFFFFFFFu

enum { C_PUSHED, C_PUSHED_BYTES, C_DROPPED, C_EVICTED, C_FULL, C_OVERSIZE, C_DRAINED, C_DRAINED_BYTES, C_COUNT };
enum { POLICY_DROP_OLDEST = 0, POLICY_DROP_NEWEST = 1, POLICY_BLOCK = 2 };
enum { PUSH_QUEUED = 0, PUSH_EVICTED = 1, PUSH_DROPPED = 2, PUSH_FULL = 3, PUSH_OVERSIZE = 4 };

/* Pushes one record. Returns a PUSH_* result. */
int ring_push(uint8_t *base, const uint8_t *rec, uint32_t len, int policy);

/* Pushes records framed as u32 len + payload (unpadded), back to back. Publishes head once.
 * Returns the bytes of frames consumed (accepted or dropped); less than len when block stopped it. */
size_t ring_push_frames(uint8_t *base, const uint8_t *frames, size_t len, int policy);

/* Plans a drain: how many records / output bytes (u32 len + payload each, unpadded) are available,
 * bounded by max_records and max_bytes (at least one record when any). *tail_out is the tail seen. */
void ring_drain_plan(const uint8_t *base, uint32_t max_records, size_t max_bytes, uint32_t *records, size_t *bytes, int32_t *tail_out,
                     int32_t *evseq_out);

/* Copies the planned records into out and commits tail. Returns 0, or -1 when the records were
 * evicted meanwhile (plan again). */
int ring_drain_commit(uint8_t *base, int32_t tail, int32_t evseq, uint32_t records, uint8_t *out, size_t bytes);

uint32_t ring_used(const uint8_t *base);
#endif

/*
 * Kernel log records (/dev/kmsg, Documentation/ABI/testing/dev-kmsg) as a codec format (codec.h
 * CODEC_KMSG): the byte stream of the device, or of a FIFO carrying the same records, into one entry
 * record per kernel record. The JS twin is agent/buffer/kmsg/ run by JsLineCodec;
 * test/buffer/kmsg-conformance.test.ts and test/fuzz/kmsg-codec.test.ts hold both to identical bytes.
 */
#ifndef LOGLOOM_KMSG_H
#define LOGLOOM_KMSG_H
#include "codec.h"

typedef struct {
  /* Wall-clock ms of the kernel's boot: an entry's timestamp is this + ts_usec / 1000. */
  double boot_wall_ms;
  /* The last seq delivered before (a saved position), or -1: records at or below it are skipped
   * (counted), and gaps are counted from it. */
  double last_seq;
  /* Every record is skipped (counted, its seq tracked): the backlog an input starts after. */
  int skip_all;
  /* Each chunk fed ends with a whole record (the device returns one per read): the record in progress
   * is complete at the end of every feed, not only when the next header arrives. */
  int whole;
  /* The entries' module (sanitised by codec_emit); NULL or empty: the codec's default module. Copied by kmsg_init. */
  const char *module;
} kmsg_opts_t;

typedef struct kmsg_state kmsg_state_t;

/* The format's state for c (c->kmsg), from o (NULL: the defaults, boot time 0). 0, or -1 out of memory. */
int kmsg_init(codec_t *c, const kmsg_opts_t *o);
void kmsg_free(kmsg_state_t *s);
/* The records completed by chunk, with their notes. */
int kmsg_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out);
/* The source went idle (or ended): the record in progress and a held fragment are complete. A line
 * without its newline yet stays pending: the kernel ends every record with one. */
int kmsg_end(codec_t *c, double received_ms, buf_t *out);
/* Counters only this format has: records skipped, seqs missed (gaps), the last seq read (-1: none),
 * the seq of the first fragment held back for joining (-1: none). */
typedef struct {
  double skipped, missed, last_seq, held_seq;
} kmsg_counters_t;
void kmsg_counters(const codec_t *c, kmsg_counters_t *k);
#endif

/*
 * Inflation of a BATCH body (a zlib stream, the forward protocol's `deflate` codec) into a buffer
 * the caller owns: the aggregator reuses one buffer for every batch instead of a fresh off-heap
 * buffer per batch, which is what drove its major garbage collections. zlib is the runtime's own
 * (Node exports it to addons), so nothing extra is linked.
 */
#ifndef LOGLOOM_INFLATE_H
#define LOGLOOM_INFLATE_H

#include <stddef.h>
#include <stdint.h>

enum {
  LL_INFLATE_BAD_DATA = -1,  /* not a zlib stream, or corrupt */
  LL_INFLATE_TOO_LONG = -2,  /* inflates to more than out_cap bytes */
  LL_INFLATE_TRUNCATED = -3, /* the stream ends before its end marker */
  LL_INFLATE_NO_MEMORY = -4,
};

/*
 * Inflates the zlib stream in[0..in_len) into out[0..out_cap); returns the inflated length, or an
 * LL_INFLATE_ code. Bytes after the stream's end are ignored (as node:zlib does). *msg is set to
 * zlib's text for BAD_DATA (static storage) or NULL.
 */
long ll_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, const char **msg);

#endif

/*
 * One zlib inflate state per thread, reset for each body (inflateReset) rather than set up and
 * torn down per batch: the 7 KiB state and 32 KiB window stay allocated while the aggregator runs.
 */
#include <stdlib.h>
#include <zlib.h>

#include "inflate.h"

static __thread z_stream *zs;

long ll_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, const char **msg) {
  *msg = NULL;
  if (in_len > UINT32_MAX || out_cap > UINT32_MAX) return LL_INFLATE_TOO_LONG;
  if (!zs) {
    z_stream *z = calloc(1, sizeof *z);
    if (!z) return LL_INFLATE_NO_MEMORY;
    if (inflateInit2(z, 15) != Z_OK) {
      free(z);
      return LL_INFLATE_NO_MEMORY;
    }
    zs = z;
  } else if (inflateReset(zs) != Z_OK) {
    return LL_INFLATE_NO_MEMORY;
  }
  zs->next_in = (Bytef *)in;
  zs->avail_in = (uInt)in_len;
  zs->next_out = out;
  zs->avail_out = (uInt)out_cap;
  int rc = inflate(zs, Z_FINISH);
  long produced = (long)(out_cap - zs->avail_out);
  zs->next_in = NULL;
  zs->next_out = NULL;
  if (rc == Z_STREAM_END) return produced;
  if ((rc == Z_OK || rc == Z_BUF_ERROR) && zs->avail_out == 0) return LL_INFLATE_TOO_LONG;
  if (rc == Z_OK || rc == Z_BUF_ERROR) return LL_INFLATE_TRUNCATED;
  if (rc == Z_MEM_ERROR) return LL_INFLATE_NO_MEMORY;
  *msg = zs->msg ? zs->msg : "invalid deflate data";
  return LL_INFLATE_BAD_DATA;
}

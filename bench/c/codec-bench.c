/*
 * The C codec alone (native/addon/src/codec.c), as bench/codec.ts runs it: the records of
 * bench/pipeline.ts (209-byte NDJSON lines, every tenth DEBUG, format json, min level INFO) fed in
 * 64 KiB chunks like a socket's reads. Prints the process CPU time per line.
 *
 *   codec-bench LINES
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "codec.h"

#define DISTINCT 1000
#define RECORD 209

int main(int argc, char **argv) {
  long lines = argc > 1 ? atol(argv[1]) : 1000000;
  static char block[DISTINCT * RECORD];
  /* the same records as pipeline-gen.c */
  for (int i = 0; i < DISTINCT; i++) {
    char *r = block + i * RECORD;
    int n = snprintf(r, RECORD + 1,
                     "{\"timestamp\":\"2026-01-01T00:00:%02d.%03dZ\",\"level\":\"%s\",\"module\":\"sensor\",\"message\":\"reading %06d "
                     "temperature=21.5C humidity=40%% status=ok\",\"fields\":{\"device\":\"gw-0042\",\"seq\":%d},\"pad\":\"",
                     i % 60, i % 1000, i % 10 == 0 ? "DEBUG" : "INFO", i, i);
    while (n < RECORD - 3) r[n++] = 'x';
    r[n++] = '"', r[n++] = '}', r[n++] = '\n';
  }
  codec_t *c = codec_new(1 << 20, 64 * 1024, 1, 1, "APP", "bench", "", CODEC_JSON);
  buf_t out = {0};
  struct timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  for (long done = 0; done < lines; done += DISTINCT)
    for (size_t off = 0; off < sizeof block; off += 65536) {
      size_t n = sizeof block - off < 65536 ? sizeof block - off : 65536;
      out.len = 0;
      if (codec_feed(c, (const uint8_t *)block + off, n, 1.7e12, &out)) return fprintf(stderr, "out of memory\n"), 1;
    }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)lines;
  printf("ns_per_line %.1f records %.0f\n", ns, c->records);
  return 0;
}

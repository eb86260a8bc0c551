/*
 * NDJSON input lines → entry records (ndjson.c). The JS twin is entry/ndjson.ts.
 */
#ifndef LOGLOOM_NDJSON_H
#define LOGLOOM_NDJSON_H
#include "entry.h"

/* Deepest nesting of objects and arrays a line may have (a deeper line is rejected, kept as text). */
#define NDJSON_MAX_DEPTH 64
/* Members of "fields" read (as written); later ones are ignored. Bounds the work per line. */
#define NDJSON_MAX_FIELD_MEMBERS 256

typedef struct {
  uint32_t max_message_bytes;
  int min_level, default_level;
  const char *default_module; /* sanitised */
  const char *node;
  const char *source; /* escaped and cut; "" when the input has none */
  /* A draft line (CODEC_DRAFT: written by the agent itself, agent/buffer/draft-ingest.ts, never by a
   * peer): "labels" (an object of strings) and "multiline" (true: the message keeps its \n) are read
   * too. On any other line they are ignored, so that no peer can set them. */
  int draft;
} ndjson_opts_t;

/* Scratch kept between lines (grown, never shrunk below what one line needed). */
typedef struct {
  buf_t text, tmp, clean, keys, vals, msg, args, fields, src, lang, labels;
} ndjson_t;

/*
 * One line (valid UTF-8, no newline) that starts, after spaces and tabs, with '{'.
 * Returns 0: the entry record was appended to out; 1: not valid JSON (why says what and where);
 * 2: below min_level (nothing appended; *level says which); -1: out of memory.
 */
int ndjson_entry(ndjson_t *nj, const uint8_t *line, size_t n, const ndjson_opts_t *o, double received_ms, buf_t *out, int *level,
                 char why[96]);
void ndjson_free(ndjson_t *nj);
#endif

/* See levels.h. */
#include "levels.h"

#include <string.h>

static const char HEAD[] = "{\"timestamp\":\"";
static const char LEVEL_KEY[] = "\",\"level\":\"";
static const char MODULE_KEY[] = "\",\"module\":\"";

/* Whether p[at, end) starts with want (n bytes). */
static int starts(const uint8_t *p, size_t at, size_t end, const char *want, size_t n) {
  return at + n <= end && memcmp(p + at, want, n) == 0;
}

/* Index of the first '"' in p[from, end), or (size_t)-1. */
static size_t quote_from(const uint8_t *p, size_t from, size_t end) {
  if (from >= end) return (size_t)-1;
  const uint8_t *q = memchr(p + from, '"', end - from);
  return q ? (size_t)(q - p) : (size_t)-1;
}

/* The five level names start with five different letters: the first byte names the level. */
static int rank_of(uint8_t initial) {
  switch (initial) {
    case 'I': return 1;
    case 'W': return 2;
    case 'E': return 3;
    case 'F': return 4;
    default: return 0; /* DEBUG, and what is no level name (records.ts: `?? 0`) */
  }
}

/* One record's verdict; p[start, end) is its NDJSON (after the header). */
static uint8_t verdict(const uint8_t *p, size_t start, size_t end, int min_rank) {
  if (!starts(p, start, end, HEAD, sizeof HEAD - 1)) return LEVEL_OTHER_SHAPE;
  size_t ts_end = quote_from(p, start + sizeof HEAD - 1, end);
  if (ts_end == (size_t)-1 || !starts(p, ts_end, end, LEVEL_KEY, sizeof LEVEL_KEY - 1)) return LEVEL_OTHER_SHAPE;
  size_t level_start = ts_end + sizeof LEVEL_KEY - 1;
  size_t level_end = quote_from(p, level_start, end);
  if (level_end == (size_t)-1 || !starts(p, level_end, end, MODULE_KEY, sizeof MODULE_KEY - 1)) return LEVEL_OTHER_SHAPE;
  if (quote_from(p, level_end + sizeof MODULE_KEY - 1, end) == (size_t)-1) return LEVEL_OTHER_SHAPE;
  /* An empty level: records.ts reads the byte at levelStart (the closing quote), no level initial. */
  return rank_of(p[level_start]) >= min_rank ? LEVEL_KEEP : LEVEL_BELOW;
}

size_t ll_level_verdicts(const uint8_t *frames, size_t len, int min_rank, uint8_t *out, size_t out_len) {
  size_t off = 0, i = 0;
  while (i < out_len && off + 4 <= len) {
    uint32_t n;
    memcpy(&n, frames + off, 4);
    size_t end = off + 4 + (size_t)n;
    if (end > len) break; /* a torn batch: the caller sees fewer verdicts than records */
    /* The header (records.ts recordStart): 'E' alone, 'K' + u32 token + u16 input, or none. */
    size_t start = off + 4;
    if (n > 0 && frames[start] == 'E') start += 1;
    else if (n > 0 && frames[start] == 'K') start += 7;
    out[i++] = start <= end ? verdict(frames, start, end, min_rank) : LEVEL_OTHER_SHAPE;
    off = end;
  }
  return i;
}

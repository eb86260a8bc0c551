/*
 * The fast codec: bytes from an input → lines → sanitised, level/module extracted, level-filtered
 * records framed as u32 length + payload, ready for the ring. Its twin in JS is
 * agent/buffer/codec.ts; test/buffer/codec-conformance.test.ts checks both give identical bytes.
 *
 * Record payloads:
 *   'E' + NDJSON entry   a complete entry, exactly what buildEntry + encodeEntry would give
 *   'J' + level + f64 received_ms + line   an NDJSON input line (UTF-8 repaired, otherwise as received); the
 *                        agent parses it through the one entry door (parseLine + buildEntry).
 *                        The level byte (0..4) is what the level filter used.
 * Rules (same as LineSplitter + sanitise.ts): split on \n, drop one trailing \r, keep at most
 * max_line_bytes of a line (the rest is discarded, entry truncated), invalid UTF-8 → U+FFFD
 * (WHATWG decoder), controls except tab escaped (\n \r \xHH \u0080-\u009f), cut at
 * max_message_bytes on a character boundary. Empty lines are skipped.
 * Extraction: "<PRI>tag[pid]: msg" (syslog), "[LEVEL] [MODULE] msg", "LEVEL: msg", "LEVEL msg".
 */
#ifndef LOGLOOM_CODEC_H
#define LOGLOOM_CODEC_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data;
  size_t len, cap;
} buf_t;

typedef struct {
  uint32_t max_line_bytes;
  uint32_t max_message_bytes;
  int min_level;     /* records below are filtered out */
  int default_level; /* for lines that carry none */
  char *default_module; /* already sanitised */
  char *node;
  char *source; /* already escaped and cut; may be empty */
  /* line assembly across pushes */
  uint8_t *pending;
  size_t pending_len;
  int discarding;
  /* scratch */
  buf_t rep, esc;
  /* counters */
  double lines, records, filtered, cut;
} codec_t;

codec_t *codec_new(uint32_t max_line_bytes, uint32_t max_message_bytes, int min_level, int default_level, const char *default_module,
                   const char *node, const char *source);
void codec_free(codec_t *c);
/* Appends the framed records of the complete lines in chunk to out. received_ms: arrival time. */
int codec_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out);
/* End of stream: the pending partial line becomes a record. */
int codec_end(codec_t *c, double received_ms, buf_t *out);
int buf_reserve(buf_t *b, size_t more);
#endif

/*
 * A serial console as a codec format (codec.h CODEC_SERIAL): the bytes a UART gives, framed into
 * lines (separator auto or exact bytes, cut at max_line_bytes on a UTF-8 character start, a
 * partial line flushed on silence or close), decoded (UTF-8 or latin1), ANSI colour codes
 * stripped, parsed (kernel <N> and [ secs ], Logloom's console format, ESP-IDF, Zephyr, level
 * words), kernel oopses grouped into one FATAL entry and boot banners marked. The JS twin is
 * agent/buffer/console/ run by JsLineCodec; test/buffer/serial-conformance.test.ts holds both to
 * identical bytes. The serial input (agent/inputs/serial/) keeps the port and the timers; the
 * codec tells it whether a partial line or an oops group is pending (serial_counters).
 */
#ifndef LOGLOOM_CONSOLE_H
#define LOGLOOM_CONSOLE_H
#include "codec.h"

typedef struct {
  const uint8_t *sep; /* the exact separator, or NULL: auto (\n, \r\n, lone \r) */
  size_t sep_len;
  int latin1;      /* else UTF-8 (invalid bytes → U+FFFD, counted) */
  int parse;       /* level, module and times from the text; off: only the markers after the kernel prefix */
  int group_oops;  /* an oops/panic/BUG → one FATAL entry */
  int detect_boot; /* Linux / U-Boot banners → a WARN entry, event boot */
  uint32_t oops_max_lines;
  int line_notes; /* an 'L' + line note before each routine line's record (a line stage's parser reads it) */
} serial_opts_t;

/* What serial_flush closes: the partial line (silence), the open oops group (silence), or both (the port closed). */
enum { SERIAL_FLUSH_LINE = 0, SERIAL_FLUSH_GROUP = 1, SERIAL_FLUSH_CLOSE = 2 };

/* Allocates c->serial from o (the separator is copied). -1: out of memory. */
int serial_init(codec_t *c, const serial_opts_t *o);
void serial_free(codec_t *c);
/* One read: wall_ms (Date.now()) and mono_ms (performance.now()) are when it arrived. */
int serial_feed(codec_t *c, const uint8_t *chunk, size_t len, double wall_ms, double mono_ms, buf_t *out);
/* SERIAL_FLUSH_*: the pending partial line and/or the open group become records (each keeps its own times). */
int serial_flush(codec_t *c, int what, buf_t *out);
/*
 * The format's own figures, in this order: invalid_lines, partial_lines, oops_groups, boots,
 * pending_bytes (a partial line waits: the input arms its idle timer), open_group_lines (an oops
 * group is open: the input arms its oops timer).
 */
#define SERIAL_COUNTERS 6
extern const char *const SERIAL_COUNTER_NAMES[SERIAL_COUNTERS];
void serial_counters(const codec_t *c, double out[SERIAL_COUNTERS]);
#endif

/*
 * The fast codec: bytes from an input → lines → entry records framed as u32 length + payload,
 * ready for the ring. Its twin in JS is agent/buffer/line-codec.ts;
 * test/buffer/codec-conformance.test.ts checks both give identical bytes.
 *
 * Record payloads:
 *   'E' + NDJSON entry   a complete entry, exactly what buildEntry + encodeEntry would give
 *   'R' + reason         the next record is a line kept as text because it was not valid JSON (or,
 *                        format json, not a JSON object); the agent counts the reject, never queues it
 *                        (format kmsg: a record whose header did not parse, and no record follows)
 *   'S' + seq            format kmsg: the next record's position (its sequence number, as JS writes
 *                        the number), from which the agent makes its checkpoint; never queued
 *   'U'                  format serial: the next record is urgent: the agent puts it into the pipeline's
 *                        priority lane (a grouped kernel oops)
 *   'L' + line           format serial, asked for with line_notes: the line as read, before its level,
 *                        module and times were taken: what a line stage's parser reads
 * A note (a payload starting with a letter other than 'E' or 'K') says something about the record
 * after it; the agent acts on it and never queues it.
 * Lines (same as LineSplitter): split on \n, drop one trailing \r, keep at most max_line_bytes of
 * a line (the rest is discarded, entry truncated), invalid UTF-8 → U+FFFD (WHATWG decoder); empty
 * lines are skipped. A whole line starting (after spaces and tabs) with '{' is an NDJSON entry
 * (ndjson.c) unless the format is text (every line then a plain message as it came); any other
 * line is plain text, with the level and module it starts with: "<PRI>tag[pid]: msg" (syslog), "[LEVEL] [MODULE] msg", "LEVEL: msg", "LEVEL msg".
 * Sanitising, cutting and the record's form are entry.c's. Records below min_level are filtered.
 * The syslog formats frame messages instead of lines and parse each one (syslog.c); their counters
 * count messages: lines = messages (empty ones are skipped uncounted), cut = messages cut at
 * max_line_bytes (the input's max_message_bytes), rejected = messages that did not parse (kept as text).
 * The kmsg format assembles kernel log records (a header line and its continuation lines) and parses
 * each one (kmsg.c); lines = records, cut = records cut at max_line_bytes, rejected = bad headers
 * (no entry). Its own counters (skipped, missed, last_seq, held_seq) come from kmsg_counters, its
 * options (kmsg_opts_t: boot time, position, whole records per chunk, module) from codecNew's
 * options argument (addon.c).
 * The serial format (console.c) frames a serial console's lines (auto or exact separator, cut at
 * max_line_bytes into pieces, partial lines flushed by the input's timers), parses console forms,
 * groups kernel oopses and marks boot banners; it is fed with each read's monotonic time too
 * (serial_feed). Its counters: lines = framed lines, cut = pieces cut at max_line_bytes; its own
 * figures come from serial_counters.
 */
#ifndef LOGLOOM_CODEC_H
#define LOGLOOM_CODEC_H
#include <stddef.h>
#include <stdint.h>
#include "entry.h"
#include "ndjson.h"

/* CODEC_SYSLOG: a syslog TCP/TLS stream, RFC 6587 framing (octet counting or LF); CODEC_SYSLOG_DGRAM: each
 * chunk fed is one syslog message (a UDP datagram). Both parse each message as RFC 5424 or RFC 3164 (syslog.c). */
/* CODEC_DRAFT: each chunk fed is one draft line, a JSON object the agent wrote of an input's draft
 * (agent/buffer/draft-ingest.ts): NDJSON as format json takes it, and "labels" and "multiline" as well
 * (ndjson_opts_t.draft). Never fed by a peer. */
/* CODEC_KMSG: the kernel's log records (/dev/kmsg or a FIFO carrying them), one entry per record with
 * an 'S' note before it (kmsg.c); its options (kmsg_opts_t) and state live in kmsg. */
/* CODEC_SERIAL: a serial console (console.c); format options in serial_opts_t (console.h). */
enum { CODEC_AUTO = 0, CODEC_JSON = 1, CODEC_TEXT = 2, CODEC_SYSLOG = 3, CODEC_SYSLOG_DGRAM = 4, CODEC_DRAFT = 5, CODEC_KMSG = 6, CODEC_SERIAL = 7 };

struct kmsg_state;
typedef struct serial_state serial_state_t;

typedef struct {
  uint32_t max_line_bytes;
  uint32_t max_message_bytes;
  int min_level;     /* records below are filtered out */
  int default_level; /* for lines that carry none */
  int format;        /* CODEC_AUTO, CODEC_JSON (every line must be an object), CODEC_TEXT (never parsed) */
  char *default_module; /* already sanitised */
  char *node;
  char *source; /* already escaped and cut; may be empty */
  size_t source_len;
  /* line assembly across pushes (syslog: the message being framed, at most max_line_bytes) */
  uint8_t *pending;
  size_t pending_len;
  int discarding;
  /* syslog framing state (syslog.c) */
  int sl_state, sl_ndigits, sl_cut;
  uint64_t sl_remaining;
  uint8_t sl_digits[10];
  /* the datagram being parsed carries its sender's credentials (codec_feed_datagrams) */
  int dg_creds;
  int32_t dg_pid, dg_uid;
  /* scratch */
  buf_t rep, esc;
  buf_t sk, sv, fj, fv; /* syslog: field keys, field values, the fields' JSON, one cleaned value */
  ndjson_t nj;
  /* CODEC_KMSG: the format's state (kmsg_init; freed by codec_free) */
  struct kmsg_state *kmsg;
  /* CODEC_SERIAL: framing, the open oops group and the format's counters (console.c) */
  serial_state_t *serial;
  /* counters */
  double lines, records, filtered, cut, rejected;
  /* A feed runs on the thread pool (addon.c, codecFeedOffThread): until it is done, the main
   * thread leaves this codec alone (every other call on it is refused). */
  int busy;
} codec_t;

codec_t *codec_new(uint32_t max_line_bytes, uint32_t max_message_bytes, int min_level, int default_level, const char *default_module,
                   const char *node, const char *source, int format);
void codec_free(codec_t *c);
/* Appends the framed records of the complete lines in chunk to out. received_ms: arrival time. */
int codec_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out);
/*
 * CODEC_SYSLOG_DGRAM: n datagrams back to back in data, as the datagram socket reads them (dgram.c):
 * meta holds four int32 per datagram (length, sender's pid, sender's uid, 1 when cut). Each is one
 * message, whose entry gets the sender's pid (when above 0) and uid (when 0 or above) as fields
 * after its own. -1: out of memory, -2: meta does not fit data.
 */
int codec_feed_datagrams(codec_t *c, const uint8_t *data, size_t len, const int32_t *meta, size_t n, double received_ms, buf_t *out);
/*
 * The line splitting every line-based format shares (LineSplitter's rules): each complete line of
 * chunk to on_line, at most max_line_bytes of it (cut set when the rest was discarded, the line
 * without its \n); a partial line waits in pending for the next chunk. -1: on_line failed.
 */
typedef int (*codec_line_fn)(codec_t *c, const uint8_t *line, size_t n, int cut, double received_ms, buf_t *out);
int codec_split_lines(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out, codec_line_fn on_line);
/* End of stream: the pending partial line becomes a record. */
int codec_end(codec_t *c, double received_ms, buf_t *out);
/* A note: tag + n bytes of body (what the next record is: see the notes above); never an entry. */
int codec_note(buf_t *out, char tag, const void *body, size_t n);
/* An 'R' record: the next record is kept as text because it did not parse (why: n bytes of UTF-8); counted. */
int codec_reject(codec_t *c, const char *why, size_t n, buf_t *out);
/*
 * One entry record from a message and what was found with it (plain text, a syslog message):
 * filtered below min_level (counted), control characters escaped, the message cut at
 * max_message_bytes (marked truncated, as when cut is set), the module sanitised (mod_len 0: the
 * default module), fields_json (NULL: none) written as the entry's fields. Counts the record.
 * multiline: the message's newlines are kept (a grouped oops), every other control escaped.
 */
int codec_emit(codec_t *c, int level, const uint8_t *mod, size_t mod_len, const uint8_t *msg, size_t mlen, double ts_ms,
               const uint8_t *fields_json, size_t fields_len, int cut, int multiline, buf_t *out);
/* Level of a syslog severity (lib/level.ts levelFromSyslogSeverity): 0 FATAL, 1-3 ERROR, 4 WARN, 5-6 INFO, 7 DEBUG. */
int syslog_level(int sev);
#endif

/*
 * Syslog as a codec format (codec.h CODEC_SYSLOG, CODEC_SYSLOG_DGRAM): RFC 6587 framing of a TCP/TLS
 * stream, and each message parsed as RFC 5424 or RFC 3164 into one entry record. The JS twin is
 * agent/buffer/syslog/ (framing.ts, parse*.ts, draft.ts) run by JsLineCodec;
 * test/buffer/codec-conformance.test.ts holds both to identical bytes.
 */
#ifndef LOGLOOM_SYSLOG_H
#define LOGLOOM_SYSLOG_H
#include "codec.h"

/* Reads the local time zone (TZ) for RFC 3164 timestamps, which are the sender's local time. */
void syslog_init(void);
/* Frames the messages of a stream chunk (octet-counted or LF, detected per message) and appends their records. */
int syslog_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out);
/* End of stream: a message in progress becomes a record (cut when its frame was incomplete). */
int syslog_end(codec_t *c, double received_ms, buf_t *out);
/* One whole message (a frame or a datagram, at most max_line_bytes; cut: the sender's was longer). */
int syslog_message(codec_t *c, const uint8_t *msg, size_t n, int cut, double received_ms, buf_t *out);
/* Whether the character at s[i] (valid UTF-8) is one JavaScript's \s matches (WhiteSpace and LineTerminator). */
int js_space(const uint8_t *s, size_t n, size_t i);
/* Facility names by number (agent/buffer/syslog/priority.ts FACILITIES). */
extern const char *const SYSLOG_FACILITIES[24];
#endif

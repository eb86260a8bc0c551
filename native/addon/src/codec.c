#include "codec.h"
#include "syslog.h"
#include "kmsg.h"
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


codec_t *codec_new(uint32_t max_line_bytes, uint32_t max_message_bytes, int min_level, int default_level, const char *default_module,
                   const char *node, const char *source, int format) {
  codec_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->max_line_bytes = max_line_bytes;
  c->max_message_bytes = max_message_bytes;
  c->min_level = min_level;
  c->default_level = default_level;
  c->format = format;
  c->default_module = strdup(default_module);
  c->node = strdup(node);
  c->source = strdup(source);
  c->source_len = strlen(source);
  /* a datagram is parsed where it lies: nothing to assemble */
  int whole = format == CODEC_SYSLOG_DGRAM || format == CODEC_DRAFT || format == CODEC_SERIAL; /* serial: console.c frames */
  c->pending = whole ? NULL : malloc(max_line_bytes ? max_line_bytes : 1);
  if (format == CODEC_SYSLOG || format == CODEC_SYSLOG_DGRAM) syslog_init();
  if (!c->default_module || !c->node || !c->source || (!c->pending && !whole)) {
    codec_free(c);
    return NULL;
  }
  return c;
}

void codec_free(codec_t *c) {
  if (!c) return;
  free(c->default_module);
  free(c->node);
  free(c->source);
  free(c->pending);
  free(c->rep.data);
  free(c->esc.data);
  free(c->sk.data);
  free(c->sv.data);
  free(c->fj.data);
  free(c->fv.data);
  ndjson_free(&c->nj);
  kmsg_free(c->kmsg);
  serial_free(c);
  free(c);
}

int syslog_level(int sev) { return sev <= 0 ? 4 : sev <= 3 ? 3 : sev == 4 ? 2 : sev <= 6 ? 1 : 0; }
static int is_alpha(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_tag(uint8_t c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Level and module from the start of a plain-text or syslog line. *msg_off: where the message starts. */
static void extract(const uint8_t *s, size_t n, int *level, const uint8_t **mod, size_t *mod_len, size_t *msg_off) {
  size_t p = 0;
  if (n > 0 && s[0] == '<') {
    size_t q = 1;
    int v = 0;
    while (q < n && q <= 3 && is_digit(s[q])) v = v * 10 + (s[q++] - '0');
    if (q > 1 && q < n && s[q] == '>' && v <= 191) {
      *level = syslog_level(v & 7);
      p = q + 1;
      size_t t = p;
      while (t < n && t - p < 32 && is_tag(s[t])) t++;
      size_t tag_end = t;
      if (t > p && t < n && s[t] == '[') {
        size_t u = t + 1;
        while (u < n && is_digit(s[u])) u++;
        t = (u > t + 1 && u < n && s[u] == ']') ? u + 1 : 0;
      }
      if (t > p && t + 1 < n && s[t] == ':' && s[t + 1] == ' ') {
        *mod = s + p;
        *mod_len = tag_end - p;
        p = t + 2;
      }
      *msg_off = p;
      return;
    }
  }
  size_t q = 0;
  int bracket = n > 0 && s[0] == '[';
  if (bracket) q++;
  size_t w = q;
  while (q < n && q - w < 9 && is_alpha(s[q])) q++;
  int lvl = q > w && q - w <= 8 ? parse_level(s + w, q - w) : -1;
  if (lvl < 0) return;
  if (bracket) {
    if (q >= n || s[q] != ']') return;
    q++;
  } else if (q < n && s[q] == ':') q++;
  if (q < n && s[q] != ' ' && s[q] != '\t') return;
  while (q < n && (s[q] == ' ' || s[q] == '\t')) q++;
  *level = lvl;
  p = q;
  if (p < n && s[p] == '[') {
    size_t t = p + 1;
    while (t < n && t - p - 1 < 16 && is_tag(s[t])) t++;
    if (t > p + 1 && t < n && s[t] == ']') {
      *mod = s + p + 1;
      *mod_len = t - p - 1;
      p = t + 1;
      while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    }
  }
  *msg_off = p;
}

int codec_note(buf_t *out, char tag, const void *body, size_t n) {
  uint32_t len = (uint32_t)n + 1;
  if (buf_reserve(out, n + 5)) return -1;
  memcpy(out->data + out->len, &len, 4);
  out->data[out->len + 4] = (uint8_t)tag;
  if (n) memcpy(out->data + out->len + 5, body, n);
  out->len += n + 5;
  return 0;
}

/* A reject note: 'R' + why; the agent counts it against the input and does not queue it. */
int codec_reject(codec_t *c, const char *why, size_t n, buf_t *out) {
  c->rejected += 1;
  return codec_note(out, 'R', why, n);
}

static int emit_reject(codec_t *c, const char *why, buf_t *out) { return codec_reject(c, why, strlen(why), out); }

int codec_emit(codec_t *c, int level, const uint8_t *mod, size_t mod_len, const uint8_t *msg, size_t mlen, double ts_ms,
               const uint8_t *fields_json, size_t fields_len, int cut, int multiline, buf_t *out) {
  if (level < c->min_level) {
    c->filtered += 1;
    return 0;
  }
  size_t en = mlen;
  if (has_ctl(msg, mlen)) {
    /* only a message with something to escape is copied; the others are written from where they lie */
    c->esc.len = 0;
    if (buf_reserve(&c->esc, mlen * 6 + 1)) return -1;
    en = escape_controls_nl(msg, mlen, c->esc.data, multiline);
    msg = c->esc.data;
  }
  char module[17];
  if (mod_len) sanitise_module(mod, mod_len, module);
  entry_parts_t e = {
      .ts_ms = ts_ms, .level = level, .module = mod_len ? module : c->default_module, .message = msg,
      .message_len = cut_bytes(msg, en, c->max_message_bytes), .node = c->node, .source = (const uint8_t *)c->source,
      .source_len = c->source_len, .fields_json = fields_json, .fields_len = fields_len};
  e.truncated = cut || e.message_len < en;
  if (entry_write(out, &e)) return -1;
  c->records += 1;
  return 0;
}

/* A line kept as plain text: sanitised, cut, and with the level and module it starts with when extract is set. */
static int emit_text(codec_t *c, const uint8_t *r, size_t rn, int cut, int use_extract, double received_ms, buf_t *out) {
  int level = -1;
  const uint8_t *mod = NULL;
  size_t mod_len = 0, msg_off = 0;
  if (use_extract) extract(r, rn, &level, &mod, &mod_len, &msg_off);
  if (level < 0) level = c->default_level;
  /* extract names a module only with a tag of one byte or more, so mod_len 0 is "no module" */
  return codec_emit(c, level, mod, mod ? mod_len : 0, r + msg_off, rn - msg_off, received_ms, NULL, 0, cut, 0, out);
}

static int emit_line(codec_t *c, const uint8_t *line, size_t n, int cut, double received_ms, buf_t *out) {
  if (!cut && n > 0 && line[n - 1] == '\r' && c->format != CODEC_DRAFT) n--;
  c->lines += 1;
  if (cut) c->cut += 1;
  /* Valid UTF-8 (nearly every line) is used where it lies; only a line with invalid bytes is copied, repaired. */
  const uint8_t *r = line;
  size_t rn = n;
  if (utf8_valid_prefix(line, n) < n) {
    c->rep.len = 0;
    if (buf_reserve(&c->rep, n * 3 + 1)) return -1;
    rn = utf8_repair(line, n, c->rep.data);
    r = c->rep.data;
  }
  if (rn == 0) return 0;
  if (c->format == CODEC_TEXT) return emit_text(c, r, rn, cut, 0, received_ms, out);
  if (cut) return emit_text(c, r, rn, cut, 1, received_ms, out);
  size_t k = 0;
  while (k < rn && (r[k] == ' ' || r[k] == '\t')) k++;
  if (k < rn && r[k] == '{') {
    ndjson_opts_t o = {c->max_message_bytes, c->min_level, c->default_level, c->default_module, c->node, c->source, c->format == CODEC_DRAFT};
    char why[96];
    int level;
    int rc = ndjson_entry(&c->nj, r, rn, &o, received_ms, out, &level, why);
    if (rc == 0) return c->records += 1, 0;
    if (rc == 2) return c->filtered += 1, 0;
    if (rc < 0) return -1;
    /* Not valid JSON: counted, and kept as text rather than lost. */
    return emit_reject(c, why, out) || emit_text(c, r, rn, 0, 0, received_ms, out);
  }
  if (c->format == CODEC_JSON || c->format == CODEC_DRAFT) return emit_reject(c, "not a JSON object", out) || emit_text(c, r, rn, 0, 0, received_ms, out);
  return emit_text(c, r, rn, 0, 1, received_ms, out);
}

/* Scratch a syslog codec keeps between calls; a larger one (a big hostile message) is given back, so
 * that the many codecs of an input (one per UDP peer, per connection) stay small whatever was sent. */
#define SYSLOG_SCRATCH_KEEP (16u << 10)
static void trim(buf_t *b) {
  if (b->cap > SYSLOG_SCRATCH_KEEP) free(b->data), *b = (buf_t){0};
}
static int syslog_trimmed(codec_t *c, int rc) {
  trim(&c->rep), trim(&c->esc), trim(&c->sk), trim(&c->sv), trim(&c->fj), trim(&c->fv);
  return rc;
}

int codec_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out) {
  if (c->format == CODEC_KMSG) return kmsg_feed(c, chunk, len, received_ms, out);
  if (c->format == CODEC_SERIAL) return c->serial ? serial_feed(c, chunk, len, received_ms, received_ms, out) : -1;
  if (c->format == CODEC_SYSLOG) return syslog_trimmed(c, syslog_feed(c, chunk, len, received_ms, out));
  if (c->format == CODEC_SYSLOG_DGRAM) {
    /* One datagram, one message: past the bound it is cut (the rest discarded, the entry truncated). */
    int cut = len > c->max_line_bytes;
    return syslog_trimmed(c, syslog_message(c, chunk, cut ? c->max_line_bytes : len, cut, received_ms, out));
  }
  /* One draft line, whole (no bound: the entry's own limits cut what is in it); it never holds a \n. */
  if (c->format == CODEC_DRAFT) return emit_line(c, chunk, len, 0, received_ms, out);
  return codec_split_lines(c, chunk, len, received_ms, out, emit_line);
}

int codec_split_lines(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out, codec_line_fn on_line) {
  size_t start = 0;
  while (start < len) {
    const uint8_t *nlp = memchr(chunk + start, '\n', len - start);
    size_t end = nlp ? (size_t)(nlp - chunk) : len;
    size_t seg = end - start;
    if (!c->discarding) {
      size_t room = c->max_line_bytes - c->pending_len;
      size_t take = seg < room ? seg : room;
      if (nlp && c->pending_len == 0 && seg <= room) {
        /* whole line inside the chunk: no copy */
        if (on_line(c, chunk + start, seg, 0, received_ms, out)) return -1;
        start = end + 1;
        continue;
      }
      memcpy(c->pending + c->pending_len, chunk + start, take);
      c->pending_len += take;
      if (seg > room) c->discarding = 1;
    }
    if (!nlp) break;
    int cut = c->discarding;
    size_t n = c->pending_len;
    c->pending_len = 0;
    c->discarding = 0;
    if (on_line(c, c->pending, n, cut, received_ms, out)) return -1;
    start = end + 1;
  }
  return 0;
}

int codec_feed_datagrams(codec_t *c, const uint8_t *data, size_t len, const int32_t *meta, size_t n, double received_ms, buf_t *out) {
  if (c->format != CODEC_SYSLOG_DGRAM) return -2;
  size_t off = 0;
  int rc = 0;
  c->dg_creds = 1;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const int32_t *m = meta + 4 * i;
    if (m[0] < 0 || (size_t)m[0] > len - off) {
      rc = -2;
      break;
    }
    c->dg_pid = m[1], c->dg_uid = m[2];
    /* at most the bound, as any datagram fed (the socket cuts at the same bound already) */
    size_t l = (size_t)m[0];
    int cut = m[3] == 1 || l > c->max_line_bytes;
    rc = syslog_message(c, data + off, cut && l > c->max_line_bytes ? c->max_line_bytes : l, cut, received_ms, out);
    off += (size_t)m[0];
  }
  c->dg_creds = 0;
  return syslog_trimmed(c, rc);
}

int codec_end(codec_t *c, double received_ms, buf_t *out) {
  if (c->format == CODEC_KMSG) return kmsg_end(c, received_ms, out);
  if (c->format == CODEC_SERIAL) return c->serial ? serial_flush(c, SERIAL_FLUSH_CLOSE, out) : -1;
  if (c->format == CODEC_SYSLOG) return syslog_trimmed(c, syslog_end(c, received_ms, out));
  if (c->format == CODEC_SYSLOG_DGRAM || c->format == CODEC_DRAFT) return 0;
  if (c->pending_len == 0 && !c->discarding) return 0;
  int cut = c->discarding;
  size_t n = c->pending_len;
  c->pending_len = 0;
  c->discarding = 0;
  return emit_line(c, c->pending, n, cut, received_ms, out);
}

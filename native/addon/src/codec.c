#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const LEVEL_NAMES[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

int buf_reserve(buf_t *b, size_t more) {
  if (b->len + more <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  uint8_t *d = realloc(b->data, cap);
  if (!d) return -1;
  b->data = d;
  b->cap = cap;
  return 0;
}

codec_t *codec_new(uint32_t max_line_bytes, uint32_t max_message_bytes, int min_level, int default_level, const char *default_module,
                   const char *node, const char *source) {
  codec_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->max_line_bytes = max_line_bytes;
  c->max_message_bytes = max_message_bytes;
  c->min_level = min_level;
  c->default_level = default_level;
  c->default_module = strdup(default_module);
  c->node = strdup(node);
  c->source = strdup(source);
  c->pending = malloc(max_line_bytes ? max_line_bytes : 1);
  if (!c->default_module || !c->node || !c->source || !c->pending) {
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
  free(c);
}

/* WHATWG UTF-8 decode with replacement, re-encoded: each maximal invalid subpart → EF BF BD.
 * Identical to what Buffer#toString('utf8') produces. */
static size_t repair_utf8(const uint8_t *s, size_t n, uint8_t *d) {
  size_t i = 0, o = 0;
  while (i < n) {
    uint8_t b = s[i];
    if (b < 0x80) {
      d[o++] = b;
      i++;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      d[o++] = 0xEF, d[o++] = 0xBF, d[o++] = 0xBD;
      i++;
      continue;
    }
    size_t j = 1;
    for (; j <= need; j++) {
      if (i + j >= n) break;
      uint8_t c = s[i + j];
      if (c < lo || c > hi) break;
      lo = 0x80, hi = 0xBF;
    }
    if (j == need + 1) {
      memcpy(d + o, s + i, need + 1);
      o += need + 1;
      i += need + 1;
    } else {
      /* bytes i..i+j-1 are a maximal subpart: one replacement; the offending byte is re-read */
      d[o++] = 0xEF, d[o++] = 0xBF, d[o++] = 0xBD;
      i += j;
    }
  }
  return o;
}

static const char HEX[] = "0123456789abcdef";

/* escapeControls on valid UTF-8: C0 controls except tab, DEL, U+0080..U+009F, and the separators
 * and bidi controls U+2028..U+202E (E2 80 A8..AE) and U+2066..U+2069 (E2 81 A6..A9), as \u20xx. */
static size_t escape_controls(const uint8_t *s, size_t n, uint8_t *d) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = s[i];
    if (b < 0x20 || b == 0x7f) {
      if (b == 0x09) d[o++] = b;
      else if (b == 0x0a) d[o++] = '\\', d[o++] = 'n';
      else if (b == 0x0d) d[o++] = '\\', d[o++] = 'r';
      else d[o++] = '\\', d[o++] = 'x', d[o++] = HEX[b >> 4], d[o++] = HEX[b & 15];
    } else if (b == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {
      uint8_t c = s[++i];
      d[o++] = '\\', d[o++] = 'u', d[o++] = '0', d[o++] = '0', d[o++] = HEX[c >> 4], d[o++] = HEX[c & 15];
    } else if (b == 0xE2 && i + 2 < n && ((s[i + 1] == 0x80 && s[i + 2] >= 0xA8 && s[i + 2] <= 0xAE) || (s[i + 1] == 0x81 && s[i + 2] >= 0xA6 && s[i + 2] <= 0xA9))) {
      /* U+2000 + (second & 0x3F) * 64 + (third & 0x3F) */
      unsigned cp = 0x2000u + ((unsigned)(s[i + 1] & 0x3F) << 6) + (s[i + 2] & 0x3F);
      i += 2;
      d[o++] = '\\', d[o++] = 'u', d[o++] = HEX[(cp >> 12) & 15], d[o++] = HEX[(cp >> 8) & 15], d[o++] = HEX[(cp >> 4) & 15], d[o++] = HEX[cp & 15];
    } else {
      d[o++] = b;
    }
  }
  return o;
}

/* JSON string body as JSON.stringify writes it (input is valid UTF-8). */
static int json_str(buf_t *out, const uint8_t *s, size_t n) {
  if (buf_reserve(out, n * 6 + 2)) return -1;
  uint8_t *d = out->data + out->len;
  size_t o = 0;
  d[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    uint8_t b = s[i];
    if (b == '"' || b == '\\') d[o++] = '\\', d[o++] = b;
    else if (b < 0x20) {
      d[o++] = '\\';
      switch (b) {
        case '\b': d[o++] = 'b'; break;
        case '\f': d[o++] = 'f'; break;
        case '\n': d[o++] = 'n'; break;
        case '\r': d[o++] = 'r'; break;
        case '\t': d[o++] = 't'; break;
        default: d[o++] = 'u', d[o++] = '0', d[o++] = '0', d[o++] = HEX[b >> 4], d[o++] = HEX[b & 15];
      }
    } else d[o++] = b;
  }
  d[o++] = '"';
  out->len += o;
  return 0;
}

static int put(buf_t *out, const char *s, size_t n) {
  if (buf_reserve(out, n)) return -1;
  memcpy(out->data + out->len, s, n);
  out->len += n;
  return 0;
}

/* parseLevel: case-insensitive names and aliases; -1 when unknown. */
static int parse_level(const uint8_t *s, size_t n) {
  static const struct { const char *name; int level; } A[] = {
      {"TRACE", 0}, {"DEBUG", 0}, {"DBG", 0}, {"INFO", 1}, {"INF", 1}, {"NOTICE", 1}, {"WARN", 2}, {"WARNING", 2}, {"WRN", 2},
      {"ERROR", 3}, {"ERR", 3}, {"CRIT", 3}, {"CRITICAL", 3}, {"ALERT", 3}, {"FATAL", 4}, {"PANIC", 4}, {"EMERG", 4}};
  for (size_t i = 0; i < sizeof A / sizeof A[0]; i++)
    if (strlen(A[i].name) == n && strncasecmp((const char *)s, A[i].name, n) == 0) return A[i].level;
  return -1;
}

static int syslog_level(int sev) { return sev <= 0 ? 4 : sev <= 3 ? 3 : sev == 4 ? 2 : sev <= 6 ? 1 : 0; }
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

/* The level an NDJSON line declares ("level": "…" anywhere, first match), or -1. */
static int json_level(const uint8_t *s, size_t n) {
  static const char KEY[] = "\"level\"";
  for (size_t i = 0; i + 7 <= n; i++) {
    if (memcmp(s + i, KEY, 7) != 0) continue;
    size_t p = i + 7;
    while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    if (p >= n || s[p] != ':') return -1;
    p++;
    while (p < n && (s[p] == ' ' || s[p] == '\t')) p++;
    if (p >= n || s[p] != '"') return -1;
    size_t v = ++p;
    while (p < n && s[p] != '"' && p - v <= 16) p++;
    if (p >= n || s[p] != '"') return -1;
    return parse_level(s + v, p - v);
  }
  return -1;
}

static void iso_time(double ms, char out[96]) {
  double secs_f = ms / 1000.0;
  long long secs = (long long)secs_f;
  if ((double)secs > secs_f) secs--; /* floor for negatives */
  int milli = (int)(ms - (double)secs * 1000.0);
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           milli);
}

static int emit_line(codec_t *c, const uint8_t *line, size_t n, int cut, double received_ms, buf_t *out) {
  if (!cut && n > 0 && line[n - 1] == '\r') n--;
  c->lines += 1;
  if (cut) c->cut += 1;
  c->rep.len = 0;
  if (buf_reserve(&c->rep, n * 3 + 1)) return -1;
  size_t rn = repair_utf8(line, n, c->rep.data);
  if (rn == 0) return 0;
  const uint8_t *r = c->rep.data;
  if (!cut) {
    size_t k = 0;
    while (k < rn && (r[k] == ' ' || r[k] == '\t')) k++;
    if (k < rn && r[k] == '{') {
      int lvl = json_level(r, rn);
      if (lvl < 0) lvl = c->default_level;
      if (lvl < c->min_level) {
        c->filtered += 1;
        return 0;
      }
      if (buf_reserve(out, rn + 14)) return -1;
      uint32_t len = (uint32_t)rn + 10;
      memcpy(out->data + out->len, &len, 4);
      out->data[out->len + 4] = 'J';
      out->data[out->len + 5] = (uint8_t)lvl;
      memcpy(out->data + out->len + 6, &received_ms, 8); /* f64 LE: arrival time for entries without one */
      memcpy(out->data + out->len + 14, r, rn);
      out->len += rn + 14;
      c->records += 1;
      return 0;
    }
  }
  int level = -1;
  const uint8_t *mod = NULL;
  size_t mod_len = 0, msg_off = 0;
  extract(r, rn, &level, &mod, &mod_len, &msg_off);
  if (level < 0) level = c->default_level;
  if (level < c->min_level) {
    c->filtered += 1;
    return 0;
  }
  size_t mlen = rn - msg_off;
  c->esc.len = 0;
  if (buf_reserve(&c->esc, mlen * 4 + 1)) return -1;
  size_t en = escape_controls(r + msg_off, mlen, c->esc.data);
  int truncated = cut;
  if (en > c->max_message_bytes) {
    size_t end = c->max_message_bytes;
    while (end > 0 && (c->esc.data[end] & 0xC0) == 0x80) end--;
    en = end;
    truncated = 1;
  }
  char ts[96], module[17];
  iso_time(received_ms, ts);
  if (mod) {
    size_t m = mod_len < 16 ? mod_len : 16;
    for (size_t i = 0; i < m; i++) module[i] = (mod[i] >= 'a' && mod[i] <= 'z') ? (char)(mod[i] - 32) : (char)mod[i];
    module[m] = 0;
  } else {
    snprintf(module, sizeof module, "%s", c->default_module);
  }
  size_t start = out->len;
  if (buf_reserve(out, 5)) return -1;
  out->len += 4;
  out->data[out->len++] = 'E';
  if (put(out, "{\"timestamp\":\"", 14) || put(out, ts, strlen(ts)) || put(out, "\",\"level\":\"", 11) ||
      put(out, LEVEL_NAMES[level], strlen(LEVEL_NAMES[level])) || put(out, "\",\"module\":", 11) ||
      json_str(out, (const uint8_t *)module, strlen(module)) || put(out, ",\"message\":", 11) || json_str(out, c->esc.data, en) ||
      put(out, ",\"node\":", 8) || json_str(out, (const uint8_t *)c->node, strlen(c->node)))
    return -1;
  if (c->source[0] && (put(out, ",\"source\":", 10) || json_str(out, (const uint8_t *)c->source, strlen(c->source)))) return -1;
  if (truncated && put(out, ",\"truncated\":true", 17)) return -1;
  if (put(out, "}", 1)) return -1;
  uint32_t len = (uint32_t)(out->len - start - 4);
  memcpy(out->data + start, &len, 4);
  c->records += 1;
  return 0;
}

int codec_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out) {
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
        if (emit_line(c, chunk + start, seg, 0, received_ms, out)) return -1;
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
    if (emit_line(c, c->pending, n, cut, received_ms, out)) return -1;
    start = end + 1;
  }
  return 0;
}

int codec_end(codec_t *c, double received_ms, buf_t *out) {
  if (c->pending_len == 0 && !c->discarding) return 0;
  int cut = c->discarding;
  size_t n = c->pending_len;
  c->pending_len = 0;
  c->discarding = 0;
  return emit_line(c, c->pending, n, cut, received_ms, out);
}

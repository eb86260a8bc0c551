/*
 * The aggregator's validating scanner over NDJSON entry lines, in C: the same rules as
 * aggregator/ingest/scan.ts (which carries the aggregator where the addon cannot load), run
 * over a whole batch body per call. A line in canonical form (exactly what the aggregator would
 * store: buildEntry's keys in order, JSON.stringify's bytes, sanitised already) is copied to the
 * output with the authenticated node put in and `,"seq":N` added; the scan stops at the first
 * line it is not sure of and hands it back to JS (the full parse-and-rebuild path). Being unsure
 * is always allowed: JS's rebuild stores the same bytes. test/aggregator/ingest.test.ts holds
 * both scanners and the rebuild byte-identical on fuzzed lines.
 *
 * Differences from scan.ts, all on the unsure side: a number in args or fields that is not a
 * short plain integer ends the scan (JS's String(Number(x)) check is not repeated here).
 */
#include <stdint.h>
#include <string.h>

#include "ingest.h"

enum { K_TIMESTAMP, K_LEVEL, K_MODULE, K_MESSAGE, K_LANG_KEY, K_ARGS, K_NODE, K_SOURCE, K_TRUNCATED, K_FIELDS, K_COUNT };
static const char *const KEYS[K_COUNT] = {"timestamp", "level", "module", "message", "lang_key", "args", "node", "source", "truncated", "fields"};
static const uint8_t KEY_LEN[K_COUNT] = {9, 5, 6, 7, 8, 4, 4, 6, 9, 6};
static const char *const LEVELS[5] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
static const uint8_t LEVEL_LEN[5] = {5, 4, 4, 5, 5};

/* Bytes a canonical string holds as they are, one byte one UTF-16 unit: printable ASCII but " and \. */
static const uint8_t PLAIN[256] = {
    [0x20 ... 0x21] = 1, /* " */ [0x23 ... 0x5b] = 1, /* \\ */ [0x5d ... 0x7e] = 1,
};
#define REQUIRED ((1u << K_TIMESTAMP) | (1u << K_LEVEL) | (1u << K_MODULE) | (1u << K_MESSAGE))

#define MAX_ARGS 32
#define MAX_ARG_CHARS 1024
#define MAX_FIELDS 64
#define MAX_FIELD_KEY_CHARS 64
#define MAX_SOURCE_CHARS 256
#define MAX_MODULE 16
#define MAX_LANG_KEY 128

typedef struct {
  const uint8_t *b;
  size_t end; /* bound: the body's length */
  size_t s_bytes, s_units;
} scan_t;

static inline int at(const scan_t *s, size_t i) { return i < s->end ? s->b[i] : -1; }
static inline int cont(int c) { return c >= 0 && (c & 0xc0) == 0x80; }
static inline int digit(int c) { return c >= '0' && c <= '9'; }

/* A canonical JSON string at i (its opening quote); the index after the closing quote, or 0. */
static size_t str(scan_t *s, size_t i) {
  if (at(s, i) != '"') return 0;
  i++;
  size_t bytes = 0, units = 0;
  while (i < s->end) {
    /* The common case, a run of plain ASCII, in a tight loop (most messages are nothing else). */
    size_t run = i;
    while (i < s->end && PLAIN[s->b[i]]) i++;
    bytes += i - run;
    units += i - run;
    if (i >= s->end) break;
    int c = s->b[i];
    if (c < 0x80) {
      if (c == '"') {
        s->s_bytes = bytes;
        s->s_units = units;
        return i + 1;
      }
      if (c == '\\') {
        int d = at(s, i + 1);
        if (d != '\\' && d != '"' && d != 't') return 0;
        i += 2;
      } else {
        if (c < 0x20 || c == 0x7f) return 0;
        i++;
      }
      bytes++;
      units++;
    } else if (c < 0xe0) {
      if (c < 0xc2) return 0;
      int c1 = at(s, i + 1);
      if (!cont(c1) || (c == 0xc2 && c1 < 0xa0)) return 0;
      i += 2;
      bytes += 2;
      units++;
    } else if (c < 0xf0) {
      int c1 = at(s, i + 1), c2 = at(s, i + 2);
      if (!cont(c1) || !cont(c2)) return 0;
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) return 0;
      if ((c == 0xe2 && (c1 == 0x80 || c1 == 0x81)) || (c == 0xef && c1 == 0xbb && c2 == 0xbf)) return 0;
      i += 3;
      bytes += 3;
      units++;
    } else {
      if (c > 0xf4) return 0;
      int c1 = at(s, i + 1), c2 = at(s, i + 2), c3 = at(s, i + 3);
      if (!cont(c1) || !cont(c2) || !cont(c3)) return 0;
      if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) return 0;
      i += 4;
      bytes += 4;
      units += 2;
    }
  }
  return 0;
}

/* A short plain integer (JSON.stringify writes it the same way); anything else: unsure (0). */
static size_t num(scan_t *s, size_t i) {
  size_t from = i;
  if (at(s, i) == '-') i++;
  if (!digit(at(s, i))) return 0;
  int lead = at(s, i);
  i++;
  while (digit(at(s, i))) i++;
  int c = at(s, i);
  if (c == '.' || c == 'e' || c == 'E') return 0;
  size_t len = i - from;
  int neg = s->b[from] == '-';
  if (lead == '0' && (len > (size_t)(neg ? 2 : 1) || neg)) return 0;
  return len <= 15 ? i : 0;
}

static int two(const scan_t *s, size_t i) {
  int h = at(s, i) - '0', l = at(s, i + 1) - '0';
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

static size_t timestamp(scan_t *s, size_t i) {
  if (at(s, i) != '"' || at(s, i + 25) != '"') return 0;
  size_t p = i + 1;
  if (at(s, p + 4) != '-' || at(s, p + 7) != '-' || at(s, p + 10) != 'T' || at(s, p + 13) != ':' || at(s, p + 16) != ':' || at(s, p + 19) != '.' || at(s, p + 23) != 'Z') return 0;
  int y1 = two(s, p), y2 = two(s, p + 2), month = two(s, p + 5), day = two(s, p + 8), hh = two(s, p + 11), mm = two(s, p + 14), ss = two(s, p + 17), ms = two(s, p + 20);
  int m3 = at(s, p + 22) - '0';
  if (y1 < 0 || y2 < 0 || ms < 0 || m3 < 0 || m3 > 9 || month < 1 || month > 12 || day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59) return 0;
  if (day > 28) {
    int year = y1 * 100 + y2;
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    int days = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11) ? 30 : 31;
    if (day > days) return 0;
  }
  return i + 26;
}

static size_t level(scan_t *s, size_t i, int *out) {
  if (at(s, i) != '"') return 0;
  for (int l = 0; l < 5; l++) {
    size_t n = LEVEL_LEN[l];
    if (i + 1 + n < s->end && s->b[i + 1 + n] == '"' && memcmp(s->b + i + 1, LEVELS[l], n) == 0) {
      *out = l;
      return i + 2 + n;
    }
  }
  return 0;
}

static size_t tag(scan_t *s, size_t i, size_t max, int lower) {
  if (at(s, i) != '"') return 0;
  size_t k = i + 1;
  for (; k < s->end && s->b[k] != '"'; k++) {
    int c = s->b[k];
    int ok = (c >= 'A' && c <= 'Z') || digit(c) || c == '_' || c == '.' || c == '-' || (lower && c >= 'a' && c <= 'z');
    if (!ok) return 0;
  }
  size_t n = k - i - 1;
  return at(s, k) == '"' && n >= 1 && n <= max ? k + 1 : 0;
}

static size_t args(scan_t *s, size_t i) {
  if (at(s, i) != '[') return 0;
  i++;
  if (at(s, i) == ']') return i + 1;
  for (int n = 0;; n++) {
    if (n >= MAX_ARGS) return 0;
    if (at(s, i) == '"') {
      i = str(s, i);
      if (!i || s->s_units > MAX_ARG_CHARS) return 0;
    } else if (!(i = num(s, i)))
      return 0;
    if (at(s, i) == ']') return i + 1;
    if (at(s, i) != ',') return 0;
    i++;
  }
}

static size_t fields(scan_t *s, size_t i) {
  if (at(s, i) != '{' || at(s, i + 1) == '}') return 0;
  i++;
  size_t kf[MAX_FIELDS], kl[MAX_FIELDS];
  for (int n = 0;; n++) {
    if (n >= MAX_FIELDS) return 0;
    size_t k = i;
    i = str(s, i);
    if (!i || s->s_units > MAX_FIELD_KEY_CHARS || at(s, i) != ':') return 0;
    size_t from = k + 1, len = i - 1 - from;
    int digits = 1;
    for (size_t d = from; d < from + len && digits; d++) digits = digit(s->b[d]);
    if (digits) return 0; /* index-like names would be reordered by a JS object (and "" too) */
    if (len == 9 && memcmp(s->b + from, "__proto__", 9) == 0) return 0;
    for (int m = 0; m < n; m++)
      if (kl[m] == len && memcmp(s->b + kf[m], s->b + from, len) == 0) return 0;
    kf[n] = from;
    kl[n] = len;
    i++;
    int c = at(s, i);
    if (c == '"') {
      i = str(s, i);
      if (!i || s->s_units > MAX_ARG_CHARS) return 0;
    } else if (c == 't') {
      if (at(s, i + 1) != 'r' || at(s, i + 2) != 'u' || at(s, i + 3) != 'e') return 0;
      i += 4;
    } else if (c == 'f') {
      if (at(s, i + 1) != 'a' || at(s, i + 2) != 'l' || at(s, i + 3) != 's' || at(s, i + 4) != 'e') return 0;
      i += 5;
    } else if (!(i = num(s, i)))
      return 0;
    if (at(s, i) == '}') return i + 1;
    if (at(s, i) != ',') return 0;
    i++;
  }
}

/* Which entry key (a quoted name and a colon) is at i; -1 for any other. */
static int key(scan_t *s, size_t i, size_t *after) {
  if (at(s, i) != '"') return -1;
  for (int k = 0; k < K_COUNT; k++) {
    size_t n = KEY_LEN[k];
    if (i + 2 + n < s->end && s->b[i + 1] == (uint8_t)KEYS[k][0] && s->b[i + 1 + n] == '"' && s->b[i + 2 + n] == ':' && memcmp(s->b + i + 1, KEYS[k], n) == 0) {
      *after = i + 3 + n;
      return k;
    }
  }
  return -1;
}

typedef struct {
  size_t nl;       /* the newline ending the line */
  size_t node_at;  /* where "node" goes (the comma of the line's own node member, if any) */
  size_t node_end; /* end of the line's own node member, or node_at */
  int node_same;
  int level;
} line_t;

static int scan_line(scan_t *s, size_t start, uint32_t max_message, const uint8_t *node, size_t node_len, line_t *L) {
  if (at(s, start) != '{') return 0;
  size_t i = start + 1, after_low = 0;
  int last = -1, have_node = 0;
  unsigned seen = 0;
  L->node_same = 0;
  L->level = 0;
  for (;;) {
    size_t member = i;
    if (last >= 0) {
      if (at(s, i) == '}') break;
      if (at(s, i) != ',') return 0;
      i++;
    }
    size_t v;
    int k = key(s, i, &v);
    if (k <= last) return 0;
    last = k;
    seen |= 1u << k;
    i = v;
    switch (k) {
      case K_TIMESTAMP: i = timestamp(s, i); break;
      case K_LEVEL: i = level(s, i, &L->level); break;
      case K_MODULE: i = tag(s, i, MAX_MODULE, 0); break;
      case K_MESSAGE:
        i = str(s, i);
        if (i && s->s_bytes > max_message) return 0;
        break;
      case K_LANG_KEY: i = tag(s, i, MAX_LANG_KEY, 1); break;
      case K_ARGS: i = args(s, i); break;
      case K_NODE:
        i = str(s, i);
        if (!i) return 0;
        have_node = 1;
        L->node_at = member;
        L->node_end = i;
        L->node_same = i - v - 2 == node_len && memcmp(s->b + v + 1, node, node_len) == 0;
        break;
      case K_SOURCE:
        i = str(s, i);
        if (i && (s->s_units < 1 || s->s_units > MAX_SOURCE_CHARS)) return 0;
        break;
      case K_TRUNCATED:
        if (at(s, i) != 't' || at(s, i + 1) != 'r' || at(s, i + 2) != 'u' || at(s, i + 3) != 'e') return 0;
        i += 4;
        break;
      case K_FIELDS: i = fields(s, i); break;
    }
    if (!i) return 0;
    if (k < K_NODE) after_low = i;
  }
  if (at(s, i + 1) != '\n' || (seen & REQUIRED) != REQUIRED) return 0;
  if (!have_node) L->node_at = L->node_end = after_low;
  L->nl = i + 1;
  return 1;
}

int ll_ingest_scan(const ll_ingest_in_t *in, ll_ingest_state_t *st) {
  scan_t s = {in->raw, in->raw_len, 0, 0};
  while (st->raw_pos < in->raw_len) {
    if (st->n >= in->count) return LL_INGEST_MORE_LINES;
    line_t L;
    if (!scan_line(&s, st->raw_pos, in->max_message, in->node, in->node_len, &L)) return LL_INGEST_UNSURE;
    size_t close = L.nl - 1; /* the line's closing brace */
    size_t need = (close - st->raw_pos) + in->node_member_len + in->suffix_len;
    if (st->out_pos + need > in->out_cap) return LL_INGEST_NO_ROOM;
    uint8_t *o = in->out + st->out_pos;
    if (L.node_same) {
      memcpy(o, in->raw + st->raw_pos, close - st->raw_pos);
      o += close - st->raw_pos;
    } else {
      memcpy(o, in->raw + st->raw_pos, L.node_at - st->raw_pos);
      o += L.node_at - st->raw_pos;
      memcpy(o, in->node_member, in->node_member_len);
      o += in->node_member_len;
      memcpy(o, in->raw + L.node_end, close - L.node_end);
      o += close - L.node_end;
    }
    memcpy(o, in->suffix, in->suffix_len);
    o += in->suffix_len;
    st->out_pos = (size_t)(o - in->out);
    in->ends[st->n] = (uint32_t)st->out_pos;
    in->levels[st->n] = (uint8_t)L.level;
    st->n++;
    st->raw_pos = L.nl + 1;
  }
  return LL_INGEST_DONE;
}

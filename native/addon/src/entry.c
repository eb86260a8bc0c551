#include "entry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const LEVEL_NAMES[5] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
static const char HEX[] = "0123456789abcdef";

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

size_t utf8_valid_prefix(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
#ifdef HAVE_SIMD16
    while (i + 16 <= n && !v16_mask(v16_load(s + i))) i += 16; /* ASCII: no high bit set */
#endif
    while (i + 8 <= n && !(swar_load(s + i) & SWAR_HIGHS)) i += 8;
    if (i >= n) break;
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) need = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4) need = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else return i;
    if (i + need >= n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t j = 2; j <= need; j++)
      if (s[i + j] < 0x80 || s[i + j] > 0xBF) return i;
    i += need + 1;
  }
  return n;
}

size_t utf8_repair(const uint8_t *s, size_t n, uint8_t *d) {
  size_t i = 0, o = 0;
  while (i < n) {
    /* ASCII runs, eight bytes at a time */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ULL) break;
      memcpy(d + o, &w, 8);
      i += 8, o += 8;
    }
    if (i >= n) break;
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

/* Bytes escape_controls looks at: C0 controls, DEL, 0xC2 (the lead byte of U+0080..U+00BF) and 0xE2
 * (the lead byte of the line/paragraph separators and bidi controls U+2028..U+202E, U+2066..U+2069). */
const uint8_t CTL_BYTE[256] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                               [0x7f] = 1, [0xC2] = 1, [0xE2] = 1};
const uint8_t JSON_STOP_BYTE[256] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                     ['"'] = 1, ['\\'] = 1};

size_t escape_controls(const uint8_t *s, size_t n, uint8_t *d) { return escape_controls_nl(s, n, d, 0); }

size_t escape_controls_nl(const uint8_t *s, size_t n, uint8_t *d, int keep_nl) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    size_t r = i;
    for (; r + 8 <= n; r += 8) {
      uint64_t w = swar_load(s + r);
      uint64_t m = swar_below(w, 0x20) | swar_has(w, 0x7f) | swar_has(w, 0xC2) | swar_has(w, 0xE2);
      if (m) {
        r += swar_first(m);
        goto found;
      }
    }
    while (r < n && !CTL_BYTE[s[r]]) r++;
  found:
    if (r > i) {
      memcpy(d + o, s + i, r - i);
      o += r - i;
      i = r;
      if (i >= n) break;
    }
    uint8_t b = s[i];
    if (b < 0x20 || b == 0x7f) {
      if (b == 0x09 || (b == 0x0a && keep_nl)) d[o++] = b;
      else if (b == 0x0a) d[o++] = '\\', d[o++] = 'n';
      else if (b == 0x0d) d[o++] = '\\', d[o++] = 'r';
      else d[o++] = '\\', d[o++] = 'x', d[o++] = HEX[b >> 4], d[o++] = HEX[b & 15];
    } else if (b == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {
      uint8_t c = s[++i];
      d[o++] = '\\', d[o++] = 'u', d[o++] = '0', d[o++] = '0', d[o++] = HEX[c >> 4], d[o++] = HEX[c & 15];
    } else if (b == 0xE2 && i + 2 < n && ((s[i + 1] == 0x80 && s[i + 2] >= 0xA8 && s[i + 2] <= 0xAE) || (s[i + 1] == 0x81 && s[i + 2] >= 0xA6 && s[i + 2] <= 0xA9))) {
      /* U+2000 + (second & 0x3F) * 64 + (third & 0x3F): a separator or bidi control reordering what a terminal shows */
      unsigned cp = 0x2000u + ((unsigned)(s[i + 1] & 0x3F) << 6) + (s[i + 2] & 0x3F);
      i += 2;
      d[o++] = '\\', d[o++] = 'u', d[o++] = HEX[(cp >> 12) & 15], d[o++] = HEX[(cp >> 8) & 15], d[o++] = HEX[(cp >> 4) & 15], d[o++] = HEX[cp & 15];
    } else {
      d[o++] = b;
    }
  }
  return o;
}

size_t cut_units(const uint8_t *s, size_t n, size_t max) {
  size_t units = 0, i = 0;
  while (i < n) {
    uint8_t b = s[i];
    size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    size_t u = len == 4 ? 2 : 1;
    if (units + u > max) break;
    units += u;
    i += len;
  }
  return i < n ? i : n;
}

size_t cut_bytes(const uint8_t *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t end = max;
  while (end > 0 && (s[end] & 0xC0) == 0x80) end--;
  return end;
}

int put_clean(buf_t *out, const uint8_t *s, size_t n, size_t max_units) {
  if (buf_reserve(out, n * 6 + 1)) return -1;
  uint8_t *d = out->data + out->len;
  size_t en = escape_controls(s, n, d);
  out->len += cut_units(d, en, max_units);
  return 0;
}

size_t json_str_to(uint8_t *d, const uint8_t *s, size_t n) {
  size_t o = 0;
  d[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    size_t r = i + json_plain_run(s + i, n - i);
    if (r > i) {
      memcpy(d + o, s + i, r - i);
      o += r - i;
      i = r;
      if (i >= n) break;
    }
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
  return o;
}

int json_str(buf_t *out, const uint8_t *s, size_t n) {
  if (buf_reserve(out, n * 6 + 2)) return -1;
  out->len += json_str_to(out->data + out->len, s, n);
  return 0;
}

int parse_level(const uint8_t *s, size_t n) {
#define L(name, level) {name, sizeof name - 1, level}
  static const struct { const char *name; size_t len; int level; } A[] = {
      L("TRACE", 0), L("DEBUG", 0), L("DBG", 0), L("INFO", 1), L("INF", 1), L("NOTICE", 1), L("WARN", 2), L("WARNING", 2), L("WRN", 2),
      L("ERROR", 3), L("ERR", 3), L("CRIT", 3), L("CRITICAL", 3), L("ALERT", 3), L("FATAL", 4), L("PANIC", 4), L("EMERG", 4)};
#undef L
  if (n > 8) return -1;
  for (size_t i = 0; i < sizeof A / sizeof A[0]; i++)
    if (A[i].len == n && strncasecmp((const char *)s, A[i].name, n) == 0) return A[i].level;
  return -1;
}

size_t sanitise_module(const uint8_t *s, size_t n, char out[17]) {
  size_t o = 0, i = 0;
  while (i < n && o < ENTRY_MAX_MODULE) {
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
      if (b >= 'a' && b <= 'z') out[o++] = (char)(b - 32);
      else if ((b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_' || b == '.' || b == '-') out[o++] = (char)b;
      else out[o++] = '_';
      continue;
    }
    size_t len = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    i += len;
    out[o++] = '_';
    if (len == 4 && o < ENTRY_MAX_MODULE) out[o++] = '_'; /* two UTF-16 units */
  }
  if (o == 0) return (size_t)snprintf(out, 17, "APP");
  out[o] = 0;
  return o;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void two(char *o, unsigned v) { o[0] = (char)('0' + v / 10), o[1] = (char)('0' + v % 10); }

size_t iso_time(double ms, char out[32]) {
  /* Records arrive in bursts within one millisecond: the last text is reused (isoOfMs in JS does the same). */
  static __thread double last_ms = -1e300;
  static __thread char last[32];
  static __thread size_t last_n;
  if (ms == last_ms) return memcpy(out, last, last_n + 1), last_n;
  int64_t t = (int64_t)ms;
  int64_t days = t / 86400000, rem = t % 86400000;
  if (rem < 0) rem += 86400000, days--;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  unsigned hh = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60), ss = (unsigned)(rem / 1000 % 60), mss = (unsigned)(rem % 1000);
  size_t n;
  if (y >= 0 && y <= 9999) {
    /* YYYY-MM-DDTHH:MM:SS.mmmZ without printf: this runs for every plain-text record */
    memcpy(out, "0000-00-00T00:00:00.000Z", 25);
    two(out, (unsigned)(y / 100)), two(out + 2, (unsigned)(y % 100));
    two(out + 5, m), two(out + 8, d), two(out + 11, hh), two(out + 14, mi), two(out + 17, ss);
    out[20] = (char)('0' + mss / 100), two(out + 21, mss % 100);
    n = 24;
  } else
    n = (size_t)snprintf(out, 32, "%c%06lld-%02u-%02uT%02u:%02u:%02u.%03uZ", y < 0 ? '-' : '+', (long long)(y < 0 ? -y : y), m, d, hh, mi, ss,
                         mss);
  last_ms = ms;
  memcpy(last, out, n + 1);
  last_n = n;
  return n;
}

static int digits(const uint8_t *s, size_t n, size_t at, size_t count, int *v) {
  if (at + count > n) return -1;
  int r = 0;
  for (size_t i = at; i < at + count; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    r = r * 10 + (s[i] - '0');
  }
  *v = r;
  return 0;
}

int parse_timestamp(const uint8_t *s, size_t n, double *ms) {
  int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
  if (digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || digits(s, n, 5, 2, &mo) || s[7] != '-' || digits(s, n, 8, 2, &d)) return -1;
  static const int DIM[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12) return -1;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d < 1 || d > DIM[mo - 1] + (mo == 2 && leap)) return -1;
  size_t p = 10;
  int64_t offset_min = 0;
  if (p < n) {
    if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return -1;
    if (digits(s, n, p + 1, 2, &h) || p + 3 >= n || s[p + 3] != ':' || digits(s, n, p + 4, 2, &mi)) return -1;
    p += 6;
    if (p < n && s[p] == ':') {
      if (digits(s, n, p + 1, 2, &se)) return -1;
      p += 3;
      if (p < n && s[p] == '.') {
        size_t q = ++p;
        while (p < n && s[p] >= '0' && s[p] <= '9') {
          if (p - q < 3) frac = frac * 10 + (s[p] - '0');
          p++;
        }
        if (p == q) return -1;
        for (size_t k = p - q; k < 3; k++) frac *= 10;
      }
    }
    if (h > 23 || mi > 59 || se > 59) return -1;
    if (p < n && (s[p] == 'Z' || s[p] == 'z')) p++;
    else if (p < n && (s[p] == '+' || s[p] == '-')) {
      int sign = s[p] == '-' ? -1 : 1, zh, zm = 0;
      if (digits(s, n, p + 1, 2, &zh)) return -1;
      p += 3;
      if (p < n && s[p] == ':') {
        if (digits(s, n, p + 1, 2, &zm)) return -1;
        p += 3;
      } else if (p < n) {
        if (digits(s, n, p, 2, &zm)) return -1;
        p += 2;
      }
      if (zh > 23 || zm > 59) return -1;
      offset_min = sign * (zh * 60 + zm);
    }
    if (p != n) return -1;
  }
  int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 + (int64_t)h * 3600000 + (int64_t)mi * 60000 + (int64_t)se * 1000 + frac -
              offset_min * 60000;
  *ms = (double)t;
  return 0;
}

int timestamp_of_number(double v, double *ms) {
  if (v < 1e11) v *= 1000;
  if (!isfinite(v) || fabs(v) > 8.64e15) return -1;
  *ms = trunc(v) + 0.0;
  return 0;
}

size_t js_number(double v, char out[32]) {
  if (v == 0) return (size_t)snprintf(out, 32, "0");
  /* Integers below 2^53 (counters, ids, sequence numbers) are written as they are. */
  if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
    char d[20];
    int k = 0;
    uint64_t u = (uint64_t)fabs(v);
    while (u) d[k++] = (char)('0' + u % 10), u /= 10;
    if (k <= 21) {
      size_t o = 0;
      if (v < 0) out[o++] = '-';
      while (k) out[o++] = d[--k];
      out[o] = 0;
      return o;
    }
  }
  char e[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    if (strtod(e, NULL) == v) break;
  }
  /* e: [-]d[.ddd]e[+-]x */
  const char *q = e;
  int neg = *q == '-';
  if (neg) q++;
  char dg[20];
  int k = 0;
  for (; *q && *q != 'e'; q++)
    if (*q != '.') dg[k++] = *q;
  while (k > 1 && dg[k - 1] == '0') k--;
  int n = atoi(q + 1) + 1;
  size_t o = 0;
  if (neg) out[o++] = '-';
  if (k <= n && n <= 21) {
    memcpy(out + o, dg, (size_t)k), o += (size_t)k;
    for (int i = k; i < n; i++) out[o++] = '0';
  } else if (0 < n && n <= 21) {
    memcpy(out + o, dg, (size_t)n), o += (size_t)n;
    out[o++] = '.';
    memcpy(out + o, dg + n, (size_t)(k - n)), o += (size_t)(k - n);
  } else if (-6 < n && n <= 0) {
    out[o++] = '0', out[o++] = '.';
    for (int i = 0; i < -n; i++) out[o++] = '0';
    memcpy(out + o, dg, (size_t)k), o += (size_t)k;
  } else {
    out[o++] = dg[0];
    if (k > 1) {
      out[o++] = '.';
      memcpy(out + o, dg + 1, (size_t)(k - 1)), o += (size_t)(k - 1);
    }
    o += (size_t)snprintf(out + o, 32 - o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
  }
  out[o] = 0;
  return o;
}

/* Appends a constant piece (its length known at compile time: an inlined copy). */
#define PUT(lit) (memcpy(d, lit, sizeof lit - 1), d += sizeof lit - 1)

/* A text as a JSON string; one flagged plain (entry_parts_t.plain) is already one between quotes. */
static inline size_t str_to(uint8_t *d, const uint8_t *s, size_t n, unsigned plain) {
  if (!plain) return json_str_to(d, s, n);
  d[0] = '"';
  memcpy(d + 1, s, n);
  d[n + 1] = '"';
  return n + 2;
}

int entry_write(buf_t *out, const entry_parts_t *e) {
  char ts[32];
  size_t tn = e->ts_text ? (memcpy(ts, e->ts_text, 24), 24) : iso_time(e->ts_ms, ts);
  size_t module_len = strlen(e->module), node_len = strlen(e->node);
  /* One reservation for the whole record: every piece at its worst (a byte escaped to six). */
  size_t bound = 160 + tn + 6 * (module_len + e->message_len + e->lang_key_len + node_len + e->source_len) + e->args_len + e->fields_len + e->labels_len;
  if (buf_reserve(out, bound)) return -1;
  uint8_t *start = out->data + out->len, *d = start + 4;
  PUT("E{\"timestamp\":\"");
  memcpy(d, ts, tn), d += tn;
  PUT("\",\"level\":\"");
  const char *ln = LEVEL_NAMES[e->level];
  static const uint8_t LEVEL_LENS[5] = {5, 4, 4, 5, 5};
  size_t lnn = LEVEL_LENS[e->level];
  memcpy(d, ln, lnn), d += lnn;
  PUT("\",\"module\":");
  d += str_to(d, (const uint8_t *)e->module, module_len, e->plain & ENTRY_PLAIN_MODULE);
  PUT(",\"message\":");
  d += str_to(d, e->message, e->message_len, e->plain & ENTRY_PLAIN_MESSAGE);
  if (e->lang_key) PUT(",\"lang_key\":"), d += json_str_to(d, e->lang_key, e->lang_key_len);
  if (e->args_json) PUT(",\"args\":"), memcpy(d, e->args_json, e->args_len), d += e->args_len;
  PUT(",\"node\":");
  d += json_str_to(d, (const uint8_t *)e->node, node_len);
  if (e->source && e->source_len) PUT(",\"source\":"), d += str_to(d, e->source, e->source_len, e->plain & ENTRY_PLAIN_SOURCE);
  if (e->truncated) PUT(",\"truncated\":true");
  if (e->fields_json) PUT(",\"fields\":"), memcpy(d, e->fields_json, e->fields_len), d += e->fields_len;
  if (e->labels_json) PUT(",\"labels\":"), memcpy(d, e->labels_json, e->labels_len), d += e->labels_len;
  *d++ = '}';
  uint32_t len = (uint32_t)(d - start - 4);
  memcpy(start, &len, 4);
  out->len += (size_t)(d - start);
  return 0;
}

int entry_array_index(const uint8_t *s, size_t n, double *v) {
  if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) return 0;
  double r = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    r = r * 10 + (s[i] - '0');
  }
  *v = r;
  return r <= 4294967294.0;
}

uint32_t entry_key_hash(const uint8_t *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
  return h;
}

/*
 * The serial console format (console.h): framing, decoding, console-line parsing, oops grouping and
 * boot banners, and the records they make. Every step has the same shape in the JS twin
 * (agent/buffer/console/), which matches the same bytes in the same order: the matchers below are
 * hand-written forms of regular expressions (named above each), with JavaScript's meaning of \s
 * (Unicode white space and line terminators), \d and \w (ASCII), and /i (ASCII letters only, as
 * without the u flag). The text they read is valid UTF-8 (decoded), so byte offsets stand for
 * characters; UTF-16 units are counted where a bound is in units.
 *
 * Records, in the order the input emitted its drafts before:
 *   a routine line   level/module from the text (parse on), fields mono_ms, kernel_time,
 *                    device_time, partial (idle | max_bytes | close), invalid_encoding;
 *   an oops group    'U' note (the next record is urgent: the pipeline's priority lane), then FATAL,
 *                    the lines joined by real newlines (multiline), fields event kernel_<kind>,
 *                    lines, ended_by, mono_ms, kernel_time;
 *   a boot banner    WARN, the text after the kernel prefix, fields event boot, boot_stage,
 *                    boot_count, mono_ms, kernel_time.
 * mono_ms is the read's monotonic time rounded to µs, kept strictly increasing in 1 µs steps so that
 * the order stays recoverable after an oops overtook routine lines.
 */
#define _GNU_SOURCE /* memmem */
#include "console.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { END_SEP = 0, END_IDLE = 1, END_MAX = 2, END_CLOSE = 3 };
static const char *const END_NAMES[] = {"separator", "idle", "max_bytes", "close"};
enum { F_NONE = 0, F_KERNEL, F_LOGLOOM, F_ESP, F_ZEPHYR, F_LEVEL };
enum { K_NONE = 0, K_OOPS, K_PANIC, K_BUG, K_CALL_TRACE };
static const char *const KIND_EVENTS[] = {"", "kernel_oops", "kernel_panic", "kernel_bug", "kernel_call_trace"};
enum { G_END_MARKER = 0, G_IDLE, G_MAX_LINES, G_REBOOT, G_CLOSE };
static const char *const GROUP_ENDS[] = {"end_marker", "idle", "max_lines", "reboot", "close"};
const char *const SERIAL_COUNTER_NAMES[SERIAL_COUNTERS] = {"invalid_lines", "partial_lines", "oops_groups", "boots", "pending_bytes", "open_group_lines"};

struct serial_state {
  serial_opts_t o;
  uint8_t *sep;
  /* framing: the line in progress (at most max_line_bytes) and when its first byte arrived */
  buf_t pend, cat;
  double pend_wall, pend_mono;
  int skip_lf; /* the last read ended with a \r: a \n starting the next read belongs to it */
  double last_mono;
  /* one line: decoded text, ANSI stripped; fields' JSON and one cleaned value */
  buf_t text, plain, fj, fv;
  /* the open oops group: its first line's times, its text joined (kept up to max_message_bytes) */
  int g_kind, g_has_kt;
  double g_lines, g_wall, g_mono, g_kt;
  buf_t g_text;
  /* counters */
  double invalid_lines, partial_lines, oops_groups, boots;
};

/* ---- characters ---- */

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_alpha(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_word(uint8_t c) { return is_alpha(c) || is_digit(c) || c == '_'; }
static int is_tag(uint8_t c) { return is_word(c) || c == '.' || c == '-'; }
static int is_upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }
/* Bytes of the character that starts with lead byte c (valid UTF-8). */
static size_t char_len(uint8_t c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* Bytes of the \s character at s[i] (JS: WhiteSpace and LineTerminator), 0 when it is not one. */
static size_t ws_at(const uint8_t *s, size_t i, size_t n) {
  if (i >= n) return 0;
  uint8_t c = s[i];
  if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return 1;
  if (c == 0xC2) return i + 1 < n && s[i + 1] == 0xA0 ? 2 : 0; /* U+00A0 */
  if (c < 0xE1 || c > 0xEF || i + 2 >= n) return 0;
  uint8_t a = s[i + 1], b = s[i + 2];
  switch (c) {
    case 0xE1: return a == 0x9A && b == 0x80 ? 3 : 0; /* U+1680 */
    case 0xE2:
      /* U+2000..U+200A, U+2028, U+2029, U+202F, U+205F */
      if (a == 0x80) return (b >= 0x80 && b <= 0x8A) || b == 0xA8 || b == 0xA9 || b == 0xAF ? 3 : 0;
      return a == 0x81 && b == 0x9F ? 3 : 0;
    case 0xE3: return a == 0x80 && b == 0x80 ? 3 : 0; /* U+3000 */
    case 0xEF: return a == 0xBB && b == 0xBF ? 3 : 0; /* U+FEFF */
    default: return 0;
  }
}
static size_t skip_ws(const uint8_t *s, size_t i, size_t n) {
  size_t w;
  while ((w = ws_at(s, i, n))) i += w;
  return i;
}
/* A line terminator (what `.` does not match without the s flag): \n, \r, U+2028, U+2029. */
static int is_lt(const uint8_t *s, size_t i, size_t n) {
  return s[i] == '\n' || s[i] == '\r' || (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9));
}
/* Whether s[i..] starts with the ASCII text w (ci: ASCII case-insensitively). */
static int lit(const uint8_t *s, size_t i, size_t n, const char *w, int ci) {
  size_t k = strlen(w);
  if (i + k > n) return 0;
  for (size_t j = 0; j < k; j++) {
    uint8_t a = s[i + j], b = (uint8_t)w[j];
    if (a == b) continue;
    if (!ci || !is_alpha(a) || (a | 0x20) != (b | 0x20)) return 0;
  }
  return 1;
}
static int digits(const uint8_t *s, size_t i, size_t n, size_t k) {
  if (i + k > n) return 0;
  for (size_t j = 0; j < k; j++)
    if (!is_digit(s[i + j])) return 0;
  return 1;
}
/* \b at i: a word character on exactly one side (the left one is known to be a word character here). */
static int boundary_after_word(const uint8_t *s, size_t i, size_t n) { return i >= n || !is_word(s[i]); }

/* ---- ANSI: /\x1b(?:\[[0-9;?]*[ -\/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g ---- */

/* Length of the escape sequence at s[i] (an ESC), 0 when none matches there. */
static size_t ansi_at(const uint8_t *s, size_t i, size_t n) {
  size_t j = i + 1;
  if (j >= n) return 0;
  uint8_t c = s[j];
  if (c == '[') {
    size_t k = j + 1;
    while (k < n && (is_digit(s[k]) || s[k] == ';' || s[k] == '?')) k++;
    while (k < n && s[k] >= 0x20 && s[k] <= 0x2f) k++;
    return k < n && s[k] >= 0x40 && s[k] <= 0x7e ? k + 1 - i : 0;
  }
  if (c == ']') {
    size_t k = j + 1;
    while (k < n && s[k] != 0x07 && s[k] != 0x1b) k++;
    if (k < n && s[k] == 0x07) return k + 1 - i;
    if (k + 1 < n && s[k] == 0x1b && s[k + 1] == '\\') return k + 2 - i;
    return 2; /* ']' is in the third alternative's range \\-_ */
  }
  return (c >= 0x40 && c <= 0x5a) || (c >= 0x5c && c <= 0x5f) ? 2 : 0;
}

/* ---- console lines (parse.ts) ---- */

typedef struct {
  int format, level; /* level -1: none */
  size_t msg;        /* the message is the text from here */
  const uint8_t *mod;
  size_t mod_len; /* 0: none */
  const uint8_t *dt;
  size_t dt_len; /* device time; 0: none */
  int has_kt;
  double kt;
} parsed_t;

/* A run of ASCII letters at p that is one of the level words (TRACE|DEBUG|DBG|INFO|INF|NOTICE|WARN|WARNING|WRN|
 * ERROR|ERR|CRIT|CRITICAL|ALERT|FATAL|PANIC|EMERG): what follows each use is never a letter, so the
 * alternation matches the whole run. ci: any case, else upper case only. Level, or -1; *end after the word. */
static int level_word(const uint8_t *s, size_t p, size_t n, int ci, size_t *end) {
  size_t q = p;
  while (q < n && q - p < 9 && is_alpha(s[q])) q++;
  if (q == p || q - p > 8) return -1;
  if (!ci)
    for (size_t i = p; i < q; i++)
      if (!is_upper(s[i])) return -1;
  *end = q;
  return parse_level(s + p, q - p);
}

/*
 * TIME_PREFIX: (?:(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\s+)?
 * Where the text after it starts (0: no prefix), and the time's end. No part of it can give back
 * characters to let the rest match (each is followed by what it cannot match), so one pass decides.
 */
static size_t time_prefix(const uint8_t *s, size_t n, int ci, size_t *time_end) {
  size_t q;
  if (digits(s, 0, n, 4) && n > 4 && s[4] == '-' && digits(s, 5, n, 2) && n > 7 && s[7] == '-' && digits(s, 8, n, 2) && n > 10 &&
      (s[10] == 'T' || s[10] == ' ' || (ci && s[10] == 't')) && digits(s, 11, n, 2) && n > 13 && s[13] == ':' && digits(s, 14, n, 2) &&
      n > 16 && s[16] == ':' && digits(s, 17, n, 2)) {
    q = 19;
    if (q + 1 < n && (s[q] == '.' || s[q] == ',') && is_digit(s[q + 1])) {
      q++;
      while (q < n && is_digit(s[q])) q++;
    }
    if (q < n && (s[q] == 'Z' || (ci && s[q] == 'z'))) q++;
    else if (q < n && (s[q] == '+' || s[q] == '-') && digits(s, q + 1, n, 2)) {
      size_t r = q + 3;
      if (r < n && s[r] == ':') r++;
      if (digits(s, r, n, 2)) q = r + 2;
    }
  } else if (digits(s, 0, n, 2) && n > 2 && s[2] == ':' && digits(s, 3, n, 2) && n > 5 && s[5] == ':' && digits(s, 6, n, 2)) {
    q = 8;
    if (q + 1 < n && (s[q] == '.' || s[q] == ',') && is_digit(s[q + 1])) {
      q++;
      while (q < n && is_digit(s[q])) q++;
    }
  } else
    return 0;
  size_t w = skip_ws(s, q, n);
  if (w == q) return 0;
  *time_end = q;
  return w;
}

/* The level forms, tried in order: LEVEL_BRACKETED /^TIME[\[<](WORD)[\]>]:?\s*(.*)$/is,
 * LEVEL_COLON /^TIME(WORD):\s*(.*)$/is, LEVEL_WORD /^TIME(WORD)\s+(.*)$/s; then MODULE_TAG on the message. */
static int level_forms(const uint8_t *s, size_t n, parsed_t *r) {
  for (int form = 0; form < 3; form++) {
    int ci = form < 2;
    size_t te = 0, p = time_prefix(s, n, ci, &te), q = 0;
    int lvl = -1;
    if (form == 0) {
      if (p < n && (s[p] == '[' || s[p] == '<')) {
        lvl = level_word(s, p + 1, n, 1, &q);
        if (lvl >= 0 && q < n && (s[q] == ']' || s[q] == '>')) {
          q++;
          if (q < n && s[q] == ':') q++;
          q = skip_ws(s, q, n);
        } else
          lvl = -1;
      }
    } else if (form == 1) {
      lvl = level_word(s, p, n, 1, &q);
      if (lvl >= 0 && q < n && s[q] == ':') q = skip_ws(s, q + 1, n);
      else lvl = -1;
    } else {
      lvl = level_word(s, p, n, 0, &q);
      size_t w = lvl >= 0 ? skip_ws(s, q, n) : q;
      if (w > q) q = w;
      else lvl = -1;
    }
    if (lvl < 0) continue;
    r->format = F_LEVEL, r->level = lvl, r->msg = q;
    if (p > 0) r->dt = s, r->dt_len = te;
    /* MODULE_TAG: /^\[([A-Za-z][A-Za-z0-9_.-]{0,15})\]\s*(.*)$/s */
    if (q < n && s[q] == '[' && q + 1 < n && is_alpha(s[q + 1])) {
      size_t t = q + 2;
      while (t < n && t - q - 1 < 16 && is_tag(s[t])) t++;
      if (t < n && s[t] == ']') r->mod = s + q + 1, r->mod_len = t - q - 1, r->msg = skip_ws(s, t + 1, n);
    }
    return 1;
  }
  return 0;
}

/* LOGLOOM: /^\[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[([A-Za-z0-9_.-]{1,16})\] (\d{4}-\d{2}-\d{2}T\S+) ?(.*)$/s */
static int logloom_form(const uint8_t *s, size_t n, parsed_t *r) {
  static const char *const NAMES[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  size_t q = 1;
  while (q < n && is_upper(s[q])) q++;
  int lvl = -1;
  for (int i = 0; i < 5; i++)
    if (strlen(NAMES[i]) == q - 1 && memcmp(s + 1, NAMES[i], q - 1) == 0) lvl = i;
  if (lvl < 0 || !lit(s, q, n, "] [", 0)) return 0;
  size_t m = q + 3, t = m;
  while (t < n && t - m < 16 && is_tag(s[t])) t++;
  if (t == m || !lit(s, t, n, "] ", 0)) return 0;
  size_t d = t + 2;
  if (!(digits(s, d, n, 4) && lit(s, d + 4, n, "-", 0) && digits(s, d + 5, n, 2) && lit(s, d + 7, n, "-", 0) && digits(s, d + 8, n, 2) &&
        lit(s, d + 10, n, "T", 0)))
    return 0;
  size_t e = d + 11;
  while (e < n && !ws_at(s, e, n)) e += char_len(s[e]);
  if (e == d + 11) return 0;
  r->format = F_LOGLOOM, r->level = lvl, r->mod = s + m, r->mod_len = t - m, r->dt = s + d, r->dt_len = e - d;
  r->msg = e < n && s[e] == ' ' ? e + 1 : e;
  return 1;
}

/* ZEPHYR: /^\[(\d{2}:\d{2}:\d{2}\.\d{3},\d{3})\] <(err|wrn|inf|dbg)> ([\w.-]{1,32}): ?(.*)$/s */
static int zephyr_form(const uint8_t *s, size_t n, parsed_t *r) {
  static const char SHAPE[] = "[dd:dd:dd.ddd,ddd] <";
  size_t k = sizeof SHAPE - 1;
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++)
    if (SHAPE[i] == 'd' ? !is_digit(s[i]) : s[i] != (uint8_t)SHAPE[i]) return 0;
  int lvl = lit(s, k, n, "err> ", 0) ? 3 : lit(s, k, n, "wrn> ", 0) ? 2 : lit(s, k, n, "inf> ", 0) ? 1 : lit(s, k, n, "dbg> ", 0) ? 0 : -1;
  if (lvl < 0) return 0;
  size_t m = k + 5, t = m;
  while (t < n && t - m < 32 && is_tag(s[t])) t++;
  if (t == m || t >= n || s[t] != ':') return 0;
  r->format = F_ZEPHYR, r->level = lvl, r->dt = s + 1, r->dt_len = 16, r->mod = s + m, r->mod_len = t - m;
  r->msg = t + 1 < n && s[t + 1] == ' ' ? t + 2 : t + 1;
  return 1;
}

/* ESP_IDF: /^([EWIDV]) \((\d+)\) ([^:\s][^:]{0,31}): ?(.*)$/s, the module trimmed (String#trim: \s) */
static int esp_form(const uint8_t *s, size_t n, parsed_t *r) {
  static const char LETTERS[] = "EWIDV";
  static const int LEVELS[] = {3, 2, 1, 0, 0};
  const char *l = n > 0 ? memchr(LETTERS, s[0], 5) : NULL;
  if (!l || !lit(s, 1, n, " (", 0)) return 0;
  size_t q = 3;
  while (q < n && is_digit(s[q])) q++;
  if (q == 3 || !lit(s, q, n, ") ", 0)) return 0;
  size_t m = q + 2;
  if (m >= n || s[m] == ':' || ws_at(s, m, n)) return 0;
  size_t t = m, units = 0, trimmed = m;
  while (t < n && s[t] != ':') {
    size_t w = ws_at(s, t, n), cl = char_len(s[t]);
    units += cl == 4 ? 2 : 1;
    t += cl;
    if (!w) trimmed = t;
  }
  if (t >= n || units > 32) return 0;
  r->format = F_ESP, r->level = LEVELS[l - LETTERS], r->dt = s + 3, r->dt_len = q - 3, r->mod = s + m, r->mod_len = trimmed - m;
  r->msg = t + 1 < n && s[t + 1] == ' ' ? t + 2 : t + 1;
  return 1;
}

/*
 * KERNEL: /^(?:<(\d{1,3})>)?(?:\[\s*(\d{1,10}\.\d{1,9})\]\s?)?/ first; a line with that prefix is a
 * kernel line (level from the priority, if any; nothing else read). Else Logloom's and Zephyr's
 * forms (a line starting with '['), ESP-IDF's, then the level forms.
 */
static void parse_console(const uint8_t *s, size_t n, parsed_t *r) {
  memset(r, 0, sizeof *r);
  r->level = -1;
  size_t p = 0;
  int pri = -1;
  if (n > 0 && s[0] == '<') {
    size_t q = 1;
    int v = 0;
    while (q < n && q <= 3 && is_digit(s[q])) v = v * 10 + (s[q++] - '0');
    if (q > 1 && q < n && s[q] == '>') pri = v, p = q + 1;
  }
  if (p < n && s[p] == '[') {
    size_t q = skip_ws(s, p + 1, n), d0 = q;
    while (q < n && q - d0 < 10 && is_digit(s[q])) q++;
    if (q > d0 && q < n && s[q] == '.') {
      size_t f0 = ++q;
      while (q < n && q - f0 < 9 && is_digit(s[q])) q++;
      if (q > f0 && q < n && s[q] == ']') {
        char num[24];
        memcpy(num, s + d0, q - d0);
        num[q - d0] = 0;
        r->has_kt = 1, r->kt = strtod(num, NULL);
        q++;
        p = q + ws_at(s, q, n);
      }
    }
  }
  if (p > 0) {
    r->format = F_KERNEL, r->msg = p;
    if (pri >= 0) r->level = syslog_level(pri & 7);
    return;
  }
  if (n > 0 && s[0] == '[') {
    if (logloom_form(s, n, r) || zephyr_form(s, n, r)) return;
  } else if (n > 2 && s[1] == ' ' && s[2] == '(' && esp_form(s, n, r))
    return;
  level_forms(s, n, r);
}

/* ---- markers (oops.ts) ---- */

/* START: /^Kernel panic\b/ panic, /^(?:Internal error: )?Oops\b/ and /^Unable to handle kernel\b/ oops,
 * /^BUG:/ bug, /^Call Trace:/i call_trace. */
static int oops_kind(const uint8_t *s, size_t n) {
  if (lit(s, 0, n, "Kernel panic", 0) && boundary_after_word(s, 12, n)) return K_PANIC;
  size_t o = lit(s, 0, n, "Internal error: ", 0) ? 16 : 0;
  if (lit(s, o, n, "Oops", 0) && boundary_after_word(s, o + 4, n)) return K_OOPS;
  if (lit(s, 0, n, "Unable to handle kernel", 0) && boundary_after_word(s, 23, n)) return K_OOPS;
  if (lit(s, 0, n, "BUG:", 0)) return K_BUG;
  if (lit(s, 0, n, "Call Trace:", 1)) return K_CALL_TRACE;
  return K_NONE;
}

/* END: /^-+\[ end (?:trace|Kernel panic)\b.*\]-+\s*$/ (`.` stops at line terminators; `$` is the text's end). */
static int is_end_marker(const uint8_t *s, size_t n) {
  size_t q = 0;
  while (q < n && s[q] == '-') q++;
  if (q == 0 || !lit(s, q, n, "[ end ", 0)) return 0;
  q += 6;
  if (lit(s, q, n, "trace", 0)) q += 5;
  else if (lit(s, q, n, "Kernel panic", 0)) q += 12;
  else return 0;
  if (!boundary_after_word(s, q, n)) return 0;
  /* what is left: X ']' '-'+ then white space to the end, X without line terminators */
  size_t e = q, i = q;
  while (i < n) {
    size_t w = ws_at(s, i, n);
    i += w ? w : char_len(s[i]);
    if (!w) e = i;
  }
  size_t d = e;
  while (d > q && s[d - 1] == '-') d--;
  if (d == e || d == q || s[d - 1] != ']') return 0;
  for (size_t k = q; k < d - 1; k += char_len(s[k]))
    if (is_lt(s, k, n)) return 0;
  return 1;
}

/* BOOT: /^Linux version \d/ kernel, /^U-Boot (?:SPL )?\d{4}\.\d{2}/ bootloader. 0: none, 1 kernel, 2 bootloader. */
static int boot_stage(const uint8_t *s, size_t n) {
  if (lit(s, 0, n, "Linux version ", 0) && digits(s, 14, n, 1)) return 1;
  if (lit(s, 0, n, "U-Boot ", 0)) {
    size_t q = lit(s, 7, n, "SPL ", 0) ? 11 : 7;
    if (digits(s, q, n, 4) && lit(s, q + 4, n, ".", 0) && digits(s, q + 5, n, 2)) return 2;
  }
  return 0;
}

/* ---- records ---- */

/* Math.round (halves up), exactly. */
static double js_round(double x) {
  double r = floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

static int put_str(buf_t *b, const char *s) { return buf_put(b, s, strlen(s)); }
static int put_num(buf_t *b, double v) {
  char t[32];
  return buf_put(b, t, js_number(v, t));
}
/* The fields object: fields_start, then members (comma-separated), closed by emit. */
static int fields_start(serial_state_t *s) {
  s->fj.len = 0;
  return buf_put(&s->fj, "{", 1);
}
static int field_key(serial_state_t *s, const char *key) {
  return (s->fj.len > 1 && buf_put(&s->fj, ",", 1)) || buf_put(&s->fj, "\"", 1) || put_str(&s->fj, key) || buf_put(&s->fj, "\":", 2);
}
/* A string value as buildEntry keeps it: controls escaped, cut at 1024 UTF-16 units. */
static int field_str(serial_state_t *s, const char *key, const uint8_t *v, size_t n) {
  s->fv.len = 0;
  return field_key(s, key) || put_clean(&s->fv, v, n, ENTRY_MAX_ARG_UNITS) || json_str(&s->fj, s->fv.data, s->fv.len);
}
static int field_text(serial_state_t *s, const char *key, const char *v) { return field_str(s, key, (const uint8_t *)v, strlen(v)); }
static int field_num(serial_state_t *s, const char *key, double v) { return field_key(s, key) || put_num(&s->fj, v); }

/* One entry (codec_emit, a multiline message's newlines kept); fields: s->fj, closed here. */
static int emit(codec_t *c, int level, const uint8_t *mod, size_t mod_len, const uint8_t *m, size_t mn, double wall, int multiline, buf_t *out) {
  serial_state_t *s = c->serial;
  if (buf_put(&s->fj, "}", 1)) return -1;
  return codec_emit(c, level, mod, mod_len, m, mn, trunc(wall) + 0.0, s->fj.data, s->fj.len, 0, multiline, out);
}

/* A line as the grouper sees it. */
typedef struct {
  const uint8_t *text; /* ANSI stripped, as kept in a group */
  size_t text_len;
  const uint8_t *body; /* after the kernel prefix: what markers are matched against */
  size_t body_len;
  double wall, mono;
  int has_kt;
  double kt;
} cline_t;

static int close_group(codec_t *c, int ended, buf_t *out) {
  serial_state_t *s = c->serial;
  if (!s->g_kind) return 0;
  int kind = s->g_kind;
  s->g_kind = 0;
  s->oops_groups += 1;
  if (fields_start(s) || field_text(s, "event", KIND_EVENTS[kind]) || field_num(s, "lines", s->g_lines) || field_text(s, "ended_by", GROUP_ENDS[ended]) ||
      field_num(s, "mono_ms", s->g_mono) || (s->g_has_kt && field_num(s, "kernel_time", s->g_kt)))
    return -1;
  int rc = codec_note(out, 'U', NULL, 0) || emit(c, 4, NULL, 0, s->g_text.data, s->g_text.len, s->g_wall, 1, out);
  s->g_text.len = 0;
  if (s->g_text.cap > (64u << 10)) free(s->g_text.data), s->g_text = (buf_t){0};
  return rc;
}

/* A line into the open group: its text joined with \n. Only what the message can show is kept: once the
 * text is past max_message_bytes (a line boundary is a character boundary), the rest would be cut anyway. */
static int group_add(codec_t *c, const cline_t *l) {
  serial_state_t *s = c->serial;
  s->g_lines += 1;
  if (s->g_text.len > c->max_message_bytes) return 0;
  return (s->g_text.len && buf_put(&s->g_text, "\n", 1)) || buf_put(&s->g_text, l->text, l->text_len);
}

static int routine(codec_t *c, const cline_t *l, const parsed_t *p, int end, int invalid, buf_t *out) {
  serial_state_t *s = c->serial;
  int parse = s->o.parse;
  if (fields_start(s) || field_num(s, "mono_ms", l->mono) || (parse && p->has_kt && field_num(s, "kernel_time", p->kt)) ||
      (parse && p->dt_len && field_str(s, "device_time", p->dt, p->dt_len)) ||
      (end != END_SEP && field_text(s, "partial", END_NAMES[end])) ||
      (invalid && buf_put(&s->fj, ",\"invalid_encoding\":true", 24)))
    return -1;
  if (s->o.line_notes && codec_note(out, 'L', l->text, l->text_len)) return -1;
  int level = parse && p->level >= 0 ? p->level : c->default_level;
  size_t mo = parse ? p->msg : 0;
  return emit(c, level, parse ? p->mod : NULL, parse ? p->mod_len : 0, l->text + mo, l->text_len - mo, l->wall, 0, out);
}

/* OopsGrouper.feed: boot banners, groups from a start marker to the end marker (or max_lines), other lines. */
static int group_feed(codec_t *c, const cline_t *l, const parsed_t *p, int end, int invalid, buf_t *out) {
  serial_state_t *s = c->serial;
  const uint8_t *b = l->body;
  size_t bn = l->body_len;
  uint8_t c0 = bn ? b[0] : 0;
  int maybe = c0 == 'K' || c0 == 'O' || c0 == 'I' || c0 == 'U' || c0 == 'B' || c0 == 'C' || c0 == 'c' || c0 == 'L' || c0 == '-';
  int stage = maybe && s->o.detect_boot ? boot_stage(b, bn) : 0;
  if (stage) {
    if (close_group(c, G_REBOOT, out)) return -1;
    s->boots += 1;
    const char *name = stage == 1 ? "kernel" : "bootloader";
    if (fields_start(s) || field_text(s, "event", "boot") || field_text(s, "boot_stage", name) || field_num(s, "boot_count", s->boots) ||
        field_num(s, "mono_ms", l->mono) || (l->has_kt && field_num(s, "kernel_time", l->kt)))
      return -1;
    return emit(c, 2, NULL, 0, b, bn, l->wall, 0, out);
  }
  if (!s->o.group_oops) return routine(c, l, p, end, invalid, out);
  if (s->g_kind) {
    if (group_add(c, l)) return -1;
    if (maybe && is_end_marker(b, bn)) return close_group(c, G_END_MARKER, out);
    if (s->g_lines >= s->o.oops_max_lines) return close_group(c, G_MAX_LINES, out);
    return 0;
  }
  int kind = maybe ? oops_kind(b, bn) : K_NONE;
  if (!kind) return routine(c, l, p, end, invalid, out);
  s->g_kind = kind, s->g_lines = 0, s->g_wall = l->wall, s->g_mono = l->mono, s->g_has_kt = l->has_kt, s->g_kt = l->kt;
  s->g_text.len = 0;
  return group_add(c, l);
}

/* One framed line: decoded, counted, parsed, stamped, grouped. */
static int on_line(codec_t *c, const uint8_t *bytes, size_t n, double wall, double mono, int end, buf_t *out) {
  serial_state_t *s = c->serial;
  const uint8_t *t = bytes;
  size_t tn = n;
  int invalid = 0;
  if (s->o.latin1) {
    size_t hi = 0;
    for (size_t i = 0; i < n; i++) hi += bytes[i] >> 7;
    if (hi) {
      s->text.len = 0;
      if (buf_reserve(&s->text, n + hi)) return -1;
      uint8_t *d = s->text.data;
      for (size_t i = 0; i < n; i++) {
        uint8_t b = bytes[i];
        if (b < 0x80) *d++ = b;
        else *d++ = (uint8_t)(0xC0 | (b >> 6)), *d++ = (uint8_t)(0x80 | (b & 0x3f));
      }
      t = s->text.data, tn = n + hi;
    }
  } else if (utf8_valid_prefix(bytes, n) < n) {
    s->text.len = 0;
    if (buf_reserve(&s->text, n * 3 + 1)) return -1;
    tn = utf8_repair(bytes, n, s->text.data);
    t = s->text.data;
    invalid = 1;
  }
  c->lines += 1;
  if (invalid) s->invalid_lines += 1;
  if (end == END_MAX) c->cut += 1;
  else if (end != END_SEP) s->partial_lines += 1;
  if (memchr(t, 0x1b, tn)) {
    s->plain.len = 0;
    if (buf_reserve(&s->plain, tn)) return -1;
    uint8_t *d = s->plain.data;
    for (size_t i = 0; i < tn;) {
      size_t a = t[i] == 0x1b ? ansi_at(t, i, tn) : 0;
      if (a) i += a;
      else *d++ = t[i++];
    }
    tn = (size_t)(d - s->plain.data);
    t = s->plain.data;
  }
  /* parsed even with parse off: the markers are matched after the kernel prefix */
  parsed_t p;
  parse_console(t, tn, &p);
  double m = js_round(mono * 1000) / 1000;
  if (m <= s->last_mono) m = js_round((s->last_mono + 0.001) * 1000) / 1000;
  s->last_mono = m;
  size_t bo = p.format == F_KERNEL ? p.msg : 0;
  cline_t l = {t, tn, t + bo, tn - bo, wall, m, p.has_kt, p.kt};
  return group_feed(c, &l, &p, end, invalid, out);
}

/* ---- framing (LineFramer) ---- */

/* Where to cut a line that is too long: at the bound, stepping back to a UTF-8 character start. */
static size_t cut_point(const serial_state_t *s, const uint8_t *b, size_t start, size_t max) {
  size_t cut = start + max;
  if (!s->o.latin1) {
    size_t back = cut;
    while (back > start && cut - back < 3 && (b[back] & 0xc0) == 0x80) back--;
    if (back > start && (b[back] & 0xc0) != 0x80) cut = back;
  }
  return cut;
}

int serial_feed(codec_t *c, const uint8_t *chunk, size_t len, double wall, double mono, buf_t *out) {
  serial_state_t *s = c->serial;
  if (len == 0) return 0;
  const uint8_t *b;
  size_t bl, scan_from, start = 0, max = c->max_line_bytes;
  if (s->pend.len == 0) {
    b = chunk, bl = len, scan_from = 0;
    s->pend_wall = wall, s->pend_mono = mono;
    if (s->skip_lf && b[0] == '\n') start = scan_from = 1;
  } else {
    s->cat.len = 0;
    if (buf_put(&s->cat, s->pend.data, s->pend.len) || buf_put(&s->cat, chunk, len)) return -1;
    b = s->cat.data, bl = s->cat.len;
    /* a multi-byte separator may straddle the old pending bytes and the new read */
    scan_from = !s->sep ? s->pend.len : s->pend.len + 1 > s->o.sep_len ? s->pend.len + 1 - s->o.sep_len : 0;
  }
  s->skip_lf = 0;
  double lw = s->pend_wall, lm = s->pend_mono;
  for (;;) {
    size_t from = scan_from > start ? scan_from : start, idx = bl, sep_len = 0;
    if (!s->sep) {
      for (size_t i = from; i < bl; i++) {
        if (b[i] == '\n') {
          idx = i, sep_len = 1;
          break;
        }
        if (b[i] == '\r') {
          idx = i;
          if (i + 1 < bl) sep_len = b[i + 1] == '\n' ? 2 : 1;
          else sep_len = 1, s->skip_lf = 1;
          break;
        }
      }
    } else if (bl - from >= s->o.sep_len) {
      const uint8_t *f = memmem(b + from, bl - from, s->sep, s->o.sep_len);
      if (f) idx = (size_t)(f - b), sep_len = s->o.sep_len;
    }
    while (idx - start > max) {
      size_t cut = cut_point(s, b, start, max);
      if (on_line(c, b + start, cut - start, lw, lm, END_MAX, out)) return -1;
      start = cut, lw = wall, lm = mono;
    }
    if (!sep_len) break;
    if (idx > start && on_line(c, b + start, idx - start, lw, lm, END_SEP, out)) return -1;
    start = idx + sep_len, lw = wall, lm = mono;
    if (start >= bl) break;
  }
  s->pend.len = 0;
  if (start < bl && buf_put(&s->pend, b + start, bl - start)) return -1;
  s->pend_wall = lw, s->pend_mono = lm;
  if (s->cat.cap > (64u << 10)) free(s->cat.data), s->cat = (buf_t){0};
  return 0;
}

int serial_flush(codec_t *c, int what, buf_t *out) {
  serial_state_t *s = c->serial;
  if (what != SERIAL_FLUSH_GROUP && s->pend.len) {
    size_t n = s->pend.len;
    s->pend.len = 0;
    /* the bytes stay where they are until the next feed writes pend again */
    if (on_line(c, s->pend.data, n, s->pend_wall, s->pend_mono, what == SERIAL_FLUSH_CLOSE ? END_CLOSE : END_IDLE, out)) return -1;
  }
  if (what != SERIAL_FLUSH_LINE) return close_group(c, what == SERIAL_FLUSH_CLOSE ? G_CLOSE : G_IDLE, out);
  return 0;
}

void serial_counters(const codec_t *c, double v[SERIAL_COUNTERS]) {
  const serial_state_t *s = c->serial;
  v[0] = s->invalid_lines, v[1] = s->partial_lines, v[2] = s->oops_groups, v[3] = s->boots;
  v[4] = (double)s->pend.len, v[5] = s->g_kind ? s->g_lines : 0;
}

int serial_init(codec_t *c, const serial_opts_t *o) {
  serial_state_t *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->o = *o;
  s->last_mono = -1;
  if (o->sep && o->sep_len) {
    s->sep = malloc(o->sep_len);
    if (!s->sep) return free(s), -1;
    memcpy(s->sep, o->sep, o->sep_len);
  }
  s->o.sep = s->sep;
  if (!s->o.oops_max_lines) s->o.oops_max_lines = 1;
  c->serial = s;
  return 0;
}

void serial_free(codec_t *c) {
  serial_state_t *s = c->serial;
  if (!s) return;
  free(s->sep), free(s->pend.data), free(s->cat.data), free(s->text.data), free(s->plain.data);
  free(s->fj.data), free(s->fv.data), free(s->g_text.data);
  free(s);
  c->serial = NULL;
}

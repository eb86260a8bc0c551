/*
 * Syslog messages → entry records, the rules of agent/buffer/syslog/ (see syslog.h) step for step:
 *  - framing (framing.ts): a message starting with a digit is octet-counted (`LEN SP MSG`), any other
 *    runs to the next LF (one CR before it removed); stray CR, LF and NUL between frames are skipped;
 *    a message past max_line_bytes keeps its first max_line_bytes and is cut;
 *  - a message is decoded (invalid UTF-8 → U+FFFD), its trailing CR, LF and NUL removed; an empty one
 *    makes nothing;
 *  - `<PRI>1 ` selects RFC 5424 (strict: a deviation is an error naming the field and column), any
 *    other `<PRI>` RFC 3164 (lenient); no valid PRI is an error. A message with an error is kept as
 *    text at the input's default level, after an 'R' record saying why;
 *  - parsed: severity → level, app-name (tag) → module, timestamp, and the fields facility, severity,
 *    hostname, app_name, procid, msgid, then each structured-data param as sd.<SD-ID>.<name> (an
 *    element without params as sd.<SD-ID>), in the order they come; a repeated key keeps its first
 *    place and its last value; at most 64 fields (buildEntry's bound), keys cut at 64 UTF-16 units,
 *    values escaped and cut at 1024.
 * Columns in error messages count UTF-16 units from 1, as the JS text they mirror does.
 */
#include "syslog.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void syslog_init(void) { tzset(); }

/* ---- framing (RFC 6587) ---- */

enum { SL_START, SL_COUNT, SL_OCTETS, SL_LINE };
#define SL_MAX_LENGTH_DIGITS 10

static int is_digit(uint8_t b) { return b >= '0' && b <= '9'; }

/* Keeps what fits of the message in progress; past the bound the message is cut. */
static void sl_keep(codec_t *c, const uint8_t *p, size_t n) {
  size_t room = c->max_line_bytes - c->pending_len;
  if (n > room) c->sl_cut = 1, n = room;
  if (n) memcpy(c->pending + c->pending_len, p, n), c->pending_len += n;
}

static int sl_emit(codec_t *c, double ms, buf_t *out) {
  size_t n = c->pending_len;
  if (c->sl_state == SL_LINE && !c->sl_cut && n > 0 && c->pending[n - 1] == '\r') n--;
  int cut = c->sl_cut;
  c->pending_len = 0;
  c->sl_cut = 0;
  c->sl_state = SL_START;
  return n > 0 ? syslog_message(c, c->pending, n, cut, ms, out) : 0;
}

int syslog_feed(codec_t *c, const uint8_t *s, size_t len, double ms, buf_t *out) {
  size_t i = 0;
  while (i < len) {
    switch (c->sl_state) {
      case SL_START: {
        uint8_t b = s[i];
        /* stray line ends between frames (some senders add LF after octet-counted frames) */
        if (b == '\n' || b == '\r' || b == 0) i++;
        else c->sl_state = is_digit(b) ? SL_COUNT : SL_LINE;
        break;
      }
      case SL_COUNT: {
        uint8_t b = s[i];
        if (is_digit(b) && c->sl_ndigits < SL_MAX_LENGTH_DIGITS) {
          c->sl_digits[c->sl_ndigits++] = b;
          i++;
        } else if (b == ' ' && c->sl_ndigits > 0) {
          i++;
          uint64_t v = 0;
          for (int k = 0; k < c->sl_ndigits; k++) v = v * 10 + (uint64_t)(c->sl_digits[k] - '0');
          c->sl_ndigits = 0;
          c->sl_remaining = v;
          c->sl_state = v ? SL_OCTETS : SL_START;
        } else {
          /* not a length after all: the digits were the start of a newline-framed message */
          c->sl_state = SL_LINE;
          sl_keep(c, c->sl_digits, (size_t)c->sl_ndigits);
          c->sl_ndigits = 0;
        }
        break;
      }
      case SL_OCTETS: {
        size_t take = len - i < c->sl_remaining ? len - i : (size_t)c->sl_remaining;
        sl_keep(c, s + i, take);
        i += take;
        c->sl_remaining -= take;
        if (c->sl_remaining == 0 && sl_emit(c, ms, out)) return -1;
        break;
      }
      case SL_LINE: {
        const uint8_t *nl = memchr(s + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - s) : len;
        sl_keep(c, s + i, end - i);
        if (!nl) i = len;
        else {
          i = end + 1;
          if (sl_emit(c, ms, out)) return -1;
        }
        break;
      }
    }
  }
  return 0;
}

int syslog_end(codec_t *c, double ms, buf_t *out) {
  if (c->sl_state == SL_COUNT && c->sl_ndigits) {
    sl_keep(c, c->sl_digits, (size_t)c->sl_ndigits);
    c->sl_ndigits = 0;
  }
  if (c->sl_state == SL_OCTETS) c->sl_cut = 1;
  int rc = c->pending_len > 0 || c->sl_cut ? sl_emit(c, ms, out) : 0;
  c->sl_state = SL_START;
  return rc;
}

/* ---- text: valid UTF-8 measured and read the way the JS twin's strings are ---- */

static size_t char_len(uint8_t b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }
static size_t char_units(uint8_t b) { return b >= 0xF0 ? 2 : 1; }

/* UTF-16 units of s[0..n). */
static size_t units(const uint8_t *s, size_t n) {
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) u += char_units(s[i]);
  return u;
}

int js_space(const uint8_t *s, size_t n, size_t i) {
  uint8_t b = s[i];
  if (b == ' ' || (b >= 0x09 && b <= 0x0d)) return 1;
  if (b < 0x80) return 0;
  if (b == 0xC2) return i + 1 < n && s[i + 1] == 0xA0; /* U+00A0 */
  if (i + 2 >= n) return 0;
  uint8_t b1 = s[i + 1], b2 = s[i + 2];
  if (b == 0xE1) return b1 == 0x9A && b2 == 0x80; /* U+1680 */
  /* U+2000..U+200A, U+2028, U+2029, U+202F, U+205F */
  if (b == 0xE2) return (b1 == 0x80 && (b2 <= 0x8A || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF)) || (b1 == 0x81 && b2 == 0x9F);
  if (b == 0xE3) return b1 == 0x80 && b2 == 0x80; /* U+3000 */
  if (b == 0xEF) return b1 == 0xBB && b2 == 0xBF; /* U+FEFF */
  return 0;
}

/* RFC 5424 PRINTUSASCII, 1..max characters. */
static int print_ascii(const uint8_t *s, size_t n, size_t max) {
  if (n < 1 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 33 || s[i] > 126) return 0;
  return 1;
}

static int digits_at(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_digit(s[i])) return 0;
  return 1;
}
static int two_digits(const uint8_t *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* ---- an error message, as the JS parser words it ---- */

typedef struct {
  char s[256];
  size_t n;
} why_t;

static void why_put(why_t *w, const void *p, size_t n) {
  if (n > sizeof w->s - w->n) n = sizeof w->s - w->n;
  memcpy(w->s + w->n, p, n);
  w->n += n;
}
static void why_str(why_t *w, const char *s) { why_put(w, s, strlen(s)); }
static void why_num(why_t *w, uint64_t v) {
  char d[24];
  why_put(w, d, (size_t)snprintf(d, sizeof d, "%llu", (unsigned long long)v));
}

/* ---- timestamps ---- */

/* RFC 5424 TIMESTAMP (parse5424.ts parseTimestamp5424): YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|+HH:MM|-HH:MM). */
static int ts_5424(const uint8_t *s, size_t n, double *ms) {
  if (n < 20 || !digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) || s[7] != '-' || !digits_at(s + 8, 2) || s[10] != 'T' ||
      !digits_at(s + 11, 2) || s[13] != ':' || !digits_at(s + 14, 2) || s[16] != ':' || !digits_at(s + 17, 2))
    return -1;
  size_t p = 19;
  int frac = 0;
  if (s[p] == '.') {
    size_t q = p + 1;
    while (q < n && is_digit(s[q])) q++;
    size_t k = q - p - 1;
    if (k < 1 || k > 6) return -1;
    /* the milliseconds are the first three digits (Math.floor of the fraction times 1000 gives exactly those) */
    for (size_t i = 0; i < 3; i++) frac = frac * 10 + (i < k ? s[p + 1 + i] - '0' : 0);
    p = q;
  }
  int64_t off = 0;
  if (p < n && s[p] == 'Z') p++;
  else if (p < n && (s[p] == '+' || s[p] == '-')) {
    if (p + 6 > n || !digits_at(s + p + 1, 2) || s[p + 3] != ':' || !digits_at(s + p + 4, 2)) return -1;
    off = (s[p] == '-' ? -1 : 1) * (two_digits(s + p + 1) * 60 + two_digits(s + p + 4));
    p += 6;
  } else return -1;
  if (p != n) return -1;
  int y = two_digits(s) * 100 + two_digits(s + 2), mo = two_digits(s + 5), d = two_digits(s + 8), h = two_digits(s + 11),
      mi = two_digits(s + 14), sec = two_digits(s + 17);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  if (y <= 99) y += 1900; /* Date.UTC's rule for years 0..99 */
  *ms = (double)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 + (int64_t)h * 3600000 + (int64_t)mi * 60000 +
                 (int64_t)(sec > 59 ? 59 : sec) * 1000 + frac - off * 60000);
  return 0;
}

/* The local time zone's offset (ms) at UTC instant u. */
static double local_offset(double u) {
  time_t t = (time_t)floor(u / 1000);
  struct tm tm;
  if (!localtime_r(&t, &tm)) return 0;
  return (double)tm.tm_gmtoff * 1000;
}

static struct tm local_tm(double u) {
  time_t t = (time_t)floor(u / 1000);
  struct tm tm = {0};
  localtime_r(&t, &tm);
  return tm;
}

/*
 * Local wall time (ms as if UTC) → UTC, as `new Date(y, m, d, …)` does (ECMA-262 UTC(t)): a time
 * that occurs twice (clocks going back) is the earlier instant, a time skipped (clocks going
 * forward) is read with the offset from before the change. The offsets a day either side are
 * the ones around any change near it.
 */
static double local_to_utc(double wall) {
  double a = local_offset(wall - 86400000.0), b = local_offset(wall + 86400000.0);
  int va = local_offset(wall - a) == a, vb = local_offset(wall - b) == b;
  if (va && vb) return wall - (a > b ? a : b);
  if (va) return wall - a;
  if (vb) return wall - b;
  return wall - (a < b ? a : b);
}

/* parse3164.ts bsdDate: the sender's local time, in the receive time's year, or the year before
 * when that puts it over a week ahead; -1 when not a date. */
static int bsd_date(int mon, int day, int h, int mi, int s, int ms, double now, double *out) {
  if (day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return -1;
  int year = local_tm(now).tm_year + 1900;
  double wall_of_day = (double)h * 3600000 + (double)mi * 60000 + (double)s * 1000 + ms;
  double u = local_to_utc((double)days_from_civil(year, (unsigned)mon + 1, (unsigned)day) * 86400000 + wall_of_day);
  if (u - now > 7 * 86400000.0) u = local_to_utc((double)days_from_civil(year - 1, (unsigned)mon + 1, (unsigned)day) * 86400000 + wall_of_day);
  if (local_tm(u).tm_mon != mon) return -1;
  *out = u;
  return 0;
}

/* BSD_TIME at s: `Mmm( |  )D{1,2} HH:MM:SS[.1-6 digits]` then a space (taken) or the end. Returns the length matched, 0 if none. */
static size_t bsd_time(const uint8_t *s, size_t n, int *mon, int *day, int *h, int *mi, int *se, int *ms) {
  static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (n < 4 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'a' || s[1] > 'z' || s[2] < 'a' || s[2] > 'z' || s[3] != ' ') return 0;
  size_t p = 4;
  if (p < n && s[p] == ' ') p++;
  if (p >= n || !is_digit(s[p])) return 0;
  int d = s[p++] - '0';
  if (p < n && is_digit(s[p])) d = d * 10 + (s[p++] - '0');
  if (p + 9 > n || s[p] != ' ' || !digits_at(s + p + 1, 2) || s[p + 3] != ':' || !digits_at(s + p + 4, 2) || s[p + 6] != ':' || !digits_at(s + p + 7, 2))
    return 0;
  *h = two_digits(s + p + 1), *mi = two_digits(s + p + 4), *se = two_digits(s + p + 7);
  p += 9;
  *ms = 0;
  if (p < n && s[p] == '.') {
    size_t q = p + 1;
    while (q < n && is_digit(s[q])) q++;
    size_t k = q - p - 1;
    if (k < 1 || k > 6 || (q < n && s[q] != ' ')) return 0;
    for (size_t i = 0; i < 3; i++) *ms = *ms * 10 + (i < k ? s[p + 1 + i] - '0' : 0);
    p = q;
  } else if (p < n && s[p] != ' ') return 0;
  *mon = -1;
  for (int m = 0; m < 12; m++)
    if (memcmp(MONTHS + 3 * m, s, 3) == 0) *mon = m;
  *day = d;
  return p < n ? p + 1 : p;
}

/* TAG at s: `tag[pid]:` then a space (taken) or the end; the tag has no JS whitespace, [ ] or :, 1..48
 * UTF-16 units; the pid no ] or whitespace, 1..128 units. Returns the length matched, 0 if none. */
static size_t tag_match(const uint8_t *s, size_t n, size_t *tag_len, size_t *pid_off, size_t *pid_len) {
  size_t i = 0, u = 0;
  while (i < n && s[i] != '[' && s[i] != ']' && s[i] != ':' && !js_space(s, n, i)) {
    if ((u += char_units(s[i])) > 48) return 0;
    i += char_len(s[i]);
  }
  if (u == 0) return 0;
  *tag_len = i;
  *pid_len = 0;
  if (i < n && s[i] == '[') {
    size_t j = i + 1, pu = 0;
    while (j < n && s[j] != ']' && !js_space(s, n, j) && pu + char_units(s[j]) <= 128) pu += char_units(s[j]), j += char_len(s[j]);
    if (pu > 0 && j < n && s[j] == ']') *pid_off = i + 1, *pid_len = j - i - 1, i = j + 1;
  }
  if (i >= n || s[i] != ':') return 0;
  i++;
  if (i < n && s[i] != ' ') return 0;
  return i < n ? i + 1 : i;
}

/* ---- fields ---- */

#define SL_MAX_FIELDS 64 /* buildEntry's MAX_FIELDS */

typedef struct {
  size_t ko, kl, vo, vl; /* key in c->sk, value in c->sv */
  int num;               /* the value is a number's digits, written as they are (the sender's pid and uid) */
} sl_field_t;

typedef struct {
  sl_field_t f[SL_MAX_FIELDS];
  int n;
} sl_fields_t;

/* The key just built at c->sk[ko..] gets the value c->sv[vo..vo+vl]: a known key keeps its place and takes
 * the value; a new one is added while there is room (later keys are left out, as buildEntry leaves them). */
static void fld_commit(codec_t *c, sl_fields_t *fs, size_t ko, size_t vo, size_t vl, int num) {
  size_t kl = c->sk.len - ko;
  for (int i = 0; i < fs->n; i++)
    if (fs->f[i].kl == kl && memcmp(c->sk.data + fs->f[i].ko, c->sk.data + ko, kl) == 0) {
      fs->f[i].vo = vo, fs->f[i].vl = vl, fs->f[i].num = num;
      c->sk.len = ko;
      return;
    }
  if (fs->n < SL_MAX_FIELDS) fs->f[fs->n++] = (sl_field_t){ko, kl, vo, vl, num};
  else c->sk.len = ko;
}

static int fld_set(codec_t *c, sl_fields_t *fs, const char *key, const uint8_t *v, size_t vn) {
  size_t ko = c->sk.len, vo = c->sv.len;
  if (buf_put(&c->sk, key, strlen(key)) || buf_put(&c->sv, v, vn)) return -1;
  fld_commit(c, fs, ko, vo, vn, 0);
  return 0;
}

static int fld_set_int(codec_t *c, sl_fields_t *fs, const char *key, int32_t v) {
  char d[16];
  int n = snprintf(d, sizeof d, "%d", (int)v);
  size_t ko = c->sk.len, vo = c->sv.len;
  if (buf_put(&c->sk, key, strlen(key)) || buf_put(&c->sv, d, (size_t)n)) return -1;
  fld_commit(c, fs, ko, vo, (size_t)n, 1);
  return 0;
}

/* The sender's credentials of a datagram (codec_feed_datagrams), after the message's own fields, as the
 * devlog input adds them: pid when above 0, uid when 0 or above. */
static int fld_creds(codec_t *c, sl_fields_t *fs) {
  if (!c->dg_creds) return 0;
  return (c->dg_pid > 0 && fld_set_int(c, fs, "pid", c->dg_pid)) || (c->dg_uid >= 0 && fld_set_int(c, fs, "uid", c->dg_uid));
}

/* The fields' JSON object into c->fj: keys cut at 64 units (two keys the cut makes equal are one, first
 * place, last value), values escaped and cut at 1024 units. */
static int fields_json(codec_t *c, sl_fields_t *fs) {
  sl_field_t o[SL_MAX_FIELDS];
  int on = 0;
  for (int i = 0; i < fs->n; i++) {
    sl_field_t f = fs->f[i];
    f.kl = cut_units(c->sk.data + f.ko, f.kl, ENTRY_MAX_KEY_UNITS);
    int j = 0;
    while (j < on && !(o[j].kl == f.kl && memcmp(c->sk.data + o[j].ko, c->sk.data + f.ko, f.kl) == 0)) j++;
    if (j < on) o[j].vo = f.vo, o[j].vl = f.vl, o[j].num = f.num;
    else o[on++] = f;
  }
  c->fj.len = 0;
  if (buf_put(&c->fj, "{", 1)) return -1;
  for (int i = 0; i < on; i++) {
    c->fv.len = 0;
    if ((i && buf_put(&c->fj, ",", 1)) || json_str(&c->fj, c->sk.data + o[i].ko, o[i].kl) || buf_put(&c->fj, ":", 1)) return -1;
    if (o[i].num ? buf_put(&c->fj, c->sv.data + o[i].vo, o[i].vl)
                 : put_clean(&c->fv, c->sv.data + o[i].vo, o[i].vl, ENTRY_MAX_ARG_UNITS) || json_str(&c->fj, c->fv.data, c->fv.len))
      return -1;
  }
  return buf_put(&c->fj, "}", 1);
}

/* ---- one message ---- */

typedef struct {
  int facility, severity;
  int has_ts;
  double ts;
  const uint8_t *app;
  size_t app_len;
  const uint8_t *msg;
  size_t msg_len;
  sl_fields_t fields;
} sl_msg_t;

const char *const SYSLOG_FACILITIES[24] = {"kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
                                           "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "audit",  "alert",  "clock",
                                           "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
static const char *const SEVERITIES[8] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

static int fields_start(codec_t *c, sl_msg_t *m) {
  c->sk.len = c->sv.len = 0;
  m->fields.n = 0;
  const char *fa = SYSLOG_FACILITIES[m->facility], *se = SEVERITIES[m->severity];
  return fld_set(c, &m->fields, "facility", (const uint8_t *)fa, strlen(fa)) || fld_set(c, &m->fields, "severity", (const uint8_t *)se, strlen(se));
}

/* The length of an SD-ID or PARAM-NAME at t[p] (RFC 5424 SD-NAME: up to 32 characters, none of ' ', '=', ']', '"'). */
static size_t sd_name(const uint8_t *t, size_t n, size_t p) {
  size_t k = 0;
  while (k < 32 && p + k < n && t[p + k] != ' ' && t[p + k] != '=' && t[p + k] != ']' && t[p + k] != '"') k++;
  return k;
}

/* RFC 5424 structured data at t[*pos] == '[': each element's params become fields. 0, or 1 with why. */
static int parse_sd(codec_t *c, const uint8_t *t, size_t n, size_t *pos, sl_fields_t *fs, why_t *w) {
  size_t p = *pos;
  while (p < n && t[p] == '[') {
    p++;
    size_t id = p, idn = sd_name(t, n, p);
    if (!print_ascii(t + id, idn, 32)) {
      why_str(w, "RFC 5424: STRUCTURED-DATA: bad SD-ID at column "), why_num(w, units(t, p) + 1);
      return 1;
    }
    p += idn;
    int params = 0;
    while (p < n && t[p] == ' ') {
      p++;
      size_t name = p, nn = sd_name(t, n, p);
      if (!print_ascii(t + name, nn, 32)) {
        why_str(w, "RFC 5424: STRUCTURED-DATA: bad PARAM-NAME at column "), why_num(w, units(t, p) + 1);
        return 1;
      }
      p += nn;
      if (p + 1 >= n || t[p] != '=' || t[p + 1] != '"') {
        why_str(w, "RFC 5424: STRUCTURED-DATA: expected =\"value\" after "), why_put(w, t + name, nn), why_str(w, " at column ");
        why_num(w, units(t, p) + 1);
        return 1;
      }
      p += 2;
      /* the value, unescaped: only \" \\ \] are escapes, any other \ is literal */
      size_t vo = c->sv.len;
      for (;;) {
        size_t r = p;
        while (r < n && t[r] != '"' && t[r] != '\\') r++;
        if (r >= n) {
          why_str(w, "RFC 5424: STRUCTURED-DATA: unterminated value of "), why_put(w, t + name, nn);
          return 1;
        }
        if (buf_put(&c->sv, t + p, r - p)) return -1;
        if (t[r] == '"') {
          p = r + 1;
          break;
        }
        int esc = r + 1 < n && (t[r + 1] == '"' || t[r + 1] == '\\' || t[r + 1] == ']');
        if (buf_put(&c->sv, esc ? t + r + 1 : t + r, 1)) return -1;
        p = r + (esc ? 2 : 1);
      }
      size_t ko = c->sk.len;
      if (buf_put(&c->sk, "sd.", 3) || buf_put(&c->sk, t + id, idn) || buf_put(&c->sk, ".", 1) || buf_put(&c->sk, t + name, nn)) return -1;
      fld_commit(c, fs, ko, vo, c->sv.len - vo, 0);
      params++;
    }
    if (p >= n || t[p] != ']') {
      why_str(w, "RFC 5424: STRUCTURED-DATA: expected ] at column "), why_num(w, units(t, p) + 1);
      return 1;
    }
    p++;
    if (!params) {
      size_t ko = c->sk.len;
      if (buf_put(&c->sk, "sd.", 3) || buf_put(&c->sk, t + id, idn)) return -1;
      fld_commit(c, fs, ko, c->sv.len, 0, 0);
    }
  }
  *pos = p;
  return 0;
}

/* RFC 5424 after `<PRI>` (t[p] is the VERSION "1"). 0 parsed, 1 an error (why), -1 out of memory. */
static int parse_5424(codec_t *c, const uint8_t *t, size_t n, size_t p, sl_msg_t *m, why_t *w) {
  static const char *const NAMES[5] = {"TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"};
  static const size_t MAX[5] = {64, 255, 48, 128, 32};
  const uint8_t *tok[5];
  size_t tn[5];
  p++; /* the version */
  /* Everything before a header field is ASCII (PRI, version, checked fields): a byte is a column. */
  for (int i = 0; i < 5; i++) {
    if (p >= n || t[p] != ' ') {
      why_str(w, "RFC 5424: expected a space before "), why_str(w, NAMES[i]), why_str(w, " at column "), why_num(w, p + 1);
      return 1;
    }
    p++;
    const uint8_t *sp = memchr(t + p, ' ', n - p);
    size_t end = sp ? (size_t)(sp - t) : n;
    if (!print_ascii(t + p, end - p, MAX[i])) {
      why_str(w, "RFC 5424: bad "), why_str(w, NAMES[i]), why_str(w, " at column "), why_num(w, p + 1);
      return 1;
    }
    tok[i] = t + p, tn[i] = end - p;
    p = end;
  }
  int nil[5];
  for (int i = 0; i < 5; i++) nil[i] = tn[i] == 1 && tok[i][0] == '-';
  if (!nil[0]) {
    if (ts_5424(tok[0], tn[0], &m->ts)) {
      why_str(w, "RFC 5424: bad TIMESTAMP \""), why_put(w, tok[0], tn[0] < 40 ? tn[0] : 40), why_str(w, "\"");
      return 1;
    }
    m->has_ts = 1;
  }
  if (fields_start(c, m)) return -1;
  static const char *const KEYS[5] = {NULL, "hostname", "app_name", "procid", "msgid"};
  for (int i = 1; i < 5; i++)
    if (!nil[i] && fld_set(c, &m->fields, KEYS[i], tok[i], tn[i])) return -1;
  if (!nil[2]) m->app = tok[2], m->app_len = tn[2];
  if (p >= n || t[p] != ' ') {
    why_str(w, "RFC 5424: expected a space before STRUCTURED-DATA at column "), why_num(w, p + 1);
    return 1;
  }
  p++;
  if (p < n && t[p] == '-') p++;
  else if (p < n && t[p] == '[') {
    int rc = parse_sd(c, t, n, &p, &m->fields, w);
    if (rc) return rc;
  } else {
    why_str(w, "RFC 5424: expected STRUCTURED-DATA ([\xE2\x80\xA6] or -) at column "), why_num(w, p + 1);
    return 1;
  }
  m->msg = t + n, m->msg_len = 0;
  if (p < n) {
    if (t[p] != ' ') {
      why_str(w, "RFC 5424: expected a space before MSG at column "), why_num(w, units(t, p) + 1);
      return 1;
    }
    p++;
    if (n - p >= 3 && t[p] == 0xEF && t[p + 1] == 0xBB && t[p + 2] == 0xBF) p += 3; /* the BOM before a UTF-8 MSG */
    m->msg = t + p, m->msg_len = n - p;
  }
  return 0;
}

/* RFC 3164 after `<PRI>` at t[p], the lenient way (parse3164.ts): never an error. */
static int parse_3164(codec_t *c, const uint8_t *t, size_t n, size_t p, double now, sl_msg_t *m) {
  int mon, day, h, mi, se, ms;
  size_t k = bsd_time(t + p, n - p, &mon, &day, &h, &mi, &se, &ms);
  if (k) {
    if (mon >= 0 && bsd_date(mon, day, h, mi, se, ms, now, &m->ts) == 0) m->has_ts = 1, p += k;
  } else {
    /* an RFC 3339 timestamp (rsyslog's "high precision" BSD format) */
    const uint8_t *sp = memchr(t + p, ' ', n - p);
    size_t end = sp ? (size_t)(sp - t) : n;
    if (ts_5424(t + p, end - p, &m->ts) == 0) m->has_ts = 1, p = sp ? end + 1 : n;
  }
  if (fields_start(c, m)) return -1;
  size_t tl, po = 0, pl;
  if (m->has_ts && !tag_match(t + p, n - p, &tl, &po, &pl)) {
    /* the host name: the RFC allows no spaces in it */
    const uint8_t *sp = memchr(t + p, ' ', n - p);
    size_t end = sp ? (size_t)(sp - t) : n, hu = units(t + p, end - p);
    if (hu > 0 && hu <= 255) {
      if (fld_set(c, &m->fields, "hostname", t + p, end - p)) return -1;
      p = sp ? end + 1 : n;
    }
  }
  size_t k2 = tag_match(t + p, n - p, &tl, &po, &pl);
  if (k2) {
    m->app = t + p, m->app_len = tl;
    if (fld_set(c, &m->fields, "app_name", t + p, tl) || (pl && fld_set(c, &m->fields, "procid", t + p + po, pl))) return -1;
    p += k2;
  }
  m->msg = t + p, m->msg_len = n - p;
  return 0;
}

int syslog_message(codec_t *c, const uint8_t *raw, size_t n, int cut, double ms, buf_t *out) {
  const uint8_t *t = raw;
  if (utf8_valid_prefix(raw, n) < n) {
    c->rep.len = 0;
    if (buf_reserve(&c->rep, n * 3 + 1)) return -1;
    n = utf8_repair(raw, n, c->rep.data);
    t = c->rep.data;
  }
  /* UDP senders often end the datagram with a newline (or NUL): not part of the message */
  while (n > 0 && (t[n - 1] == '\r' || t[n - 1] == '\n' || t[n - 1] == 0)) n--;
  if (n == 0) return 0;
  c->lines += 1;
  if (cut) c->cut += 1;
  why_t w = {.n = 0};
  sl_msg_t m = {0};
  int rc = 1;
  /* <PRI>: 1 to 3 digits, at most 191 (priority.ts readPri) */
  const uint8_t *gt = n > 1 ? memchr(t + 1, '>', n - 1) : NULL;
  size_t close = gt ? units(t, (size_t)(gt - t)) : 0;
  if (t[0] != '<') why_str(&w, "no <PRI> at the start");
  else if (!gt || close < 2 || close > 4) why_str(&w, "PRI is not 1 to 3 digits in <\xE2\x80\xA6>");
  else if (!digits_at(t + 1, (size_t)(gt - t) - 1)) {
    why_str(&w, "PRI <"), why_put(&w, t + 1, (size_t)(gt - t) - 1), why_str(&w, "> is not a number");
  } else {
    int pri = 0;
    for (const uint8_t *q = t + 1; q < gt; q++) pri = pri * 10 + (*q - '0');
    if (pri > 191) why_str(&w, "PRI "), why_num(&w, (uint64_t)pri), why_str(&w, " is over 191");
    else {
      m.facility = pri >> 3, m.severity = pri & 7;
      size_t p = (size_t)(gt - t) + 1;
      rc = n - p >= 2 && t[p] == '1' && t[p + 1] == ' ' ? parse_5424(c, t, n, p, &m, &w) : parse_3164(c, t, n, p, ms, &m);
    }
  }
  if (rc < 0) return -1;
  if (rc) { /* kept as text at the input's defaults, after the note saying why (with the sender's credentials, if any) */
    sl_fields_t creds = {.n = 0};
    if (fld_creds(c, &creds) || (creds.n && fields_json(c, &creds))) return -1;
    return codec_reject(c, w.s, w.n, out) || codec_emit(c, c->default_level, NULL, 0, t, n, ms, creds.n ? c->fj.data : NULL, creds.n ? c->fj.len : 0, cut, 0, out);
  }
  if (fld_creds(c, &m.fields) || fields_json(c, &m.fields)) return -1;
  return codec_emit(c, syslog_level(m.severity), m.app, m.app_len, m.msg, m.msg_len, m.has_ts ? m.ts : ms, c->fj.data, c->fj.len, cut, 0, out);
}

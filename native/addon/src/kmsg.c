/*
 * /dev/kmsg records → entry records (kmsg.h), the rules of agent/buffer/kmsg/ step for step:
 *  - a record is a header line `prio,seq,ts_usec,flags[,more…];message` and the continuation lines
 *    after it (lines starting with a space: a KEY=VALUE dictionary); lines split on \n (no \r is
 *    removed: the kernel writes none), empty lines skipped, a line past max_line_bytes cut;
 *  - a record is complete when the next line that is not a continuation arrives, at the end of each
 *    feed when every chunk is whole records (the device), or when the source goes idle (kmsg_end);
 *    a record keeps at most max_line_bytes bytes (header, then '\n' + each continuation line): the
 *    rest is discarded, the entry marked truncated and the record counted as cut;
 *  - the record is decoded (invalid UTF-8 → U+FFFD); a header that does not match is an 'R' note
 *    (counted, no entry): `kmsg: not a record header: ` + the JSON of its first 40 UTF-16 units;
 *  - positions: a gap in seq is counted as missed; a record at or below the last seq delivered
 *    before (or every one, skip_all) is skipped and counted;
 *  - fragments (kernels before 4.9): a record flagged `c` is held, the `+` records after it are
 *    joined to it (message appended, seq the last one's, their fields after its own) until a record
 *    that is not a `+` or the source goes idle; a join that would pass max_line_bytes is not made;
 *  - the entry: level from the priority's severity (syslog's mapping), FATAL when the message starts
 *    like a kernel failure (Kernel panic, Oops:, Oops + space, BUG: , general protection fault,
 *    Unable to handle kernel); the module of the options (else the codec's default), the codec's source; timestamp boot_wall_ms +
 *    ts_usec / 1000 (the arrival time when that is no date); fields facility (name, or the number
 *    past local7), seq, kernel_ts_usec, flags (unless empty or `-`), then the header's extra
 *    `key=value` fields and the dictionary's, keys with A-Z lowered: a key keeps its first place and
 *    takes its last value. Written as buildEntry writes a JS object of them: array-index keys first,
 *    ascending, the first 64 members, keys escaped and cut at 64 units, values at 1024;
 *  - each entry record is preceded by an 'S' note: 'S' + its seq (as JS writes the number), the
 *    position the agent's checkpoint takes; a filtered record has neither.
 */
#include "kmsg.h"
#include "syslog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KF_MAX ENTRY_MAX_FIELDS

/* A field: key in s->keys (lowered), value where it lies (the held records, or a number's text). */
typedef struct {
  size_t ko, kl;
  const uint8_t *v;
  size_t vl;
  int num;
  double idx; /* array index, or -1 */
  uint32_t h;
} kf_t;

struct kmsg_state {
  kmsg_opts_t o;
  char *module; /* o.module's copy (NULL: the default module) */
  /* the record in progress: its header line, then '\n' + each continuation line */
  buf_t rec;
  int has_rec, rec_cut;
  /* records held for joining (a `c` and its `+`), each u32 length | u8 cut | text (valid UTF-8) */
  buf_t held;
  int held_n;
  size_t held_bytes;
  double held_seq;
  /* positions */
  double last_seq, skipped, missed;
  int has_last;
  /* scratch: lowered keys, the joined message, cleaned keys */
  buf_t keys, msg, ck;
  /* The fields as buildEntry would keep them: the 64 smallest array-index keys and the first 64
   * other keys (the first 64 members of the object are among these, whatever comes later). */
  kf_t str[KF_MAX], idx[KF_MAX];
  int nstr, nidx;
};

int kmsg_init(codec_t *c, const kmsg_opts_t *o) {
  kmsg_state_t *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->o = o ? *o : (kmsg_opts_t){.boot_wall_ms = 0, .last_seq = -1, .skip_all = 0, .whole = 0, .module = NULL};
  if (s->o.module && s->o.module[0] && !(s->module = strdup(s->o.module))) return free(s), -1;
  s->o.module = NULL;
  s->held_seq = -1;
  s->last_seq = -1;
  if (s->o.last_seq >= 0) s->last_seq = s->o.last_seq, s->has_last = 1;
  else s->o.last_seq = -1;
  kmsg_free(c->kmsg);
  c->kmsg = s;
  return 0;
}

void kmsg_free(kmsg_state_t *s) {
  if (!s) return;
  free(s->module);
  free(s->rec.data);
  free(s->held.data);
  free(s->keys.data);
  free(s->msg.data);
  free(s->ck.data);
  free(s);
}

void kmsg_counters(const codec_t *c, kmsg_counters_t *k) {
  const kmsg_state_t *s = c->kmsg;
  *k = (kmsg_counters_t){0, 0, -1, -1};
  if (!s) return;
  k->skipped = s->skipped, k->missed = s->missed;
  k->last_seq = s->has_last ? s->last_seq : -1;
  k->held_seq = s->held_n ? s->held_seq : -1;
}

/* ---- a record's header ---- */

typedef struct {
  int prio;
  double seq, ts;
  const uint8_t *flags, *ext, *msg, *dict;
  size_t flags_len, ext_len, msg_len, dict_len; /* ext: ",k=v…" after the flags, up to the ';' */
} rec_t;

static size_t digits(const uint8_t *s, size_t n, size_t p) {
  size_t q = p;
  while (q < n && s[q] >= '0' && s[q] <= '9') q++;
  return q - p;
}

/* Up to 20 digits as the nearest double, as Number() reads them. */
static double number_of(const uint8_t *s, size_t n) {
  char d[24];
  memcpy(d, s, n);
  d[n] = 0;
  return strtod(d, NULL);
}

/* /^(\d{1,3}),(\d{1,20}),(\d{1,20}),([^,;]*)((?:,[^,;]*)*);/ on the first line of t: 0, or 1 when it does not match. */
static int parse(const uint8_t *t, size_t n, rec_t *r) {
  const uint8_t *nl = memchr(t, '\n', n);
  size_t hn = nl ? (size_t)(nl - t) : n;
  const uint8_t *semi = memchr(t, ';', hn);
  if (!semi) return 1;
  size_t e = (size_t)(semi - t), p = 0;
  static const size_t MAX[3] = {3, 20, 20};
  double v[3];
  for (int i = 0; i < 3; i++) {
    size_t k = digits(t, e, p);
    if (k < 1 || k > MAX[i] || p + k >= e || t[p + k] != ',') return 1;
    v[i] = number_of(t + p, k);
    p += k + 1;
  }
  r->prio = (int)v[0], r->seq = v[1], r->ts = v[2];
  const uint8_t *comma = memchr(t + p, ',', e - p);
  size_t fe = comma ? (size_t)(comma - t) : e;
  r->flags = t + p, r->flags_len = fe - p;
  r->ext = t + fe, r->ext_len = e - fe;
  r->msg = semi + 1, r->msg_len = hn - e - 1;
  r->dict = nl ? nl + 1 : t + n, r->dict_len = nl ? n - hn - 1 : 0;
  return 0;
}

/* ---- fields ---- */

/* key = value (a key already there keeps its place and takes the value). */
static int set_field(kmsg_state_t *s, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn, int num) {
  size_t ko = s->keys.len;
  if (buf_put(&s->keys, k, kn)) return -1;
  uint8_t *key = s->keys.data + ko;
  for (size_t i = 0; i < kn; i++)
    if (key[i] >= 'A' && key[i] <= 'Z') key[i] += 32;
  uint32_t h = entry_key_hash(key, kn);
  kf_t *lists[2] = {s->str, s->idx};
  int counts[2] = {s->nstr, s->nidx};
  for (int l = 0; l < 2; l++)
    for (int i = 0; i < counts[l]; i++) {
      kf_t *f = &lists[l][i];
      if (f->h == h && f->kl == kn && memcmp(s->keys.data + f->ko, key, kn) == 0) {
        f->v = v, f->vl = vn, f->num = num;
        s->keys.len = ko;
        return 0;
      }
    }
  kf_t f = {ko, kn, v, vn, num, -1, h};
  if (!entry_array_index(key, kn, &f.idx)) {
    if (s->nstr < KF_MAX) s->str[s->nstr++] = f;
    else s->keys.len = ko; /* past the 64th: never among the members kept */
    return 0;
  }
  if (s->nidx < KF_MAX) {
    s->idx[s->nidx++] = f;
    return 0;
  }
  int big = 0;
  for (int i = 1; i < KF_MAX; i++)
    if (s->idx[i].idx > s->idx[big].idx) big = i;
  if (f.idx < s->idx[big].idx) s->idx[big] = f; /* its key bytes stay in s->keys, unused */
  else s->keys.len = ko;
  return 0;
}

/* `key=value` (the first '=' splits; none, or at the start: not a field). */
static int kv(kmsg_state_t *s, const uint8_t *p, size_t n) {
  const uint8_t *eq = n ? memchr(p, '=', n) : NULL;
  if (!eq || eq == p) return 0;
  size_t kn = (size_t)(eq - p);
  return set_field(s, p, kn, eq + 1, n - kn - 1, 0);
}

/* The header's extra fields (`,caller=T12`…), then the dictionary lines (` KEY=VALUE`). */
static int extras(kmsg_state_t *s, const rec_t *r) {
  if (r->ext_len) {
    const uint8_t *p = r->ext + 1, *end = r->ext + r->ext_len;
    for (;;) {
      const uint8_t *q = memchr(p, ',', (size_t)(end - p));
      if (kv(s, p, (size_t)((q ? q : end) - p))) return -1;
      if (!q) break;
      p = q + 1;
    }
  }
  const uint8_t *p = r->dict, *end = r->dict + r->dict_len;
  while (p < end) {
    const uint8_t *q = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((q ? q : end) - p);
    if (n && kv(s, p + 1, n - 1)) return -1;
    if (!q) break;
    p = q + 1;
  }
  return 0;
}

/* The fields' JSON into c->fj, as buildEntry writes the object (see the module comment). */
static int fields_json(codec_t *c, kmsg_state_t *s) {
  for (int i = 1; i < s->nidx; i++) {
    kf_t x = s->idx[i];
    int j = i;
    while (j > 0 && s->idx[j - 1].idx > x.idx) s->idx[j] = s->idx[j - 1], j--;
    s->idx[j] = x;
  }
  const kf_t *ord[KF_MAX];
  int no = 0;
  for (int i = 0; i < s->nidx && no < KF_MAX; i++) ord[no++] = &s->idx[i];
  for (int i = 0; i < s->nstr && no < KF_MAX; i++) ord[no++] = &s->str[i];
  /* keys escaped and cut; two the cut makes equal are one (first place, last value) */
  size_t co[KF_MAX], cl[KF_MAX];
  const kf_t *val[KF_MAX];
  int m = 0;
  s->ck.len = 0;
  for (int i = 0; i < no; i++) {
    size_t ko = s->ck.len;
    if (put_clean(&s->ck, s->keys.data + ord[i]->ko, ord[i]->kl, ENTRY_MAX_KEY_UNITS)) return -1;
    size_t kl = s->ck.len - ko;
    int j = 0;
    while (j < m && !(cl[j] == kl && memcmp(s->ck.data + co[j], s->ck.data + ko, kl) == 0)) j++;
    if (j < m) {
      val[j] = ord[i];
      s->ck.len = ko;
    } else co[m] = ko, cl[m] = kl, val[m++] = ord[i];
  }
  c->fj.len = 0;
  if (buf_put(&c->fj, "{", 1)) return -1;
  for (int i = 0; i < m; i++) {
    if ((i && buf_put(&c->fj, ",", 1)) || json_str(&c->fj, s->ck.data + co[i], cl[i]) || buf_put(&c->fj, ":", 1)) return -1;
    c->fv.len = 0;
    if (val[i]->num ? buf_put(&c->fj, val[i]->v, val[i]->vl)
                    : put_clean(&c->fv, val[i]->v, val[i]->vl, ENTRY_MAX_ARG_UNITS) || json_str(&c->fj, c->fv.data, c->fv.len))
      return -1;
  }
  return buf_put(&c->fj, "}", 1);
}

/* ---- entries ---- */

static int kernel_failure(const uint8_t *m, size_t n) {
  static const char *const START[] = {"Kernel panic", "BUG: ", "general protection fault", "Unable to handle kernel"};
  for (size_t i = 0; i < sizeof START / sizeof *START; i++) {
    size_t k = strlen(START[i]);
    if (n >= k && memcmp(m, START[i], k) == 0) return 1;
  }
  return n > 4 && memcmp(m, "Oops", 4) == 0 && (m[4] == ':' || js_space(m, n, 4));
}

/* The next held record: its text and cut flag; p advances. */
static const uint8_t *held_next(const uint8_t **p, size_t *n, int *cut) {
  uint32_t len;
  memcpy(&len, *p, 4);
  *cut = (*p)[4];
  const uint8_t *t = *p + 5;
  *n = len;
  *p = t + len;
  return t;
}

/* The held records (one, or a fragment and those joined to it) as one entry, after its 'S' note. */
static int release(codec_t *c, kmsg_state_t *s, double ms, buf_t *out) {
  if (!s->held_n) return 0;
  int count = s->held_n;
  s->held_n = 0;
  rec_t first = {0}, last = {0}, r;
  int cut = 0, pc;
  size_t n;
  s->msg.len = 0;
  const uint8_t *p = s->held.data;
  for (int i = 0; i < count; i++) {
    const uint8_t *t = held_next(&p, &n, &pc);
    parse(t, n, &r); /* held records parsed once already */
    if (i == 0) first = r;
    last = r;
    cut |= pc;
    if (count > 1 && buf_put(&s->msg, r.msg, r.msg_len)) return -1;
  }
  const uint8_t *msg = count > 1 ? s->msg.data : first.msg;
  size_t mlen = count > 1 ? s->msg.len : first.msg_len;
  s->keys.len = 0;
  s->nstr = s->nidx = 0;
  char fac[16], seq[32], ts[32];
  int f = first.prio >> 3;
  const char *fa = f < 24 ? SYSLOG_FACILITIES[f] : (snprintf(fac, sizeof fac, "%d", f), fac);
  size_t seq_len = js_number(last.seq, seq), ts_len = js_number(first.ts, ts);
  int dash = first.flags_len == 1 && first.flags[0] == '-';
  if (set_field(s, (const uint8_t *)"facility", 8, (const uint8_t *)fa, strlen(fa), 0) || set_field(s, (const uint8_t *)"seq", 3, (const uint8_t *)seq, seq_len, 1) ||
      set_field(s, (const uint8_t *)"kernel_ts_usec", 14, (const uint8_t *)ts, ts_len, 1) ||
      (first.flags_len && !dash && set_field(s, (const uint8_t *)"flags", 5, first.flags, first.flags_len, 0)))
    return -1;
  p = s->held.data;
  for (int i = 0; i < count; i++) {
    const uint8_t *t = held_next(&p, &n, &pc);
    parse(t, n, &r);
    if (extras(s, &r)) return -1;
  }
  if (fields_json(c, s)) return -1;
  int level = kernel_failure(msg, mlen) ? 4 : syslog_level(first.prio & 7);
  double when = s->o.boot_wall_ms + first.ts / 1000.0;
  when = fabs(when) <= 8.64e15 ? trunc(when) + 0.0 : ms;
  /* the note first; taken back when the entry is filtered out */
  size_t at = out->len;
  if (codec_note(out, 'S', seq, seq_len)) return -1;
  double before = c->records;
  int rc = codec_emit(c, level, (const uint8_t *)s->module, s->module ? strlen(s->module) : 0, msg, mlen, when, c->fj.data, c->fj.len, cut, 0, out);
  if (!rc && c->records == before) out->len = at;
  s->held.len = 0;
  s->held_bytes = 0;
  return rc;
}

static int hold(kmsg_state_t *s, const uint8_t *t, size_t n, int cut) {
  uint32_t len = (uint32_t)n;
  uint8_t k = (uint8_t)cut;
  if (buf_put(&s->held, &len, 4) || buf_put(&s->held, &k, 1) || buf_put(&s->held, t, n)) return -1;
  s->held_n++;
  s->held_bytes += n;
  return 0;
}

/* 'R' note: the record's header did not parse. */
static int reject(codec_t *c, const uint8_t *t, size_t n, buf_t *out) {
  const uint8_t *nl = memchr(t, '\n', n);
  size_t hn = nl ? (size_t)(nl - t) : n;
  static const char WHY[] = "kmsg: not a record header: ";
  c->fv.len = 0;
  if (buf_put(&c->fv, WHY, sizeof WHY - 1) || json_str(&c->fv, t, cut_units(t, hn, 40))) return -1;
  return codec_reject(c, (const char *)c->fv.data, c->fv.len, out);
}

/* The record in progress is complete. */
static int record_done(codec_t *c, kmsg_state_t *s, double ms, buf_t *out) {
  if (!s->has_rec) return 0;
  s->has_rec = 0;
  const uint8_t *t = s->rec.data;
  size_t n = s->rec.len;
  int cut = s->rec_cut;
  c->lines += 1;
  if (cut) c->cut += 1;
  if (utf8_valid_prefix(t, n) < n) {
    c->rep.len = 0;
    if (buf_reserve(&c->rep, n * 3 + 1)) return -1;
    n = utf8_repair(t, n, c->rep.data);
    t = c->rep.data;
  }
  rec_t r;
  if (parse(t, n, &r)) return reject(c, t, n, out);
  if (s->has_last && r.seq > s->last_seq + 1) s->missed += r.seq - s->last_seq - 1;
  s->last_seq = r.seq, s->has_last = 1;
  if (s->o.skip_all || r.seq <= s->o.last_seq) {
    s->skipped += 1;
    return 0;
  }
  int plus = r.flags_len == 1 && r.flags[0] == '+', frag = r.flags_len == 1 && r.flags[0] == 'c';
  if (plus && s->held_n && s->held_bytes + n <= c->max_line_bytes) return hold(s, t, n, cut);
  if (release(c, s, ms, out) || hold(s, t, n, cut)) return -1;
  if (frag) {
    s->held_seq = r.seq;
    return 0;
  }
  return release(c, s, ms, out);
}

/* One complete line (at most max_line_bytes; cut: it was longer). */
static int line(codec_t *c, kmsg_state_t *s, const uint8_t *p, size_t n, int cut, double ms, buf_t *out) {
  if (n == 0) return 0;
  if (p[0] == ' ' && s->has_rec) {
    /* '\n' + the line, as much as the record's bound leaves room for */
    size_t room = c->max_line_bytes - s->rec.len;
    if (n + 1 > room) cut = 1;
    if (room && (buf_put(&s->rec, "\n", 1) || buf_put(&s->rec, p, n < room - 1 ? n : room - 1))) return -1;
    if (cut) s->rec_cut = 1;
    return 0;
  }
  if (record_done(c, s, ms, out)) return -1;
  s->rec.len = 0;
  if (buf_put(&s->rec, p, n)) return -1;
  s->has_rec = 1;
  s->rec_cut = cut;
  return 0;
}

/* A line of the stream (codec_split_lines' callback). */
static int on_line(codec_t *c, const uint8_t *p, size_t n, int cut, double ms, buf_t *out) { return line(c, c->kmsg, p, n, cut, ms, out); }

int kmsg_feed(codec_t *c, const uint8_t *chunk, size_t len, double received_ms, buf_t *out) {
  if (!c->kmsg && kmsg_init(c, NULL)) return -1;
  kmsg_state_t *s = c->kmsg;
  if (codec_split_lines(c, chunk, len, received_ms, out, on_line)) return -1;
  return s->o.whole ? record_done(c, s, received_ms, out) : 0;
}

int kmsg_end(codec_t *c, double received_ms, buf_t *out) {
  if (!c->kmsg && kmsg_init(c, NULL)) return -1;
  kmsg_state_t *s = c->kmsg;
  return record_done(c, s, received_ms, out) || release(c, s, received_ms, out) ? -1 : 0;
}

/*
 * An NDJSON input line → an entry record, in one pass over the line's bytes and without a
 * general JSON tree: the line is validated (RFC 8259, nesting bounded by NDJSON_MAX_DEPTH), the
 * entry's keys are located as spans, and only those are decoded. The JS twin is
 * entry/ndjson.ts; the rules are listed there (and in docs/inputs.md), once.
 */
#include "ndjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { J_STR = 's', J_NUM = 'n', J_TRUE = 't', J_FALSE = 'f', J_NULL = 'z', J_OBJ = 'o', J_ARR = 'a' };

typedef struct {
  const uint8_t *p; /* first byte of the value */
  const uint8_t *e; /* one past its last byte */
  uint8_t type;
  uint8_t esc; /* a string with a backslash escape (else its text is the bytes between the quotes) */
} jval_t;

/*
 * The members of the entry's "fields" object as validation found them (the last "fields" key
 * written without escapes), so that render_members need not scan the object again. obj is the
 * object's first byte: render_members uses these only for that very object, and only when
 * partial is 0 (all its members fitted).
 */
typedef struct {
  const uint8_t *obj;
  size_t n;
  int partial;
  jval_t k[NDJSON_MAX_FIELD_MEMBERS], v[NDJSON_MAX_FIELD_MEMBERS];
} members_t;

typedef struct {
  const uint8_t *base, *end;
  const char *why;
  size_t at;
  int esc; /* the last string scanned had an escape */
  members_t *fields; /* NULL, or where the top-level object's "fields" members go */
} scan_t;

static inline void ws(const uint8_t **p, const uint8_t *e) {
  /* Most values follow their ':' or ',' directly: one test and out. */
  if (*p < e && **p > ' ') return;
  while (*p < e && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')) (*p)++;
}

static int fail(scan_t *sc, const uint8_t *p, const char *why) {
  sc->why = why;
  sc->at = (size_t)(p - sc->base);
  return -1;
}

static int hexv(uint8_t h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

static int hex4(const uint8_t *p, uint32_t *v) {
  uint32_t r = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexv(p[i]);
    if (h < 0) return -1;
    r = r << 4 | (uint32_t)h;
  }
  *v = r;
  return 0;
}

static int scan_string(scan_t *sc, const uint8_t **pp) {
  const uint8_t *p = *pp + 1, *e = sc->end;
  sc->esc = 0;
  for (;;) {
    p += json_plain_run(p, (size_t)(e - p));
    if (p >= e) break;
    uint8_t c = *p;
    if (c == '"') {
      *pp = p + 1;
      return 0;
    }
    if (c < 0x20) return fail(sc, p, "invalid JSON: control character in a string");
    /* a backslash */
    sc->esc = 1;
    if (p + 1 >= e) break;
    uint8_t x = p[1];
    uint32_t v;
    if (x == 'u') {
      if (e - p < 6 || hex4(p + 2, &v)) return fail(sc, p, "invalid JSON: bad \\u escape");
      p += 6;
    } else if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't') p += 2;
    else return fail(sc, p, "invalid JSON: bad escape");
  }
  return fail(sc, p, "invalid JSON: unterminated string");
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int scan_number(scan_t *sc, const uint8_t **pp) {
  const uint8_t *p = *pp, *e = sc->end;
  if (p < e && *p == '-') p++;
  if (p >= e || !is_digit(*p)) return fail(sc, p, "invalid JSON: bad number");
  if (*p == '0') p++;
  else
    while (p < e && is_digit(*p)) p++;
  if (p < e && *p == '.') {
    p++;
    if (p >= e || !is_digit(*p)) return fail(sc, p, "invalid JSON: bad number");
    while (p < e && is_digit(*p)) p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || !is_digit(*p)) return fail(sc, p, "invalid JSON: bad number");
    while (p < e && is_digit(*p)) p++;
  }
  *pp = p;
  return 0;
}

static int scan_value(scan_t *sc, const uint8_t **pp, int depth, jval_t *v);

/* Called for each member of the object being validated (the entry object): one pass finds the keys. */
typedef void (*member_fn)(void *ctx, const jval_t *key, const jval_t *val);

static void capture_member(void *ctx, const jval_t *k, const jval_t *v) {
  members_t *c = ctx;
  if (c->n < NDJSON_MAX_FIELD_MEMBERS) c->k[c->n] = *k, c->v[c->n] = *v, c->n++;
  else c->partial = 1;
}

static int scan_container(scan_t *sc, const uint8_t **pp, int depth, uint8_t close, member_fn on_member, void *ctx) {
  if (depth >= NDJSON_MAX_DEPTH) return fail(sc, *pp, "JSON nested deeper than 64 levels");
  const uint8_t *p = *pp + 1, *e = sc->end;
  ws(&p, e);
  if (p < e && *p == close) {
    *pp = p + 1;
    return 0;
  }
  for (;;) {
    jval_t v, k = {0};
    if (close == '}') {
      if (p >= e || *p != '"') return fail(sc, p, "invalid JSON: expected a key");
      k.p = p, k.type = J_STR;
      if (scan_string(sc, &p)) return -1;
      k.e = p, k.esc = (uint8_t)sc->esc;
      ws(&p, e);
      if (p >= e || *p != ':') return fail(sc, p, "invalid JSON: expected ':'");
      p++;
    }
    if (depth == 0 && sc->fields && k.e - k.p == 8 && !k.esc && memcmp(k.p, "\"fields\"", 8) == 0 && (ws(&p, e), p < e && *p == '{')) {
      /* The entry's "fields" object: validated as any object, its members kept on the way. */
      members_t *c = sc->fields;
      c->obj = p, c->n = 0, c->partial = 0;
      v.p = p, v.type = J_OBJ, v.esc = 0;
      if (scan_container(sc, &p, depth + 1, '}', capture_member, c)) return -1;
      v.e = p;
    } else if (scan_value(sc, &p, depth + 1, &v)) return -1;
    if (on_member) on_member(ctx, &k, &v);
    ws(&p, e);
    if (p < e && *p == ',') {
      p++;
      ws(&p, e);
      continue;
    }
    if (p < e && *p == close) {
      *pp = p + 1;
      return 0;
    }
    return fail(sc, p, close == '}' ? "invalid JSON: expected ',' or '}'" : "invalid JSON: expected ',' or ']'");
  }
}

static int literal(scan_t *sc, const uint8_t **pp, const char *word, size_t n) {
  if ((size_t)(sc->end - *pp) < n || memcmp(*pp, word, n) != 0) return fail(sc, *pp, "invalid JSON: unexpected character");
  *pp += n;
  return 0;
}

/* Validates the value at *pp (after whitespace) and records its span. */
static int scan_value(scan_t *sc, const uint8_t **pp, int depth, jval_t *v) {
  ws(pp, sc->end);
  const uint8_t *p = *pp;
  if (p >= sc->end) return fail(sc, p, "invalid JSON: unexpected end");
  v->p = p;
  v->esc = 0;
  int rc;
  switch (*p) {
    case '{': v->type = J_OBJ, rc = scan_container(sc, pp, depth, '}', NULL, NULL); break;
    case '[': v->type = J_ARR, rc = scan_container(sc, pp, depth, ']', NULL, NULL); break;
    case '"': v->type = J_STR, rc = scan_string(sc, pp), v->esc = (uint8_t)sc->esc; break;
    case 't': v->type = J_TRUE, rc = literal(sc, pp, "true", 4); break;
    case 'f': v->type = J_FALSE, rc = literal(sc, pp, "false", 5); break;
    case 'n': v->type = J_NULL, rc = literal(sc, pp, "null", 4); break;
    default: v->type = J_NUM, rc = scan_number(sc, pp);
  }
  v->e = *pp;
  return rc;
}

static void put_cp(buf_t *o, uint32_t cp) {
  uint8_t *d = o->data + o->len;
  if (cp < 0x80) d[0] = (uint8_t)cp, o->len += 1;
  else if (cp < 0x800) d[0] = (uint8_t)(0xC0 | cp >> 6), d[1] = (uint8_t)(0x80 | (cp & 0x3F)), o->len += 2;
  else if (cp < 0x10000)
    d[0] = (uint8_t)(0xE0 | cp >> 12), d[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), d[2] = (uint8_t)(0x80 | (cp & 0x3F)), o->len += 3;
  else
    d[0] = (uint8_t)(0xF0 | cp >> 18), d[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F)), d[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)),
    d[3] = (uint8_t)(0x80 | (cp & 0x3F)), o->len += 4;
}

/* A validated string span decoded into o (appended); a lone surrogate becomes U+FFFD. */
static int decode_string(const jval_t *v, buf_t *o) {
  const uint8_t *p = v->p + 1, *e = v->e - 1;
  if (buf_reserve(o, (size_t)(e - p) + 4)) return -1;
  while (p < e) {
    const uint8_t *bs = memchr(p, '\\', (size_t)(e - p));
    size_t run = bs ? (size_t)(bs - p) : (size_t)(e - p);
    memcpy(o->data + o->len, p, run);
    o->len += run;
    p += run;
    if (!bs) break;
    uint8_t x = p[1];
    uint32_t cp, lo;
    switch (x) {
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        hex4(p + 2, &cp);
        if (cp >= 0xD800 && cp <= 0xDBFF && e - p >= 12 && p[6] == '\\' && p[7] == 'u' && !hex4(p + 8, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        p += 4;
        break;
      default: cp = x;
    }
    p += 2;
    put_cp(o, cp);
  }
  return 0;
}

static double number_of(const jval_t *v, buf_t *tmp) {
  size_t n = (size_t)(v->e - v->p);
  tmp->len = 0;
  if (buf_reserve(tmp, n + 1)) return NAN;
  memcpy(tmp->data, v->p, n);
  tmp->data[n] = 0;
  return strtod((const char *)tmp->data, NULL);
}

/* An integer token of at most 15 digits (no fraction, no exponent, not -0) is already written as JS writes it. */
static int plain_int(const jval_t *v) {
  const uint8_t *p = v->p;
  size_t n = (size_t)(v->e - v->p);
  if (n && *p == '-') p++, n--;
  if (n == 0 || n > 15 || (p[0] == '0' && (n > 1 || p != v->p))) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(p[i])) return 0;
  return 1;
}

/*
 * A decimal token written as JS writes its number: [-]I.F, no exponent, F not ending in 0, I "0" or
 * not starting with 0, at most 15 significant digits, and for 0.F at most 5 zeros after the point
 * (JS writes 1e-7 from there). At most 15 digits: no other decimal of at most 15 digits reads as
 * the same double (DBL_DIG), so none shorter does and this is the one JS writes. Saves the search
 * for the shortest digits (js_number) on measurements like 1234.567 (the serial input's mono_ms).
 */
static int plain_decimal(const jval_t *v) {
  const uint8_t *p = v->p, *e = v->e;
  if (p < e && *p == '-') p++;
  const uint8_t *dot = memchr(p, '.', (size_t)(e - p));
  if (!dot || dot == p || dot + 1 >= e || e[-1] == '0' || (p[0] == '0' && dot != p + 1)) return 0;
  size_t sig = 0;
  int leading = p[0] == '0';
  for (const uint8_t *q = p; q < e; q++) {
    if (q == dot) continue;
    if (!is_digit(*q)) return 0;
    if (leading && *q == '0') continue;
    leading = 0;
    sig++;
  }
  if (sig > 15) return 0;
  if (p[0] == '0') {
    size_t zeros = 0;
    while (dot + 1 + zeros < e && dot[1 + zeros] == '0') zeros++;
    if (zeros > 5) return 0;
  }
  return 1;
}

/* A number as JSON.stringify writes it: JS digits, null when it overflows. */
static int put_number_json(buf_t *o, const jval_t *v, buf_t *tmp) {
  if (plain_int(v) || plain_decimal(v)) return buf_put(o, v->p, (size_t)(v->e - v->p));
  double d = number_of(v, tmp);
  if (!isfinite(d)) return buf_put(o, "null", 4);
  char s[32];
  return buf_put(o, s, js_number(d, s));
}

/*
 * The canonical text of a validated value: what JSON.stringify writes for it, except that
 * members keep the order and repetitions they were written with. Appended to o; tmp is scratch.
 */
static int canonical(const uint8_t **pp, const uint8_t *e, buf_t *o, buf_t *tmp) {
  ws(pp, e);
  const uint8_t *p = *pp;
  if (*p == '{' || *p == '[') {
    uint8_t close = *p == '{' ? '}' : ']';
    if (buf_put(o, p, 1)) return -1;
    p++;
    ws(&p, e);
    if (*p == close) {
      *pp = p + 1;
      return buf_put(o, &close, 1);
    }
    for (;;) {
      if (close == '}') {
        if (canonical(&p, e, o, tmp) || buf_put(o, ":", 1)) return -1;
        ws(&p, e);
        p++; /* ':' */
      }
      if (canonical(&p, e, o, tmp)) return -1;
      ws(&p, e);
      if (*p == ',') {
        p++;
        if (buf_put(o, ",", 1)) return -1;
        continue;
      }
      *pp = p + 1;
      return buf_put(o, &close, 1);
    }
  }
  scan_t sc = {.base = p, .end = e};
  jval_t v;
  scan_value(&sc, pp, 0, &v);
  if (v.type == J_STR) {
    /* No escape: the text between the quotes is what JSON.stringify writes back. */
    if (!v.esc) return buf_put(o, v.p, (size_t)(v.e - v.p));
    tmp->len = 0;
    return decode_string(&v, tmp) || json_str(o, tmp->data, tmp->len);
  }
  if (v.type == J_NUM) return put_number_json(o, &v, tmp);
  return buf_put(o, v.p, (size_t)(v.e - v.p));
}

/* The text of a string value: the bytes between its quotes when it has no escape, else decoded into o. */
static int string_text(const jval_t *v, buf_t *o, const uint8_t **s, size_t *n) {
  if (!v->esc) {
    *s = v->p + 1, *n = (size_t)(v->e - v->p) - 2;
    return 0;
  }
  o->len = 0;
  if (decode_string(v, o)) return -1;
  *s = o->data, *n = o->len;
  return 0;
}

/* A value as entry text (before sanitising): a string decoded, anything else its canonical text. */
static int value_text(const jval_t *v, buf_t *o, buf_t *tmp, const uint8_t **s, size_t *n) {
  if (v->type == J_STR) return string_text(v, o, s, n);
  o->len = 0;
  const uint8_t *p = v->p;
  if (canonical(&p, v->e, o, tmp)) return -1;
  *s = o->data, *n = o->len;
  return 0;
}

/* A string value that sanitising and cutting at max_units leave as it is: its JSON text is the line's own. */
static int string_kept_as_is(const jval_t *v, size_t max_units) {
  size_t n = (size_t)(v->e - v->p) - 2;
  return v->type == J_STR && !v->esc && n <= max_units && !has_ctl(v->p + 1, n);
}

/* A value cleaned (escape_controls, cut at max_units) as a JSON string, appended to out; clean is
 * scratch (nj->text and nj->tmp are used too). */
static int put_clean_json(ndjson_t *nj, const jval_t *v, size_t max_units, buf_t *clean, buf_t *out) {
  if (string_kept_as_is(v, max_units)) return buf_put(out, v->p, (size_t)(v->e - v->p));
  const uint8_t *t;
  size_t tn;
  if (value_text(v, &nj->text, &nj->tmp, &t, &tn)) return -1;
  clean->len = 0;
  return put_clean(clean, t, tn, max_units) || json_str(out, clean->data, clean->len);
}

#define key_is(k, tmp, lit) key_is_n(k, tmp, lit, sizeof lit - 1)
static int key_is_escaped(const jval_t *k, buf_t *tmp, const char *want, size_t n) {
  tmp->len = 0;
  return decode_string(k, tmp) == 0 && tmp->len == n && memcmp(tmp->data, want, n) == 0;
}
/* Inline, so that the compiler sees each key's length and compares it without a call. */
static inline int key_is_n(const jval_t *k, buf_t *tmp, const char *want, size_t n) {
  if (k->esc) return key_is_escaped(k, tmp, want, n);
  return (size_t)(k->e - k->p) - 2 == n && memcmp(k->p + 1, want, n) == 0;
}

typedef struct {
  const uint8_t *key; /* decoded: in the line (no escape) or in nj->keys */
  size_t key_len;
  uint32_t hash; /* of the key (FNV-1a): repeated keys are found without comparing every pair's bytes */
  jval_t val;
  double index; /* array index, or -1 */
} member_t;

static int lang_key_ok(const uint8_t *s, size_t n) {
  if (n < 1 || n > 128) return 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == '-')) return 0;
  }
  return 1;
}

/* Scratch buffers live in the codec; their contents are only valid during one call. */
static int render_args(ndjson_t *nj, const jval_t *arr, buf_t *out) {
  const uint8_t *p = arr->p + 1, *e = arr->e;
  out->len = 0;
  if (buf_put(out, "[", 1)) return -1;
  ws(&p, e);
  for (int i = 0; *p != ']' && i < ENTRY_MAX_ARGS; i++) {
    scan_t sc = {.base = p, .end = e};
    jval_t v;
    scan_value(&sc, &p, 1, &v);
    if (i && buf_put(out, ",", 1)) return -1;
    if (v.type == J_NUM && (plain_int(&v) || plain_decimal(&v))) {
      if (buf_put(out, v.p, (size_t)(v.e - v.p))) return -1;
    } else if (v.type == J_NUM) {
      double d = number_of(&v, &nj->tmp);
      char s[32];
      if (!isfinite(d)) {
        if (json_str(out, (const uint8_t *)(d < 0 ? "-Infinity" : "Infinity"), d < 0 ? 9 : 8)) return -1;
      } else if (buf_put(out, s, js_number(d, s))) return -1;
    } else if (put_clean_json(nj, &v, ENTRY_MAX_ARG_UNITS, &nj->clean, out)) return -1;
    ws(&p, e);
    if (*p == ',') p++;
  }
  return buf_put(out, "]", 1);
}

static int member_cmp(const void *a, const void *b) {
  const member_t *x = a, *y = b;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* What an object of members becomes: fields (numbers, true and false kept, other values as text) or
 * labels (string values only, the others ignored; a draft line's labels are all strings). */
typedef struct {
  size_t max_members, value_units;
  int strings_only;
} members_rule_t;
static const members_rule_t FIELDS_RULE = {ENTRY_MAX_FIELDS, ENTRY_MAX_ARG_UNITS, 0};
static const members_rule_t LABELS_RULE = {ENTRY_MAX_LABELS, ENTRY_MAX_LABEL_UNITS, 1};

static int render_members(ndjson_t *nj, const jval_t *obj, const members_rule_t *rule, const members_t *found, buf_t *out) {
  member_t m[NDJSON_MAX_FIELD_MEMBERS];
  size_t count = 0;
  buf_t *keys = &nj->keys;
  keys->len = 0;
  /* Decoded keys are never longer than their text in the object (decode_string asks 4 bytes of slack
   * beyond each): with this room the buffer never moves, so the members can point into it. */
  if (buf_reserve(keys, (size_t)(obj->e - obj->p) + 8)) return -1;
  const uint8_t *p = obj->p + 1, *e = obj->e;
  /*
   * verbatim: the object as written is already what the rules below render — no whitespace, no
   * null or dropped value, no repeated or array-index key, every key and value one that cleaning
   * leaves as it is, at most max_members — so its bytes are copied as they are. (Most objects an
   * application writes are; the general path below renders them to the same bytes.)
   */
  int verbatim = 1;
  /* The members validation found for this object, if it kept them; else the object is scanned again. */
  int use_found = found && found->obj == obj->p && !found->partial;
  const uint8_t *was = p;
  if (!use_found) ws(&p, e), verbatim &= p == was;
  /* The first members as written; null ones are ignored; a repeated key keeps its first place and takes the later value. */
  for (int i = 0; use_found ? (size_t)i < found->n : *p != '}' && i < NDJSON_MAX_FIELD_MEMBERS; i++) {
    jval_t k, v;
    if (use_found) {
      /* No whitespace: each key right after '{' or ',' and each value right after its ':' */
      k = found->k[i], v = found->v[i];
      verbatim &= k.p == (i ? found->v[i - 1].e + 1 : obj->p + 1) && v.p == k.e + 1;
    } else {
      scan_t sc = {.base = p, .end = e};
      scan_value(&sc, &p, 1, &k);
      was = p, ws(&p, e), verbatim &= p == was;
      p++; /* ':' */
      was = p;
      scan_value(&sc, &p, 1, &v);
      verbatim &= v.p == was;
      was = p, ws(&p, e), verbatim &= p == was;
      if (*p == ',') p++, was = p, ws(&p, e), verbatim &= p == was;
    }
    if (v.type == J_NULL || (rule->strings_only && v.type != J_STR)) {
      verbatim = 0;
      continue;
    }
    const uint8_t *kp;
    size_t kn;
    if (!k.esc) kp = k.p + 1, kn = (size_t)(k.e - k.p) - 2;
    else {
      verbatim = 0;
      size_t off = keys->len;
      if (decode_string(&k, keys)) return -1;
      kp = keys->data + off, kn = keys->len - off;
    }
    /* 256 long keys with a common prefix would otherwise cost 256²/2 full comparisons */
    uint32_t h = entry_key_hash(kp, kn);
    size_t j = 0;
    for (; j < count; j++)
      if (m[j].hash == h && m[j].key_len == kn && memcmp(m[j].key, kp, kn) == 0) break;
    if (j < count) {
      verbatim = 0;
      m[j].val = v;
      continue;
    }
    double idx;
    int indexed = entry_array_index(kp, kn, &idx);
    if (verbatim && (indexed || kn > ENTRY_MAX_KEY_UNITS || has_ctl(kp, kn) ||
                     !(v.type == J_TRUE || v.type == J_FALSE || (v.type == J_NUM && (plain_int(&v) || plain_decimal(&v))) ||
                       string_kept_as_is(&v, rule->value_units))))
      verbatim = 0;
    m[count++] = (member_t){kp, kn, h, v, indexed ? idx : -1};
  }
  /* ... and '}' right after the last value, every member taken (none past NDJSON_MAX_FIELD_MEMBERS) */
  if (count > 0 && verbatim && (use_found ? found->v[found->n - 1].e + 1 == obj->e : *p == '}') && count <= rule->max_members) {
    out->len = 0;
    return buf_put(out, obj->p, (size_t)(obj->e - obj->p));
  }
  /* Array-index keys first, ascending; the others keep their order (a stable insertion sort). */
  for (size_t i = 1; i < count; i++) {
    member_t x = m[i];
    size_t j = i;
    while (j > 0 && x.index >= 0 && (m[j - 1].index < 0 || member_cmp(&m[j - 1], &x) > 0)) m[j] = m[j - 1], j--;
    m[j] = x;
  }
  if (count > rule->max_members) count = rule->max_members;
  /* Cleaned keys can collide (cut at 64 units, escapes): again first place, later value. A key that
   * cleaning leaves as it is stays where it is; the others go to ck, reserved so it never moves. */
  const uint8_t *ckp[ENTRY_MAX_FIELDS];
  size_t ckn[ENTRY_MAX_FIELDS], cv_off[ENTRY_MAX_FIELDS], cv_len[ENTRY_MAX_FIELDS];
  size_t kept = 0, room = 0;
  buf_t *vals = &nj->vals;
  buf_t *ck = &nj->clean;
  for (size_t i = 0; i < count; i++) room += m[i].key_len * 6 + 1;
  ck->len = 0;
  vals->len = 0;
  if (buf_reserve(ck, room)) return -1;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *kp = m[i].key;
    size_t kn = m[i].key_len;
    if (kn > ENTRY_MAX_KEY_UNITS || has_ctl(kp, kn)) {
      size_t off = ck->len;
      if (put_clean(ck, kp, kn, ENTRY_MAX_KEY_UNITS)) return -1;
      kp = ck->data + off, kn = ck->len - off;
    }
    size_t voff = vals->len;
    const jval_t *v = &m[i].val;
    if (v->type == J_NUM) {
      if (put_number_json(vals, v, &nj->tmp)) return -1;
    } else if (v->type == J_TRUE || v->type == J_FALSE) {
      if (buf_put(vals, v->p, (size_t)(v->e - v->p))) return -1;
    } else if (put_clean_json(nj, v, rule->value_units, &nj->tmp, vals)) return -1;
    size_t j = 0;
    for (; j < kept; j++)
      if (ckn[j] == kn && memcmp(ckp[j], kp, kn) == 0) break;
    if (j < kept) {
      cv_off[j] = voff, cv_len[j] = vals->len - voff;
      continue;
    }
    ckp[kept] = kp, ckn[kept] = kn, cv_off[kept] = voff, cv_len[kept] = vals->len - voff;
    kept++;
  }
  out->len = 0;
  if (kept == 0) return 1;
  if (buf_put(out, "{", 1)) return -1;
  for (size_t i = 0; i < kept; i++) {
    if ((i && buf_put(out, ",", 1)) || json_str(out, ckp[i], ckn[i]) || buf_put(out, ":", 1) || buf_put(out, vals->data + cv_off[i], cv_len[i]))
      return -1;
  }
  return buf_put(out, "}", 1);
}

void ndjson_free(ndjson_t *nj) {
  free(nj->text.data), free(nj->tmp.data), free(nj->clean.data), free(nj->keys.data), free(nj->vals.data);
  free(nj->msg.data), free(nj->args.data), free(nj->fields.data), free(nj->src.data), free(nj->lang.data), free(nj->labels.data);
  memset(nj, 0, sizeof *nj);
}

/* The entry's keys, found while the line is validated; the last of a repeated key counts, as with JSON.parse. */
typedef struct {
  buf_t *tmp;
  jval_t ts, lvl, mod, msg, alt, lk, args, src, fields, trunc, labels, multi;
} slots_t;

static void take_member(void *ctx, const jval_t *k, const jval_t *v) {
  slots_t *s = ctx;
  buf_t *t = s->tmp;
  switch (k->p[1]) {
    case 't': if (key_is(k, t, "timestamp")) s->ts = *v; else if (key_is(k, t, "truncated")) s->trunc = *v; break;
    case 'l': if (key_is(k, t, "level")) s->lvl = *v; else if (key_is(k, t, "lang_key")) s->lk = *v; else if (key_is(k, t, "labels")) s->labels = *v; break;
    case 'm':
      if (key_is(k, t, "module")) s->mod = *v;
      else if (key_is(k, t, "message")) s->msg = *v;
      else if (key_is(k, t, "msg")) s->alt = *v;
      else if (key_is(k, t, "multiline")) s->multi = *v;
      break;
    case 'a': if (key_is(k, t, "args")) s->args = *v; break;
    case 's': if (key_is(k, t, "source")) s->src = *v; break;
    case 'f': if (key_is(k, t, "fields")) s->fields = *v; break;
    case '\\':
      if (key_is(k, t, "timestamp")) s->ts = *v;
      else if (key_is(k, t, "truncated")) s->trunc = *v;
      else if (key_is(k, t, "level")) s->lvl = *v;
      else if (key_is(k, t, "lang_key")) s->lk = *v;
      else if (key_is(k, t, "module")) s->mod = *v;
      else if (key_is(k, t, "message")) s->msg = *v;
      else if (key_is(k, t, "msg")) s->alt = *v;
      else if (key_is(k, t, "args")) s->args = *v;
      else if (key_is(k, t, "source")) s->src = *v;
      else if (key_is(k, t, "fields")) s->fields = *v;
      else if (key_is(k, t, "labels")) s->labels = *v;
      else if (key_is(k, t, "multiline")) s->multi = *v;
      break;
  }
}

int ndjson_entry(ndjson_t *nj, const uint8_t *line, size_t n, const ndjson_opts_t *o, double received_ms, buf_t *out, int *level,
                 char why[96]) {
  members_t found; /* the "fields" members, kept by the validation (only obj needs a value first) */
  found.obj = NULL;
  scan_t sc = {.base = line, .end = line + n, .fields = &found};
  const uint8_t *p = line;
  slots_t sl = {.tmp = &nj->tmp};
  ws(&p, sc.end);
  /* The line starts with '{' (the codec checked): validate it, taking the entry's keys on the way. */
  if (scan_container(&sc, &p, 0, '}', take_member, &sl) == 0) {
    ws(&p, sc.end);
    if (p != sc.end) fail(&sc, p, "invalid JSON: unexpected character after the object");
  }
  if (sc.why) {
    if (strncmp(sc.why, "JSON nested", 11) == 0) snprintf(why, 96, "%s", sc.why);
    else snprintf(why, 96, "%s at byte %zu", sc.why, sc.at);
    return 1;
  }
  jval_t ts = sl.ts, lvl = sl.lvl, mod = sl.mod, msg = sl.msg, alt = sl.alt, lk = sl.lk, args = sl.args, src = sl.src, fields = sl.fields,
         trunc = sl.trunc;
  /* labels and multiline: a draft line's only (ndjson_opts_t.draft) */
  int keep_nl = o->draft && sl.multi.type == J_TRUE;
  entry_parts_t e = {.node = o->node};
  /* level */
  e.level = o->default_level;
  const uint8_t *t;
  size_t tn;
  if (lvl.type == J_STR) {
    if (string_text(&lvl, &nj->tmp, &t, &tn)) return -1;
    int l = parse_level(t, tn);
    if (l >= 0) e.level = l;
  }
  *level = e.level;
  if (e.level < o->min_level) return 2;
  /* timestamp */
  uint8_t ts_text[24];
  e.ts_ms = received_ms;
  if (ts.type == J_STR) {
    double ms;
    if (string_text(&ts, &nj->tmp, &t, &tn)) return -1;
    if (parse_timestamp(t, tn, &ms) == 0) {
      e.ts_ms = ms;
      /* YYYY-MM-DDTHH:MM:SS.mmmZ that parsed (every field in range) is already what toISOString writes */
      if (tn == 24 && t[10] == 'T' && t[19] == '.' && t[23] == 'Z') e.ts_text = memcpy(ts_text, t, 24); /* (t may be scratch) */
    }
  } else if (ts.type == J_NUM) {
    double ms;
    if (timestamp_of_number(number_of(&ts, &nj->tmp), &ms) == 0) e.ts_ms = ms;
  }
  /* module */
  char module[17];
  if (mod.type == J_STR) {
    if (string_text(&mod, &nj->tmp, &t, &tn)) return -1;
    sanitise_module(t, tn, module);
    e.module = module;
    e.plain |= ENTRY_PLAIN_MODULE; /* A-Z, 0-9, '_', '.', '-' */
  } else e.module = o->default_module;
  /* message: "message" unless absent or null, then "msg"; text as is, other values as their JSON */
  const jval_t *mv = msg.type && msg.type != J_NULL ? &msg : alt.type ? &alt : NULL;
  const uint8_t *message = (const uint8_t *)"";
  size_t message_len = 0;
  if (mv) {
    if (value_text(mv, &nj->text, &nj->tmp, &t, &tn)) return -1;
    if (t != nj->text.data && !has_ctl(t, tn)) {
      /* in the line, and sanitising changes nothing; a string token without escapes, so plain JSON text (and so is any cut of it) */
      message = t, message_len = tn;
      e.plain |= ENTRY_PLAIN_MESSAGE;
    }
    else {
      /* nj->text is scratch again below: the message moves to its own buffer */
      if (buf_reserve(&nj->msg, tn * 6 + 1)) return -1;
      message = nj->msg.data, message_len = escape_controls_nl(t, tn, nj->msg.data, keep_nl);
    }
  }
  e.message = message;
  e.message_len = cut_bytes(message, message_len, o->max_message_bytes);
  e.truncated = e.message_len < message_len || trunc.type == J_TRUE;
  /* lang_key */
  if (lk.type == J_STR) {
    if (string_text(&lk, &nj->lang, &t, &tn)) return -1;
    if (lang_key_ok(t, tn)) e.lang_key = t, e.lang_key_len = tn;
  }
  /* args */
  if (args.type == J_ARR) {
    if (render_args(nj, &args, &nj->args)) return -1;
    e.args_json = nj->args.data, e.args_len = nj->args.len;
  }
  /* source: the input's own, else the line's */
  if (o->source[0]) e.source = (const uint8_t *)o->source, e.source_len = strlen(o->source);
  else if (src.type == J_STR) {
    if (string_text(&src, &nj->text, &t, &tn)) return -1;
    if (t != nj->text.data && tn <= ENTRY_MAX_SOURCE_UNITS && !has_ctl(t, tn)) e.source = t, e.source_len = tn, e.plain |= ENTRY_PLAIN_SOURCE;
    else {
      nj->src.len = 0;
      if (put_clean(&nj->src, t, tn, ENTRY_MAX_SOURCE_UNITS)) return -1;
      e.source = nj->src.data, e.source_len = nj->src.len;
    }
  }
  /* fields */
  if (fields.type == J_OBJ) {
    int r = render_members(nj, &fields, &FIELDS_RULE, &found, &nj->fields);
    if (r < 0) return -1;
    if (r == 0) e.fields_json = nj->fields.data, e.fields_len = nj->fields.len;
  }
  if (o->draft && sl.labels.type == J_OBJ) {
    int r = render_members(nj, &sl.labels, &LABELS_RULE, NULL, &nj->labels);
    if (r < 0) return -1;
    if (r == 0) e.labels_json = nj->labels.data, e.labels_len = nj->labels.len;
  }
  return entry_write(out, &e);
}

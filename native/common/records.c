#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "plugin_loader.h"

/* A cursor over one record's JSON; strings are unescaped into out (the batch's arena). */
typedef struct {
  const uint8_t *p, *end;
  char *out;
} cur_t;

/* Nesting deeper than this (only possible inside fields, which are skipped) is refused. */
#define MAX_DEPTH 32

static void skip_ws(cur_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(cur_t *c, uint8_t ch) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != ch) return -1;
  c->p++;
  return 0;
}

static int hex4(const uint8_t *p, uint32_t *v) {
  uint32_t r = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t h = p[i];
    r <<= 4;
    if (h >= '0' && h <= '9') r |= (uint32_t)(h - '0');
    else if (h >= 'a' && h <= 'f') r |= (uint32_t)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') r |= (uint32_t)(h - 'A' + 10);
    else return -1;
  }
  *v = r;
  return 0;
}

static void put_utf8(cur_t *c, uint32_t cp) {
  if (cp < 0x80) {
    *c->out++ = (char)cp;
  } else if (cp < 0x800) {
    *c->out++ = (char)(0xC0 | (cp >> 6));
    *c->out++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *c->out++ = (char)(0xE0 | (cp >> 12));
    *c->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *c->out++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *c->out++ = (char)(0xF0 | (cp >> 18));
    *c->out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *c->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *c->out++ = (char)(0x80 | (cp & 0x3F));
  }
}

/*
 * A JSON string at the cursor, unescaped into the arena and NUL-terminated. The output never
 * outgrows the input: an escape yields fewer bytes than it spans, and the NUL takes the place of
 * the closing quote. A lone surrogate becomes U+FFFD, as Node's UTF-8 encoder makes it.
 */
static const char *read_string(cur_t *c) {
  if (eat(c, '"')) return NULL;
  char *start = c->out;
  while (c->p < c->end) {
    uint8_t ch = *c->p++;
    if (ch == '"') {
      *c->out++ = 0;
      return start;
    }
    if (ch != '\\') {
      *c->out++ = (char)ch;
      continue;
    }
    if (c->p >= c->end) return NULL;
    ch = *c->p++;
    switch (ch) {
      case '"': case '\\': case '/': *c->out++ = (char)ch; break;
      case 'b': *c->out++ = '\b'; break;
      case 'f': *c->out++ = '\f'; break;
      case 'n': *c->out++ = '\n'; break;
      case 'r': *c->out++ = '\r'; break;
      case 't': *c->out++ = '\t'; break;
      case 'u': {
        uint32_t cp, lo;
        if (c->end - c->p < 4 || hex4(c->p, &cp)) return NULL;
        c->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' && !hex4(c->p + 2, &lo) &&
            lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          c->p += 6;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        put_utf8(c, cp);
        break;
      }
      default: return NULL;
    }
  }
  return NULL;
}

/* A number or literal (true, false, null): its JSON text, copied into the arena. */
static const char *read_scalar(cur_t *c) {
  skip_ws(c);
  const uint8_t *s = c->p;
  while (c->p < c->end && (((*c->p | 0x20) >= 'a' && (*c->p | 0x20) <= 'z') || (*c->p >= '0' && *c->p <= '9') || *c->p == '-' ||
                           *c->p == '+' || *c->p == '.'))
    c->p++;
  size_t n = (size_t)(c->p - s);
  /* The text is followed by ',' or ']' at least, which pays for the NUL. */
  if (n == 0 || c->p >= c->end) return NULL;
  char *start = c->out;
  memcpy(c->out, s, n);
  c->out += n;
  *c->out++ = 0;
  return start;
}

static int skip_value(cur_t *c, int depth);

static int skip_container(cur_t *c, uint8_t close, int depth) {
  if (depth > MAX_DEPTH) return -1;
  c->p++;
  skip_ws(c);
  if (c->p < c->end && *c->p == close) return c->p++, 0;
  for (;;) {
    if (close == '}') {
      char *mark = c->out;
      if (!read_string(c) || eat(c, ':')) return -1;
      c->out = mark; /* the key is not kept */
    }
    if (skip_value(c, depth + 1)) return -1;
    skip_ws(c);
    if (c->p >= c->end) return -1;
    if (*c->p == close) return c->p++, 0;
    if (*c->p++ != ',') return -1;
  }
}

/* Skips a value of a key the ABI has no place for (fields, seq, truncated). */
static int skip_value(cur_t *c, int depth) {
  skip_ws(c);
  if (c->p >= c->end) return -1;
  char *mark = c->out;
  int ok;
  if (*c->p == '{') ok = skip_container(c, '}', depth) == 0;
  else if (*c->p == '[') ok = skip_container(c, ']', depth) == 0;
  else if (*c->p == '"') ok = read_string(c) != NULL;
  else ok = read_scalar(c) != NULL;
  c->out = mark;
  return ok ? 0 : -1;
}

/* A growing list of arg pointers for the whole batch. */
typedef struct {
  const char **v;
  size_t used, cap;
} args_t;

static int args_push(args_t *a, const char *s) {
  if (a->used == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    const char **g = realloc(a->v, cap * sizeof *g);
    if (!g) return -1;
    a->v = g;
    a->cap = cap;
  }
  a->v[a->used++] = s;
  return 0;
}

static int read_args(cur_t *c, args_t *a, size_t *argc) {
  if (eat(c, '[')) return -1;
  skip_ws(c);
  if (c->p < c->end && *c->p == ']') return c->p++, 0;
  for (;;) {
    skip_ws(c);
    const char *s = c->p < c->end && *c->p == '"' ? read_string(c) : read_scalar(c);
    if (!s || args_push(a, s)) return -1;
    (*argc)++;
    skip_ws(c);
    if (c->p >= c->end) return -1;
    if (*c->p == ']') return c->p++, 0;
    if (*c->p++ != ',') return -1;
  }
}

static int key_is(const char *k, const char *want) { return strcmp(k, want) == 0; }

/* One entry object; its args are appended to a. */
static int read_entry(cur_t *c, log_entry_t *e, args_t *a) {
  if (eat(c, '{')) return -1;
  skip_ws(c);
  if (c->p < c->end && *c->p == '}') return c->p++, 0;
  for (;;) {
    char *mark = c->out;
    const char *key = read_string(c);
    if (!key || eat(c, ':')) return -1;
    const char **slot = key_is(key, "timestamp") ? &e->timestamp
                        : key_is(key, "level")   ? &e->level
                        : key_is(key, "module")  ? &e->module
                        : key_is(key, "message") ? &e->message
                        : key_is(key, "lang_key") ? &e->lang_key
                        : key_is(key, "node")    ? &e->node
                        : key_is(key, "source")  ? &e->source
                                                 : NULL;
    c->out = mark; /* keys are not kept */
    skip_ws(c);
    if (slot && c->p < c->end && *c->p == '"') {
      if (!(*slot = read_string(c))) return -1;
    } else if (key_is(key, "args") && c->p < c->end && *c->p == '[') {
      if (read_args(c, a, &e->argc)) return -1;
    } else if (skip_value(c, 0)) {
      return -1;
    }
    skip_ws(c);
    if (c->p >= c->end) return -1;
    if (*c->p == '}') return c->p++, 0;
    if (*c->p++ != ',') return -1;
  }
}

long ll_records_decode(const uint8_t *buf, size_t len, ll_records_t *out) {
  memset(out, 0, sizeof *out);
  /* Count the frames first: one allocation for the entries. */
  size_t n = 0;
  for (size_t off = 0; off < len; n++) {
    uint32_t rl;
    if (len - off < 4) return -1;
    memcpy(&rl, buf + off, 4); /* little-endian hosts only (x86, arm) */
    if ((size_t)rl > len - off - 4) return -1;
    off += 4 + (size_t)rl;
  }
  log_entry_t *es = calloc(n ? n : 1, sizeof *es);
  size_t *first = calloc(n ? n : 1, sizeof *first);
  char *arena = malloc(len + 1);
  args_t a = {0};
  if (!es || !first || !arena) goto fail;
  cur_t c = {.out = arena};
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t rl;
    memcpy(&rl, buf + off, 4);
    c.p = buf + off + 4;
    c.end = c.p + rl;
    off += 4 + (size_t)rl;
    /* The header before the JSON: 'E' (codec), or 'K' + u32 token + u16 input (agent/buffer/records.ts). */
    if (c.p < c.end && *c.p == 'E') c.p++;
    else if (c.p < c.end && *c.p == 'K') {
      if (c.end - c.p < 7) goto fail;
      c.p += 7;
    }
    first[i] = a.used;
    if (read_entry(&c, &es[i], &a)) goto fail;
    skip_ws(&c);
    if (c.p != c.end) goto fail; /* trailing bytes: not one JSON object */
    log_entry_t *e = &es[i];
    if (!e->message) e->message = "";
    if (!e->level) e->level = "INFO";
    if (!e->module) e->module = "APP";
    if (!e->timestamp) e->timestamp = "";
    e->level_num = ll_level_num(e->level);
  }
  /* Pointers into the args list only now: it may have moved while growing. */
  for (size_t i = 0; i < n; i++) es[i].args = es[i].argc ? a.v + first[i] : NULL;
  free(first);
  out->entries = es;
  out->args = a.v;
  out->arena = arena;
  return (long)n;
fail:
  free(es);
  free(first);
  free(arena);
  free(a.v);
  return -1;
}

void ll_records_free(ll_records_t *r) {
  free(r->entries);
  free(r->args);
  free(r->arena);
  memset(r, 0, sizeof *r);
}

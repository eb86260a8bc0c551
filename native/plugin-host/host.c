/*
 * logloom-plugin-host: runs ONE C plugin (.so) in its own process so that a segfault, abort or
 * endless loop in the plugin takes down or stalls only this process; the agent's supervisor sees
 * the pipe close (or the call time out), reports it and restarts the host with backoff.
 *
 * Usage: logloom-plugin-host            (speaks the frame protocol of common/frames.h on fd 3)
 * fd 1 and 2 stay the agent's stdout/stderr, so a plugin that prints does not corrupt the protocol.
 * Kept deliberately small (no stdio buffers on the protocol path) so its own RSS stays well
 * under 2 MiB; the plugin's memory comes on top.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/frames.h"
#include "../common/plugin_loader.h"
#include "../common/records.h"

#define PROTO_FD 3
#define SHRINK_ABOVE (64u * 1024u)

static int read_all(int fd, void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r == 0) return -1; /* agent gone */
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_all(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* A growable output buffer for one reply frame. */
typedef struct {
  uint8_t *data;
  size_t len, cap;
} obuf_t;

static void ob_reserve(obuf_t *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more) cap *= 2;
  uint8_t *d = realloc(b->data, cap);
  if (!d) _exit(70);
  b->data = d;
  b->cap = cap;
}
static void ob_put(obuf_t *b, const void *p, size_t n) {
  ob_reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
}
static void ob_u32(obuf_t *b, uint32_t v) { ob_put(b, &v, 4); }
static void ob_str(obuf_t *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  ob_u32(b, (uint32_t)n);
  ob_put(b, s ? s : "", n);
  ob_put(b, "", 1);
}

/* Starts a reply: room for the length, then op and status. */
static void reply_begin(obuf_t *b, uint8_t op, int32_t status) {
  b->len = 0;
  ob_u32(b, 0);
  ob_put(b, &op, 1);
  ob_put(b, &status, 4);
}
static int reply_send(obuf_t *b) {
  uint32_t n = (uint32_t)(b->len - 4);
  memcpy(b->data, &n, 4);
  return write_all(PROTO_FD, b->data, b->len);
}

/* emit() and add() callbacks: append one item of 3 strings to the reply being built. */
typedef struct {
  obuf_t *out;
  uint32_t count, max;
} items_t;

static int emit_result(void *ctx, const ai_result_t *r) {
  items_t *it = ctx;
  if (!r || it->count >= it->max) return -1;
  ob_str(it->out, r->level);
  ob_str(it->out, r->message);
  ob_str(it->out, r->lang_key);
  it->count++;
  return 0;
}

static int add_template(void *ctx, const char *lang, const char *key, const char *tmpl) {
  items_t *it = ctx;
  if (!lang || !key || !tmpl || it->count >= it->max) return -1;
  ob_str(it->out, lang);
  ob_str(it->out, key);
  ob_str(it->out, tmpl);
  it->count++;
  return 0;
}

/* Runs an ai or catalogue call whose results are appended through a callback: status, rc, count, items. */
static void reply_items(obuf_t *out, uint8_t op, uint32_t max, int (*call)(ll_plugin_t *, const void *, items_t *), ll_plugin_t *p, const void *arg) {
  reply_begin(out, op, 0);
  size_t rc_at = out->len;
  ob_u32(out, 0);
  size_t n_at = out->len;
  ob_u32(out, 0);
  items_t it = {out, 0, max};
  int32_t rc = call(p, arg, &it);
  memcpy(out->data + rc_at, &rc, 4);
  memcpy(out->data + n_at, &it.count, 4);
}

static int call_analyze(ll_plugin_t *p, const void *entry, items_t *it) {
  return p->analyze((const log_entry_t *)entry, emit_result, it);
}

static int call_catalogue(ll_plugin_t *p, const void *unused, items_t *it) {
  (void)unused;
  return p->catalogue ? p->catalogue(add_template, it) : 0;
}

int main(void) {
  /* The agent may die first; a write to the closed pipe must not kill us silently mid-shutdown. */
  signal(SIGPIPE, SIG_IGN);
  ll_plugin_t plugin;
  memset(&plugin, 0, sizeof plugin);
  int loaded = 0, is_sink = 0, expected = 0;
  obuf_t out = {0};
  uint8_t *in = NULL;
  size_t in_cap = 0;
  char err[512];

  for (;;) {
    uint8_t hdr[5];
    if (read_all(PROTO_FD, hdr, 5)) break;
    uint32_t len;
    memcpy(&len, hdr, 4);
    if (len < 1 || len > LL_MAX_FRAME) break;
    size_t body = len - 1;
    if (body + 1 > in_cap) {
      in_cap = body + 1;
      free(in);
      in = malloc(in_cap);
      if (!in) _exit(70);
    }
    if (body && read_all(PROTO_FD, in, body)) break;
    in[body] = 0;
    uint8_t op = hdr[4];

    if (op == LL_OP_LOAD) {
      const char *path = (const char *)in;
      size_t plen = strnlen(path, body);
      const char *config = plen + 1 < body ? path + plen + 1 : "";
      size_t clen = strnlen(config, body - plen - 1);
      expected = plen + clen + 2 < body + 1 ? in[plen + clen + 2] : 0;
      if (loaded) ll_plugin_unload(&plugin);
      loaded = 0;
      if (expected > LL_TYPE_LANG) {
        reply_begin(&out, op, -1);
        ob_str(&out, "unknown plugin type code");
      } else if (ll_plugin_load(&plugin, path, (ll_type_t)expected, err, sizeof err)) {
        reply_begin(&out, op, -1);
        ob_str(&out, err);
      } else if (ll_plugin_start(&plugin, config, err, sizeof err)) {
        reply_begin(&out, op, -2);
        ob_str(&out, err);
      } else {
        loaded = 1;
        const plugin_info_t *i = plugin.info_data;
        is_sink = plugin.type == LL_TYPE_SINK;
        reply_begin(&out, op, 0);
        uint8_t has = i != NULL;
        ob_put(&out, &has, 1);
        if (i) {
          ob_str(&out, i->name);
          ob_str(&out, i->version);
          ob_str(&out, i->author);
          ob_str(&out, i->type);
          ob_str(&out, i->mode);
          /* capabilities joined with '\n' */
          size_t start = out.len;
          ob_u32(&out, 0);
          uint32_t n = 0;
          for (const char *const *c = i->capability; c && *c; c++) {
            if (n) ob_put(&out, "\n", 1), n++;
            size_t l = strlen(*c);
            ob_put(&out, *c, l);
            n += (uint32_t)l;
          }
          ob_put(&out, "", 1);
          memcpy(out.data + start, &n, 4);
        }
      }
      if (reply_send(&out)) break;
    } else if (op == LL_OP_PROCESS || op == LL_OP_RECORDS) {
      /* The same call either way; only the entries' form differs (binary batch or records). */
      ll_records_t rec = {0};
      const char **args = NULL;
      long n = !loaded ? -1 : op == LL_OP_PROCESS ? ll_batch_decode(in, body, &rec.entries, &args) : ll_records_decode(in, body, &rec);
      if (n < 0) {
        reply_begin(&out, op, loaded ? -3 : -4); /* -3 malformed batch, -4 not loaded */
        ob_u32(&out, 0);
      } else {
        reply_begin(&out, op, 0);
        ob_u32(&out, (uint32_t)n);
        int32_t *results = malloc((size_t)(n ? n : 1) * sizeof *results); /* aligned, unlike the frame */
        if (!results) _exit(70);
        ll_batch_run(&plugin, is_sink, rec.entries, (size_t)n, results);
        ob_put(&out, results, (size_t)n * 4);
        free(results);
        free(args);
        ll_records_free(&rec);
      }
      if (reply_send(&out)) break;
    } else if (op == LL_OP_ANALYZE) {
      ll_records_t rec = {0};
      const char **args = NULL;
      long n = loaded && plugin.analyze ? ll_batch_decode(in, body, &rec.entries, &args) : -1;
      if (n != 1) {
        reply_begin(&out, op, !loaded ? -4 : !plugin.analyze ? -5 : -3); /* -5: not an ai plugin */
      } else {
        reply_items(&out, op, LOGLOOM_MAX_AI_RESULTS, call_analyze, &plugin, rec.entries);
      }
      free(args);
      free(rec.entries);
      if (reply_send(&out)) break;
    } else if (op == LL_OP_RESOLVE) {
      const char *key = (const char *)in;
      size_t klen = strnlen(key, body);
      const char *lang = klen + 1 < body ? key + klen + 1 : "en";
      if (!loaded || !plugin.resolve) {
        reply_begin(&out, op, !loaded ? -4 : -5);
      } else {
        const char *t = plugin.resolve(key, lang);
        reply_begin(&out, op, 0);
        uint8_t found = t != NULL;
        ob_put(&out, &found, 1);
        ob_str(&out, t);
      }
      if (reply_send(&out)) break;
    } else if (op == LL_OP_CATALOGUE) {
      if (!loaded || !plugin.resolve) reply_begin(&out, op, !loaded ? -4 : -5);
      else reply_items(&out, op, LL_MAX_CATALOGUE, call_catalogue, &plugin, NULL);
      if (reply_send(&out)) break;
    } else if (op == LL_OP_QUIT) {
      if (loaded) ll_plugin_unload(&plugin);
      loaded = 0;
      reply_begin(&out, op, 0);
      reply_send(&out);
      break;
    } else {
      break; /* unknown op: the stream is out of sync, stop rather than guess */
    }
    /* Give big batch buffers back (glibc returns large blocks to the kernel) so a burst does not
     * keep the host's RSS up for good. */
    if (in_cap > SHRINK_ABOVE) {
      free(in);
      in = NULL;
      in_cap = 0;
    }
    if (out.cap > SHRINK_ABOVE) {
      free(out.data);
      out.data = NULL;
      out.cap = out.len = 0;
    }
  }
  if (loaded) ll_plugin_unload(&plugin);
  return 0;
}

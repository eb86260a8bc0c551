/*
 * logloom_native: the N-API addon. Exposes the ring (operating on a SharedArrayBuffer view whose
 * layout agent/buffer/ring-layout.ts defines), the fast codec, in-process (trusted) C plugins,
 * and the pieces of the records path that read or copy every record: level verdicts (levels.h),
 * the forwarder's batch lines (forward-lines.h) and its deflate on the thread pool (deflate.h).
 * Plain N-API (C), so it builds with any C compiler for any Node-API version-8 runtime.
 */

#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "codec.h"
#include "kmsg.h"
#include "console.h"
#include "ingest.h"
#include "inflate.h"
#include "dgram.h"
#include "startup-pages.h"
#include "levels.h"
#include "forward-lines.h"
#include "deflate.h"
#ifndef LOGLOOM_LOCKED
#define LOGLOOM_LOCKED 0
#endif
#include "inproc.h"
#include "../../common/records.h"
#include "ring.h"

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

/* The ring view (a Uint8Array over the whole SharedArrayBuffer), or NULL when its header does not check. */
static uint8_t *ring_of(uint8_t *p, size_t n) {
  if (n < RING_HEADER) return NULL;
  uint32_t magic, cap;
  memcpy(&magic, p, 4);
  memcpy(&cap, p + 4, 4);
  if (magic != RING_MAGIC || (size_t)cap + RING_HEADER > n || ((uintptr_t)p & 7)) return NULL;
  return p;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/* ringPush(view, record, policy) -> PUSH_* code */
static napi_value RingPush(napi_env env, napi_callback_info info) {
  static const char usage[] = "ringPush(view, record, policy)";
  uint8_t *view, *rec, *ring;
  size_t view_len, len;
  int32_t policy;
  if (ll_args(env, info, usage, "BBi", &view, &view_len, &rec, &len, &policy)) return NULL;
  if (!(ring = ring_of(view, view_len))) return ll_throw_type(env, usage);
  if (len > 0xFFFFFFF0u) return make_int(env, PUSH_OVERSIZE);
  return make_int(env, ring_push(ring, rec, (uint32_t)len, policy));
}

/* ringPushFrames(view, frames, policy) -> bytes consumed */
static napi_value RingPushFrames(napi_env env, napi_callback_info info) {
  static const char usage[] = "ringPushFrames(view, frames, policy)";
  uint8_t *view, *frames, *ring;
  size_t view_len, len;
  int32_t policy;
  if (ll_args(env, info, usage, "BBi", &view, &view_len, &frames, &len, &policy)) return NULL;
  if (!(ring = ring_of(view, view_len))) return ll_throw_type(env, usage);
  return make_int(env, (int64_t)ring_push_frames(ring, frames, len, policy));
}

/* ringDrain(view, maxRecords, maxBytes) -> Buffer of frames (u32 len + payload), or null when empty */
static napi_value RingDrain(napi_env env, napi_callback_info info) {
  static const char usage[] = "ringDrain(view, maxRecords, maxBytes[, count Uint32Array(1)])";
  uint8_t *view, *ring;
  size_t view_len;
  uint32_t max_records;
  double max_bytes;
  if (ll_args(env, info, usage, "Bud", &view, &view_len, &max_records, &max_bytes)) return NULL;
  if (!(ring = ring_of(view, view_len))) return ll_throw_type(env, usage);
  /* count: where the caller learns how many records the Buffer holds, without walking it. */
  size_t argc = 4;
  napi_value argv[4];
  uint8_t *count = NULL;
  size_t count_len = 0;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 4 && napi_typeof(env, argv[3], &t) == napi_ok && t != napi_undefined &&
      (ll_bytes_of(env, argv[3], &count, &count_len) || count_len < 4 || ((uintptr_t)count & 3)))
    return ll_throw_type(env, usage);
  for (int attempt = 0; attempt < 1000; attempt++) {
    uint32_t records;
    size_t bytes;
    int32_t tail, evseq;
    ring_drain_plan(ring, max_records, (size_t)max_bytes, &records, &bytes, &tail, &evseq);
    if (records == 0) {
      ring_drain_commit(ring, tail, evseq, 0, NULL, 0); /* steps over a lone wrap marker */
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;
    }
    void *out;
    napi_value buf;
    CHECK(napi_create_buffer(env, bytes, &out, &buf));
    if (ring_drain_commit(ring, tail, evseq, records, out, bytes) == 0) {
      if (count) *(uint32_t *)count = records;
      return buf;
    }
  }
  napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "ringDrain: producer kept evicting");
  return NULL;
}

/* ---- codec ---- */

static void codec_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  codec_free(data);
}

/*
 * Format serial's options from codecNew's 9th argument ({ serial: {...} }; absent: the defaults): into
 * o, the separator's bytes pointing into the Buffer (serial_init copies them). 0, or -1 with a
 * TypeError thrown that names the option.
 */
static int serial_options(napi_env env, napi_value opts, serial_opts_t *o) {
  *o = (serial_opts_t){.parse = 1, .group_oops = 1, .detect_boot = 1, .oops_max_lines = 1000};
  napi_valuetype t = napi_undefined;
  if (opts) napi_typeof(env, opts, &t);
  if (t == napi_undefined || t == napi_null) return 0;
  napi_value so;
  if (t != napi_object || napi_get_named_property(env, opts, "serial", &so) != napi_ok) goto bad;
  napi_typeof(env, so, &t);
  if (t == napi_undefined) return 0;
  if (t != napi_object) goto bad;
  static const char *const FLAGS[] = {"latin1", "parse", "groupOops", "detectBoot", "lineNotes"};
  int *dst[] = {&o->latin1, &o->parse, &o->group_oops, &o->detect_boot, &o->line_notes};
  for (int i = 0; i < 5; i++) {
    napi_value v;
    bool b;
    if (napi_get_named_property(env, so, FLAGS[i], &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) goto bad;
    if (t == napi_undefined) continue;
    if (napi_get_value_bool(env, v, &b) != napi_ok) goto bad;
    *dst[i] = b;
  }
  napi_value v;
  if (napi_get_named_property(env, so, "oopsMaxLines", &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) goto bad;
  if (t != napi_undefined && (napi_get_value_uint32(env, v, &o->oops_max_lines) != napi_ok || o->oops_max_lines < 1)) goto bad;
  if (napi_get_named_property(env, so, "separator", &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) goto bad;
  if (t != napi_undefined) {
    uint8_t *sep;
    if (ll_bytes_of(env, v, &sep, &o->sep_len) || o->sep_len == 0) goto bad;
    o->sep = sep;
  }
  return 0;
bad:
  ll_throw_type(env, "codecNew: options.serial is { separator?: non-empty Uint8Array, latin1?, parse?, groupOops?, detectBoot?, lineNotes?: boolean, oopsMaxLines?: number >= 1 }");
  return -1;
}

/* Property name of o: 1 with its value and type when it is there and not undefined, 0 when absent, -1 on failure. */
static int opt_get(napi_env env, napi_value o, const char *name, napi_value *x, napi_valuetype *t) {
  bool has;
  if (napi_has_named_property(env, o, name, &has) != napi_ok) return -1;
  if (!has) return 0;
  if (napi_get_named_property(env, o, name, x) != napi_ok || napi_typeof(env, *x, t) != napi_ok) return -1;
  return *t == napi_undefined ? 0 : 1;
}

/* A number property of an options object: 0 (absent: *v unchanged), or -1 when it is there and not a number. */
static int opt_number(napi_env env, napi_value o, const char *name, double *v) {
  napi_value x;
  napi_valuetype t;
  int r = opt_get(env, o, name, &x, &t);
  if (r <= 0) return r;
  return t == napi_number && napi_get_value_double(env, x, v) == napi_ok ? 0 : -1;
}

static int opt_bool(napi_env env, napi_value o, const char *name, int *v) {
  napi_value x;
  napi_valuetype t;
  bool b;
  int r = opt_get(env, o, name, &x, &t);
  if (r <= 0) return r;
  if (t != napi_boolean || napi_get_value_bool(env, x, &b) != napi_ok) return -1;
  *v = b;
  return 0;
}

/* A string property (copied with malloc into *v: free it), like opt_number. */
static int opt_string(napi_env env, napi_value o, const char *name, char **v) {
  napi_value x;
  napi_valuetype t;
  size_t n;
  int r = opt_get(env, o, name, &x, &t);
  if (r <= 0) return r;
  if (t != napi_string || napi_get_value_string_utf8(env, x, NULL, 0, &n) != napi_ok || !(*v = malloc(n + 1))) return -1;
  if (napi_get_value_string_utf8(env, x, *v, n + 1, &n) != napi_ok) return free(*v), *v = NULL, -1;
  return 0;
}

/*
 * The format's own options: the 9th argument of codecNew, an object holding one per format
 * ({ kmsg: { bootWallMs, lastSeq, skipAll, whole, module } }), read into the format's C struct and handed to
 * its init. NULL: fine (absent or nothing for this format); else the TypeError's message.
 */
static const char *codec_format_options(napi_env env, napi_callback_info info, codec_t *c, int format) {
  size_t argc = 9;
  napi_value argv[9];
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return "codecNew: cannot read the arguments";
  napi_value o = argc >= 9 ? argv[8] : NULL;
  if (o && napi_typeof(env, o, &t) != napi_ok) return "codecNew: cannot read the options";
  if (t != napi_undefined && t != napi_null && t != napi_object) return "codecNew: options is not an object";
  napi_value k = NULL;
  napi_valuetype kt = napi_undefined;
  if (t == napi_object && format == CODEC_KMSG && napi_get_named_property(env, o, "kmsg", &k) == napi_ok && napi_typeof(env, k, &kt) != napi_ok)
    return "codecNew: cannot read options.kmsg";
  if (format == CODEC_KMSG) {
    kmsg_opts_t ko = {.boot_wall_ms = 0, .last_seq = -1, .skip_all = 0, .whole = 0, .module = NULL};
    char *module = NULL;
    if (kt != napi_undefined && kt != napi_object) return "codecNew: options.kmsg is not an object";
    if (kt == napi_object) {
      if (opt_number(env, k, "bootWallMs", &ko.boot_wall_ms)) return "codecNew: options.kmsg.bootWallMs is not a number";
      if (opt_number(env, k, "lastSeq", &ko.last_seq)) return "codecNew: options.kmsg.lastSeq is not a number";
      if (opt_bool(env, k, "skipAll", &ko.skip_all)) return "codecNew: options.kmsg.skipAll is not a boolean";
      if (opt_bool(env, k, "whole", &ko.whole)) return "codecNew: options.kmsg.whole is not a boolean";
      if (opt_string(env, k, "module", &module)) return "codecNew: options.kmsg.module is not a string";
    }
    ko.module = module;
    int rc = kmsg_init(c, &ko);
    free(module);
    if (rc) return "codecNew: out of memory";
  }
  return NULL;
}

/* codecNew(maxLineBytes, maxMessageBytes, minLevel, defaultLevel, defaultModule, node, source, format 0 auto | 1 json | 2 text | 3 syslog | 4 syslog datagram | 5 draft | 6 kmsg | 7 serial[, options])
 * options: the format's own ({ kmsg: {...} }: codec_format_options; { serial: {...} }: serial_options). */
static napi_value CodecNew(napi_env env, napi_callback_info info) {
  uint32_t max_line, max_msg;
  int32_t min_level, default_level, format;
  char *mod, *node, *source;
  if (ll_args(env, info, "codecNew(maxLineBytes, maxMessageBytes, minLevel, defaultLevel, defaultModule, node, source, format[, options])", "uuiisssi",
              &max_line, &max_msg, &min_level, &default_level, &mod, &node, &source, &format))
    return NULL;
  size_t argc = 9;
  napi_value argv[9] = {0};
  serial_opts_t so;
  int opts_ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && (format != CODEC_SERIAL || serial_options(env, argc >= 9 ? argv[8] : NULL, &so) == 0);
  codec_t *c = NULL;
  int numbers_ok = min_level >= 0 && min_level <= 4 && default_level >= 0 && default_level <= 4 && format >= 0 && format <= CODEC_SERIAL;
  if (numbers_ok && opts_ok) c = codec_new(max_line, max_msg, min_level, default_level, mod, node, source, format);
  free(mod), free(node), free(source);
  if (!opts_ok) return NULL; /* thrown */
  if (!numbers_ok) return ll_throw_type(env, "codecNew: bad numbers");
  if (c && format == CODEC_SERIAL && serial_init(c, &so)) codec_free(c), c = NULL;
  if (!c) return ll_throw_type(env, "codecNew: out of memory or bad strings");
  const char *bad = codec_format_options(env, info, c, format);
  if (bad) {
    codec_free(c);
    return ll_throw_type(env, bad);
  }
  napi_value ext;
  CHECK(napi_create_external(env, c, codec_finalize, NULL, &ext));
  return ext;
}

/*
 * Where codec calls write their framed records: one buffer per thread, shared by every codec (a call
 * runs to its end before the next starts, and its output is copied into a Buffer before it returns),
 * so a busy input does not regrow a buffer from 4 KiB through the chunk's size on every call, and an
 * idle connection holds none. Kept up to 1 MiB; a bigger one (a huge chunk) is given back.
 */
static __thread buf_t codec_out;
#define CODEC_OUT_KEEP (1u << 20)

/* A codec call's output as a Buffer, or a thrown error when the call failed (rc != 0). */
static napi_value copy_buffer(napi_env env, int rc, buf_t *b, const char *oom) {
  napi_value buf = NULL;
  void *out;
  if (rc) ll_throw_type(env, oom);
  else if (napi_create_buffer_copy(env, b->len, b->data ? (void *)b->data : (void *)"", &out, &buf) != napi_ok) buf = NULL;
  b->len = 0;
  if (b->cap > CODEC_OUT_KEEP) free(b->data), *b = (buf_t){0};
  return buf;
}

static napi_value refuse_busy(napi_env env) {
  napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "codec: a feed is running on the thread pool (wait for its callback)");
  return NULL;
}

/* codecFeed(codec, chunk, receivedMs) -> Buffer of framed records */
static napi_value CodecFeed(napi_env env, napi_callback_info info) {
  codec_t *c;
  uint8_t *chunk;
  size_t len;
  double ms;
  if (ll_args(env, info, "codecFeed(codec, chunk, receivedMs)", "xBd", (void **)&c, &chunk, &len, &ms)) return NULL;
  if (c->busy) return refuse_busy(env);
  return copy_buffer(env, codec_feed(c, chunk, len, ms, &codec_out), &codec_out, "codecFeed: out of memory");
}

/*
 * codecFeedInto(codec, chunk, receivedMs, out) -> the number of bytes of framed records written
 * into out, or, when they do not fit, a Buffer of their own (as codecFeed). A caller that reads the
 * records before its next call reuses out, instead of a new Buffer per chunk: memory outside the V8
 * heap that only a collection gives back.
 */
static napi_value CodecFeedInto(napi_env env, napi_callback_info info) {
  codec_t *c;
  uint8_t *chunk, *dst;
  size_t len, dst_len;
  double ms;
  if (ll_args(env, info, "codecFeedInto(codec, chunk, receivedMs, out)", "xBdB", (void **)&c, &chunk, &len, &ms, &dst, &dst_len)) return NULL;
  if (c->busy) return refuse_busy(env);
  int rc = codec_feed(c, chunk, len, ms, &codec_out);
  if (rc || codec_out.len > dst_len) return copy_buffer(env, rc, &codec_out, "codecFeedInto: out of memory");
  size_t written = codec_out.len;
  if (written) memcpy(dst, codec_out.data, written);
  codec_out.len = 0;
  if (codec_out.cap > CODEC_OUT_KEEP) free(codec_out.data), codec_out = (buf_t){0};
  napi_value n;
  CHECK(napi_create_uint32(env, (uint32_t)written, &n));
  return n;
}

/*
 * codecFeedOffThread(codec, chunks, receivedMs, out, done): codecFeedInto on a thread-pool thread,
 * so that a busy connection's parsing runs beside the main thread's pipeline instead of in it.
 * chunks: a Buffer, or an array of up to FEED_JOB_CHUNKS Buffers fed in order in one job (each job
 * costs the main thread a pool thread's wake-up, which several socket reads can share).
 * done(null, n) when the n bytes of framed records are in out, done(null, Buffer) when they did
 * not fit, done(Error) when the codec failed. One feed per codec at a time: until done runs, the
 * codec refuses every other call, and the caller must not touch chunk or out (both are held).
 */
#define FEED_JOB_CHUNKS 8
typedef struct {
  codec_t *c;
  const uint8_t *chunk[FEED_JOB_CHUNKS];
  size_t chunk_len[FEED_JOB_CHUNKS];
  uint32_t chunks;
  uint8_t *out;
  size_t out_cap;
  double ms;
  int rc;
  size_t written;
  buf_t spill; /* the records when they do not fit out */
  napi_ref chunk_ref, out_ref, codec_ref, done_ref;
  napi_async_work work;
} feed_job_t;

/* On a thread-pool thread: touches only the job and its codec (busy keeps the main thread off it). */
static void feed_job_run(napi_env env, void *data) {
  (void)env;
  feed_job_t *j = data;
  for (uint32_t i = 0; i < j->chunks && !j->rc; i++) j->rc = codec_feed(j->c, j->chunk[i], j->chunk_len[i], j->ms, &codec_out);
  if (!j->rc && codec_out.len <= j->out_cap) {
    if (codec_out.len) memcpy(j->out, codec_out.data, codec_out.len);
    j->written = codec_out.len;
    codec_out.len = 0;
    if (codec_out.cap > CODEC_OUT_KEEP) free(codec_out.data), codec_out = (buf_t){0};
  } else if (!j->rc) {
    j->spill = codec_out; /* handed over whole: this thread's buffer starts again empty */
    codec_out = (buf_t){0};
  }
}

static void feed_job_done(napi_env env, napi_status status, void *data) {
  feed_job_t *j = data;
  j->c->busy = 0;
  napi_value argv[2] = {NULL, NULL}, done, global;
  napi_get_null(env, &argv[0]);
  napi_get_undefined(env, &argv[1]);
  if (status != napi_ok || j->rc) {
    napi_value msg;
    napi_create_string_utf8(env, status != napi_ok ? "codec feed cancelled" : "codec feed: out of memory", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &argv[0]);
  } else if (j->spill.data) {
    void *p;
    if (napi_create_buffer_copy(env, j->spill.len, j->spill.data, &p, &argv[1]) != napi_ok) {
      napi_value msg;
      napi_create_string_utf8(env, "codec feed: out of memory", NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &argv[0]);
    }
  } else {
    napi_create_uint32(env, (uint32_t)j->written, &argv[1]);
  }
  free(j->spill.data);
  napi_get_reference_value(env, j->done_ref, &done);
  napi_get_global(env, &global);
  napi_delete_reference(env, j->chunk_ref);
  napi_delete_reference(env, j->out_ref);
  napi_delete_reference(env, j->codec_ref);
  napi_delete_reference(env, j->done_ref);
  napi_delete_async_work(env, j->work);
  free(j);
  /* An exception thrown by done surfaces as the process's uncaught exception: the JS side catches its own. */
  napi_call_function(env, global, done, 2, argv, NULL);
}

static napi_value CodecFeedOffThread(napi_env env, napi_callback_info info) {
  static const char usage[] = "codecFeedOffThread(codec, chunk | [chunks], receivedMs, out, done)";
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return ll_throw_type(env, usage);
  codec_t *c;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok)
    return ll_throw_type(env, usage);
  if (c->busy) return refuse_busy(env);
  feed_job_t *j = calloc(1, sizeof *j);
  if (!j) return ll_throw_type(env, "codecFeedOffThread: out of memory");
  /* The chunks' bytes stay where they are: the array (referenced below) keeps them alive. */
  bool is_array = false;
  int bad = napi_is_array(env, argv[1], &is_array) != napi_ok;
  if (!bad && is_array) {
    uint32_t n = 0;
    bad = napi_get_array_length(env, argv[1], &n) != napi_ok || n == 0 || n > FEED_JOB_CHUNKS;
    for (uint32_t i = 0; !bad && i < n; i++) {
      napi_value el;
      uint8_t *p;
      bad = napi_get_element(env, argv[1], i, &el) != napi_ok || ll_bytes_of(env, el, &p, &j->chunk_len[i]);
      j->chunk[i] = p;
    }
    j->chunks = n;
  } else if (!bad) {
    uint8_t *p;
    bad = ll_bytes_of(env, argv[1], &p, &j->chunk_len[0]);
    j->chunk[0] = p, j->chunks = 1;
  }
  if (bad || napi_get_value_double(env, argv[2], &j->ms) != napi_ok || ll_bytes_of(env, argv[3], &j->out, &j->out_cap) ||
      napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function) {
    free(j);
    return ll_throw_type(env, usage);
  }
  j->c = c;
  napi_value name;
  napi_create_string_utf8(env, "logloom:codec", NAPI_AUTO_LENGTH, &name);
  /* The chunk, the output, the codec and the callback stay alive until feed_job_done. */
  if (napi_create_reference(env, argv[1], 1, &j->chunk_ref) != napi_ok || napi_create_reference(env, argv[3], 1, &j->out_ref) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &j->codec_ref) != napi_ok || napi_create_reference(env, argv[4], 1, &j->done_ref) != napi_ok ||
      napi_create_async_work(env, NULL, name, feed_job_run, feed_job_done, j, &j->work) != napi_ok) {
    napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "codecFeedOffThread: N-API call failed");
    return NULL;
  }
  c->busy = 1;
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    c->busy = 0;
    napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "codecFeedOffThread: could not queue the work");
    return NULL;
  }
  return NULL;
}

/* codecFeedDatagrams(codec, data, meta Int32Array [length, pid, uid, cut] per datagram, receivedMs) -> Buffer (codec_feed_datagrams) */
static napi_value CodecFeedDatagrams(napi_env env, napi_callback_info info) {
  codec_t *c;
  uint8_t *data, *meta;
  size_t len, meta_len;
  double ms;
  if (ll_args(env, info, "codecFeedDatagrams(codec, data, meta, receivedMs)", "xBBd", (void **)&c, &data, &len, &meta, &meta_len, &ms)) return NULL;
  if (c->busy) return refuse_busy(env);
  if (meta_len % 16 || (uintptr_t)meta % 4) return ll_throw_type(env, "codecFeedDatagrams: meta is not an Int32Array of four per datagram");
  int rc = codec_feed_datagrams(c, data, len, (const int32_t *)(void *)meta, meta_len / 16, ms, &codec_out);
  if (rc == -2) {
    codec_out.len = 0;
    return ll_throw_type(env, "codecFeedDatagrams: not a datagram codec, or the lengths in meta run past data");
  }
  return copy_buffer(env, rc, &codec_out, "codecFeedDatagrams: out of memory");
}

/* codecEnd(codec, receivedMs) -> Buffer */
static napi_value CodecEnd(napi_env env, napi_callback_info info) {
  codec_t *c;
  double ms;
  if (ll_args(env, info, "codecEnd(codec, receivedMs)", "xd", (void **)&c, &ms)) return NULL;
  if (c->busy) return refuse_busy(env);
  return copy_buffer(env, codec_end(c, ms, &codec_out), &codec_out, "codecEnd: out of memory");
}

/* codecFeedAt(codec, chunk, wallMs, monoMs) -> Buffer: format serial, one read with its wall-clock and monotonic arrival times */
static napi_value CodecFeedAt(napi_env env, napi_callback_info info) {
  static const char usage[] = "codecFeedAt(codec, chunk, wallMs, monoMs)";
  codec_t *c;
  uint8_t *chunk;
  size_t len;
  double wall, mono;
  if (ll_args(env, info, usage, "xBdd", (void **)&c, &chunk, &len, &wall, &mono)) return NULL;
  if (c->busy) return refuse_busy(env);
  if (!c->serial) return ll_throw_type(env, "codecFeedAt: not a serial codec");
  /* a time an entry can take (Date's range), and a monotonic time that is a number */
  if (!(wall >= -8.64e15 && wall <= 8.64e15) || !(mono >= -1e300 && mono <= 1e300)) return ll_throw_type(env, "codecFeedAt: wallMs and monoMs must be finite times");
  return copy_buffer(env, serial_feed(c, chunk, len, wall, mono, &codec_out), &codec_out, "codecFeedAt: out of memory");
}

/* codecFlush(codec, what 0 partial line | 1 open group | 2 both, the port closed) -> Buffer (format serial) */
static napi_value CodecFlush(napi_env env, napi_callback_info info) {
  codec_t *c;
  int32_t what;
  if (ll_args(env, info, "codecFlush(codec, what)", "xi", (void **)&c, &what)) return NULL;
  if (c->busy) return refuse_busy(env);
  if (!c->serial) return ll_throw_type(env, "codecFlush: not a serial codec");
  if (what < SERIAL_FLUSH_LINE || what > SERIAL_FLUSH_CLOSE) return ll_throw_type(env, "codecFlush: what is 0 (line), 1 (group) or 2 (close)");
  return copy_buffer(env, serial_flush(c, what, &codec_out), &codec_out, "codecFlush: out of memory");
}


/* codecCounters(codec) -> [lines, records, filtered, cut, rejected] */
static napi_value CodecCounters(napi_env env, napi_callback_info info) {
  codec_t *c;
  if (ll_args(env, info, "codecCounters(codec)", "x", (void **)&c)) return NULL;
  if (c->busy) return refuse_busy(env);
  napi_value arr;
  CHECK(napi_create_array_with_length(env, 5, &arr));
  double v[5] = {c->lines, c->records, c->filtered, c->cut, c->rejected};
  for (uint32_t i = 0; i < 5; i++) {
    napi_value d;
    napi_create_double(env, v[i], &d);
    napi_set_element(env, arr, i, d);
  }
  return arr;
}

/* codecFormatCounters(codec) -> { name: number } of the counters only the codec's format has (kmsg:
 * skipped, missed, last_seq, held_seq; serial: invalid_lines, partial_lines, oops_groups, boots, pending_bytes,
 * open_group_lines); {} for a format without any. */
static napi_value CodecFormatCounters(napi_env env, napi_callback_info info) {
  codec_t *c;
  if (ll_args(env, info, "codecFormatCounters(codec)", "x", (void **)&c)) return NULL;
  if (c->busy) return refuse_busy(env);
  napi_value o;
  CHECK(napi_create_object(env, &o));
  if (c->format == CODEC_KMSG) {
    kmsg_counters_t k;
    kmsg_counters(c, &k);
    const char *names[4] = {"skipped", "missed", "last_seq", "held_seq"};
    double v[4] = {k.skipped, k.missed, k.last_seq, k.held_seq};
    for (int i = 0; i < 4; i++) {
      napi_value d;
      napi_create_double(env, v[i], &d);
      napi_set_named_property(env, o, names[i], d);
    }
  }
  if (c->serial) {
    double v[SERIAL_COUNTERS];
    serial_counters(c, v);
    for (int i = 0; i < SERIAL_COUNTERS; i++) {
      napi_value d;
      CHECK(napi_create_double(env, v[i], &d));
      CHECK(napi_set_named_property(env, o, SERIAL_COUNTER_NAMES[i], d));
    }
  }
  return o;
}

/* ---- in-process (trusted) plugins ---- */
/* A locked build (LOGLOOM_LOCKED=1, the kernel-mode rule: no dynamic loading) has no dynamic plugin loading at
 * all: these functions and the dlopen path are compiled out. */
#if !LOGLOOM_LOCKED

typedef struct {
  ll_plugin_t p;
  int is_sink;
  int faulted; /* signal number of the fault that poisoned it, 0 when healthy */
  int loaded;
} inproc_t;

static void inproc_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  inproc_t *h = data;
  /* A faulted plugin is left mapped: its shutdown or destructors may fault again. */
  if (h->loaded && !h->faulted) ll_plugin_unload(&h->p);
  free(h);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value v;
  napi_create_string_utf8(env, val ? val : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

/* pluginLoad(path, configJson, isSink) -> {handle, info|null}; throws {code:'LOAD'|'INIT', message} */
static napi_value PluginLoad(napi_env env, napi_callback_info info) {
  char *path, *config;
  bool is_sink;
  if (ll_args(env, info, "pluginLoad(path, configJson, isSink)", "ssb", &path, &config, &is_sink)) return NULL;
  inproc_t *h = calloc(1, sizeof *h);
  char err[512];
  const char *code = NULL;
  if (!h) code = "LOAD", snprintf(err, sizeof err, "out of memory");
  else if (ll_plugin_load(&h->p, path, is_sink ? LL_TYPE_SINK : LL_TYPE_FILTER, err, sizeof err)) code = "LOAD";
  else if (ll_plugin_start(&h->p, config, err, sizeof err)) code = "INIT", ll_plugin_unload(&h->p);
  free(path), free(config);
  if (code) {
    free(h);
    napi_value msg, c, e;
    napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
    napi_create_error(env, c, msg, &e);
    napi_throw(env, e);
    return NULL;
  }
  h->loaded = 1;
  const plugin_info_t *pi = h->p.info_data;
  h->is_sink = is_sink || (pi && pi->type && strcmp(pi->type, "sink") == 0);
  napi_value result, handle, infov;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_external(env, h, inproc_finalize, NULL, &handle));
  napi_set_named_property(env, result, "handle", handle);
  if (pi) {
    napi_create_object(env, &infov);
    set_str(env, infov, "name", pi->name);
    set_str(env, infov, "version", pi->version);
    set_str(env, infov, "author", pi->author);
    set_str(env, infov, "type", pi->type);
    set_str(env, infov, "mode", pi->mode);
    napi_value caps;
    napi_create_array(env, &caps);
    uint32_t i = 0;
    for (const char *const *c = pi->capability; c && *c; c++, i++) {
      napi_value s;
      napi_create_string_utf8(env, *c, NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, caps, i, s);
    }
    napi_set_named_property(env, infov, "capability", caps);
  } else {
    napi_get_null(env, &infov);
  }
  napi_set_named_property(env, result, "info", infov);
  return result;
}

static const char *signame(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "signal";
  }
}

/*
 * Runs a decoded batch through a trusted plugin: an Int32Array of results, or a thrown
 * ERR_PLUGIN_FAULT when the plugin faulted (now or earlier). Frees what decode allocated.
 */
static napi_value run_trusted(napi_env env, inproc_t *h, long n, ll_records_t *rec, const char **args) {
  char msg[128];
  napi_value ab, arr;
  void *data;
  if (napi_create_arraybuffer(env, (size_t)(n ? n : 1) * 4, &data, &ab) != napi_ok) {
    free(args), ll_records_free(rec);
    return ll_throw_type(env, "pluginProcess: out of memory");
  }
  int sig = inproc_run(&h->p, h->is_sink, rec->entries, (size_t)n, data);
  free(args), ll_records_free(rec);
  if (sig) {
    h->faulted = sig;
    snprintf(msg, sizeof msg, "plugin crashed with %s inside plugin_process (caught in-process)", signame(sig));
    napi_throw_error(env, "ERR_PLUGIN_FAULT", msg);
    return NULL;
  }
  CHECK(napi_create_typedarray(env, napi_int32_array, (size_t)n, ab, 0, &arr));
  return arr;
}

/* The handle and bytes of a pluginProcess* call, or NULL (thrown) when the plugin cannot be called. */
static inproc_t *callable(napi_env env, napi_callback_info info, const char *usage, uint8_t **bytes, size_t *len) {
  inproc_t *h;
  if (ll_args(env, info, usage, "xB", (void **)&h, bytes, len)) return NULL;
  if (h->faulted || !h->loaded) {
    char msg[128];
    snprintf(msg, sizeof msg, h->faulted ? "plugin faulted earlier (%s); it must be reloaded" : "plugin unloaded", signame(h->faulted));
    napi_throw_error(env, "ERR_PLUGIN_FAULT", msg);
    return NULL;
  }
  return h;
}

/* pluginProcess(handle, batch) -> Int32Array of results; throws when the plugin faults */
static napi_value PluginProcess(napi_env env, napi_callback_info info) {
  uint8_t *batch;
  size_t len;
  inproc_t *h = callable(env, info, "pluginProcess(handle, batch)", &batch, &len);
  if (!h) return NULL;
  ll_records_t rec = {0};
  const char **args;
  long n = ll_batch_decode(batch, len, &rec.entries, &args);
  if (n < 0) return ll_throw_type(env, "pluginProcess: malformed batch");
  return run_trusted(env, h, n, &rec, args);
}

/* pluginProcessRecords(handle, frames) -> Int32Array: the same call on entry records (the records path) */
static napi_value PluginProcessRecords(napi_env env, napi_callback_info info) {
  uint8_t *frames;
  size_t len;
  inproc_t *h = callable(env, info, "pluginProcessRecords(handle, frames)", &frames, &len);
  if (!h) return NULL;
  ll_records_t rec;
  long n = ll_records_decode(frames, len, &rec);
  if (n < 0) return ll_throw_type(env, "pluginProcessRecords: malformed entry records");
  return run_trusted(env, h, n, &rec, NULL);
}

/* pluginUnload(handle): plugin_shutdown + dlclose (skipped for a faulted plugin) */
static napi_value PluginUnload(napi_env env, napi_callback_info info) {
  inproc_t *h;
  if (ll_args(env, info, "pluginUnload(handle)", "x", (void **)&h)) return NULL;
  if (h->loaded && !h->faulted) ll_plugin_unload(&h->p);
  h->loaded = 0;
  return NULL;
}

#endif /* !LOGLOOM_LOCKED */

/* ---- aggregator ingest (ingest.c) ---- */

/*
 * ingestScan(raw, node, nodeMember, suffix, maxMessageBytes, out, ends, levels, state) → code.
 * state is a Uint32Array [rawPos, outPos, n], read and advanced. Codes: ingest.h LL_INGEST_*.
 */
static napi_value IngestScan(napi_env env, napi_callback_info info) {
  static const char usage[] = "ingestScan(raw, node, nodeMember, suffix, maxMessageBytes, out, ends, levels, state)";
  ll_ingest_in_t in;
  uint8_t *raw, *node, *member, *suffix, *out, *ends, *levels, *state;
  size_t raw_len, node_len, member_len, suffix_len, out_len, ends_len, levels_len, state_len;
  uint32_t max_message;
  if (ll_args(env, info, usage, "BBBBuBBBB", &raw, &raw_len, &node, &node_len, &member, &member_len, &suffix, &suffix_len, &max_message,
              &out, &out_len, &ends, &ends_len, &levels, &levels_len, &state, &state_len))
    return NULL;
  if (state_len < 12 || ((uintptr_t)ends & 3) || ((uintptr_t)state & 3) || levels_len < ends_len / 4) return ll_throw_type(env, usage);
  uint32_t *st32 = (uint32_t *)state;
  ll_ingest_state_t st = {st32[0], st32[1], st32[2]};
  if (st.raw_pos > raw_len || st.out_pos > out_len || st.n > ends_len / 4) return ll_throw_type(env, "ingestScan: state out of range");
  in = (ll_ingest_in_t){raw, raw_len, node, node_len, member, member_len, suffix, suffix_len, max_message, out, out_len, (uint32_t *)ends, levels, (uint32_t)(ends_len / 4)};
  int code = ll_ingest_scan(&in, &st);
  st32[0] = (uint32_t)st.raw_pos;
  st32[1] = (uint32_t)st.out_pos;
  st32[2] = st.n;
  return make_int(env, code);
}

/*
 * ingestInflate(body, out) → the inflated length, or an LL_INFLATE_ code (inflate.h); throws
 * nothing for bad data: the caller turns the code into the protocol's BAD_BATCH.
 */
static napi_value IngestInflate(napi_env env, napi_callback_info info) {
  uint8_t *in, *out;
  size_t in_len, out_len;
  if (ll_args(env, info, "ingestInflate(body, out)", "BB", &in, &in_len, &out, &out_len)) return NULL;
  const char *msg;
  return make_int(env, ll_inflate(in, in_len, out, out_len, &msg));
}

/*
 * releaseStartupPages() → [mappings released, KiB they held] or [-errno, 0]; see
 * startup-pages.h. Never throws: an agent that cannot release them runs as before.
 */
static napi_value ReleaseStartupPages(napi_env env, napi_callback_info info) {
  size_t kib = 0;
  int n = ll_release_startup_pages(&kib);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, make_int(env, n));
  napi_set_element(env, out, 1, make_int(env, (int64_t)kib));
  return out;
}

/* levelVerdicts(frames, minRank, out Uint8Array) -> records written (levels.h) */
static napi_value LevelVerdicts(napi_env env, napi_callback_info info) {
  static const char usage[] = "levelVerdicts(frames, minRank, out)";
  uint8_t *frames, *out;
  size_t len, out_len;
  int32_t min_rank;
  if (ll_args(env, info, usage, "BiB", &frames, &len, &min_rank, &out, &out_len)) return NULL;
  return make_int(env, (int64_t)ll_level_verdicts(frames, len, min_rank, out, out_len));
}

/* forwardLines(frames, from, out, at, maxRecords, maxBytes, result Float64Array(4)) (forward-lines.h) */
static napi_value ForwardLines(napi_env env, napi_callback_info info) {
  static const char usage[] = "forwardLines(frames, from, out, at, maxRecords, maxBytes, result)";
  uint8_t *frames, *out, *result;
  size_t len, out_len, result_len;
  double from, at, max_bytes;
  uint32_t max_records;
  if (ll_args(env, info, usage, "BdBdudB", &frames, &len, &from, &out, &out_len, &at, &max_records, &max_bytes, &result, &result_len)) return NULL;
  if (result_len < 4 * sizeof(double) || ((uintptr_t)result & 7) || from < 0 || at < 0 || from > (double)len || at > (double)out_len)
    return ll_throw_type(env, usage);
  ll_forward_lines(frames, len, (size_t)from, out, out_len, (size_t)at, max_records, max_bytes, (double *)result);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"ringPush", NULL, RingPush, NULL, NULL, NULL, napi_default, NULL},
      {"ringPushFrames", NULL, RingPushFrames, NULL, NULL, NULL, napi_default, NULL},
      {"ringDrain", NULL, RingDrain, NULL, NULL, NULL, napi_default, NULL},
      {"codecNew", NULL, CodecNew, NULL, NULL, NULL, napi_default, NULL},
      {"codecFeedDatagrams", NULL, CodecFeedDatagrams, NULL, NULL, NULL, napi_default, NULL},
      {"codecFeed", NULL, CodecFeed, NULL, NULL, NULL, napi_default, NULL},
      {"codecFormatCounters", NULL, CodecFormatCounters, NULL, NULL, NULL, napi_default, NULL},
      {"codecFeedInto", NULL, CodecFeedInto, NULL, NULL, NULL, napi_default, NULL},
      {"codecFeedOffThread", NULL, CodecFeedOffThread, NULL, NULL, NULL, napi_default, NULL},
      {"codecEnd", NULL, CodecEnd, NULL, NULL, NULL, napi_default, NULL},
      {"codecCounters", NULL, CodecCounters, NULL, NULL, NULL, napi_default, NULL},
      {"codecFeedAt", NULL, CodecFeedAt, NULL, NULL, NULL, napi_default, NULL},
      {"codecFlush", NULL, CodecFlush, NULL, NULL, NULL, napi_default, NULL},
      {"ingestScan", NULL, IngestScan, NULL, NULL, NULL, napi_default, NULL},
      {"ingestInflate", NULL, IngestInflate, NULL, NULL, NULL, napi_default, NULL},
      {"dgramOpen", NULL, DgramOpen, NULL, NULL, NULL, napi_default, NULL},
      {"dgramPause", NULL, DgramPause, NULL, NULL, NULL, napi_default, NULL},
      {"dgramClose", NULL, DgramClose, NULL, NULL, NULL, napi_default, NULL},
      {"releaseStartupPages", NULL, ReleaseStartupPages, NULL, NULL, NULL, napi_default, NULL},
      {"levelVerdicts", NULL, LevelVerdicts, NULL, NULL, NULL, napi_default, NULL},
      {"forwardLines", NULL, ForwardLines, NULL, NULL, NULL, napi_default, NULL},
      {"deflaterNew", NULL, ll_deflater_new, NULL, NULL, NULL, napi_default, NULL},
      {"deflaterRun", NULL, ll_deflater_run, NULL, NULL, NULL, napi_default, NULL},
#if !LOGLOOM_LOCKED
      {"pluginLoad", NULL, PluginLoad, NULL, NULL, NULL, napi_default, NULL},
      {"pluginProcess", NULL, PluginProcess, NULL, NULL, NULL, napi_default, NULL},
      {"pluginProcessRecords", NULL, PluginProcessRecords, NULL, NULL, NULL, napi_default, NULL},
      {"pluginUnload", NULL, PluginUnload, NULL, NULL, NULL, napi_default, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  napi_value abi;
  napi_create_uint32(env, LOGLOOM_PLUGIN_ABI_VERSION, &abi);
  napi_set_named_property(env, exports, "abiVersion", abi);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

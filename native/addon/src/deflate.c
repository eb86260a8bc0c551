/* See deflate.h. */
#include "deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "args.h"

typedef struct {
  z_stream zs;
  int ready;           /* deflateInit2 done */
  int busy;            /* a body is being deflated (one at a time) */
  uint8_t *scratch;    /* the output of the body in flight, reused */
  size_t scratch_cap;
  /* The body in flight: its bytes (kept alive by body_ref), where the output ended, zlib's code. */
  const uint8_t *in;
  size_t in_len, out_len;
  int rc;
  napi_ref body_ref, self_ref;
  napi_deferred deferred;
  napi_async_work work;
} deflater_t;

static void deflater_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  deflater_t *d = data;
  if (d->ready) deflateEnd(&d->zs);
  free(d->scratch);
  free(d);
}

napi_value ll_deflater_new(napi_env env, napi_callback_info info) {
  (void)info;
  deflater_t *d = calloc(1, sizeof *d);
  napi_value handle;
  if (!d || napi_create_external(env, d, deflater_finalize, NULL, &handle) != napi_ok) {
    free(d);
    napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "deflaterNew: out of memory");
    return NULL;
  }
  return handle;
}

/* On a thread-pool thread: touches only d (the main thread leaves it alone while busy). */
static void run(napi_env env, void *data) {
  (void)env;
  deflater_t *d = data;
  if (!d->ready) {
    if ((d->rc = deflateInit2(&d->zs, 1, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY)) != Z_OK) return;
    d->ready = 1;
  } else if ((d->rc = deflateReset(&d->zs)) != Z_OK) {
    return;
  }
  size_t bound = deflateBound(&d->zs, (uLong)d->in_len);
  if (bound > d->scratch_cap) {
    uint8_t *p = realloc(d->scratch, bound);
    if (!p) {
      d->rc = Z_MEM_ERROR;
      return;
    }
    d->scratch = p, d->scratch_cap = bound;
  }
  d->zs.next_in = (Bytef *)d->in;
  d->zs.avail_in = (uInt)d->in_len;
  d->zs.next_out = d->scratch;
  d->zs.avail_out = (uInt)d->scratch_cap;
  int rc = deflate(&d->zs, Z_FINISH); /* the bound holds the whole stream: one call ends it */
  d->rc = rc == Z_STREAM_END ? Z_OK : (rc == Z_OK ? Z_BUF_ERROR : rc);
  d->out_len = d->scratch_cap - d->zs.avail_out;
}

/* Back on the main thread: the body's bytes as a Buffer of their own (the scratch is reused). */
static void done(napi_env env, napi_status status, void *data) {
  deflater_t *d = data;
  napi_value result = NULL;
  int ok = status == napi_ok && d->rc == Z_OK && napi_create_buffer_copy(env, d->out_len, d->scratch, NULL, &result) == napi_ok;
  if (!ok) {
    napi_value msg, err;
    char text[96];
    snprintf(text, sizeof text, "deflate failed (zlib %d%s)", d->rc, status == napi_ok ? "" : ", cancelled");
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    result = err;
  }
  napi_deferred deferred = d->deferred;
  napi_delete_reference(env, d->body_ref);
  napi_delete_reference(env, d->self_ref);
  napi_delete_async_work(env, d->work);
  d->busy = 0, d->deferred = NULL, d->work = NULL, d->in = NULL;
  if (ok) napi_resolve_deferred(env, deferred, result);
  else napi_reject_deferred(env, deferred, result);
}

napi_value ll_deflater_run(napi_env env, napi_callback_info info) {
  static const char usage[] = "deflaterRun(handle, body)";
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return ll_throw_type(env, usage);
  deflater_t *d;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], (void **)&d) != napi_ok)
    return ll_throw_type(env, usage);
  uint8_t *in;
  size_t in_len;
  if (ll_bytes_of(env, argv[1], &in, &in_len) || in_len > UINT32_MAX) return ll_throw_type(env, usage);
  if (d->busy) {
    napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "deflaterRun: a body is already being deflated on this handle");
    return NULL;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &d->deferred, &promise) != napi_ok) return NULL;
  napi_create_string_utf8(env, "logloom:deflate", NAPI_AUTO_LENGTH, &name);
  /* The body and the handle stay alive until done() (a strong reference each). */
  if (napi_create_reference(env, argv[1], 1, &d->body_ref) != napi_ok || napi_create_reference(env, argv[0], 1, &d->self_ref) != napi_ok ||
      napi_create_async_work(env, NULL, name, run, done, d, &d->work) != napi_ok) {
    napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "deflaterRun: N-API call failed");
    return NULL;
  }
  d->in = in, d->in_len = in_len, d->busy = 1, d->rc = Z_OK;
  if (napi_queue_async_work(env, d->work) != napi_ok) {
    napi_throw_error(env, "ERR_LOGLOOM_NATIVE", "deflaterRun: could not queue the work");
    return NULL;
  }
  return promise;
}

/*
 * See dgram.h. One reader thread per socket:
 *   poll(socket, stop pipe) ─► recvmsg (non-blocking, up to BATCH_MAX datagrams) ─► batch
 *   ─► napi_call_threadsafe_function (blocking when JavaScript's queue is full) ─► onBatch
 * A batch is one Buffer with the datagrams back to back and an Int32Array of 4 ints per datagram:
 * length, sender pid, sender uid, and 1 when the datagram was longer than maxBytes (cut).
 * Sender credentials come from SO_PASSCRED (the kernel's, not the sender's claim).
 */
#define _GNU_SOURCE
#include "dgram.h"
#include "args.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH_MAX 256
#define QUEUE_MAX 16

typedef struct {
  uint8_t *data;
  size_t used;
  int32_t meta[BATCH_MAX * 4];
  size_t n;
} batch_t;

typedef struct {
  int fd;
  int stop[2];
  size_t max_bytes;
  atomic_int paused;
  atomic_int closed;
  pthread_t thread;
  napi_threadsafe_function tsfn;
} dgram_t;

static napi_value throw_err(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static void free_batch(batch_t *b) {
  if (!b) return;
  free(b->data);
  free(b);
}

/* Runs on the JS thread: hands one batch to onBatch. */
static void call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  batch_t *b = data;
  if (env && cb && b) {
    napi_value buf, ab, meta, undef;
    void *p;
    if (napi_create_buffer_copy(env, b->used, b->data, &p, &buf) == napi_ok &&
        napi_create_arraybuffer(env, b->n * 4 * sizeof(int32_t), &p, &ab) == napi_ok) {
      memcpy(p, b->meta, b->n * 4 * sizeof(int32_t));
      if (napi_create_typedarray(env, napi_int32_array, b->n * 4, ab, 0, &meta) == napi_ok) {
        napi_get_undefined(env, &undef);
        napi_value argv[2] = {buf, meta};
        napi_call_function(env, undef, cb, 2, argv, NULL);
      }
    }
  }
  free_batch(b);
}

/* Reads what is queued now (up to BATCH_MAX datagrams) into a batch; NULL when there was nothing. */
static batch_t *read_batch(dgram_t *d) {
  batch_t *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  size_t cap = d->max_bytes * 4 + 1;
  b->data = malloc(cap);
  if (!b->data) return free(b), NULL;
  char cbuf[CMSG_SPACE(sizeof(struct ucred))];
  while (b->n < BATCH_MAX) {
    if (cap - b->used < d->max_bytes + 1) {
      uint8_t *nd = realloc(b->data, cap * 2);
      if (!nd) break;
      b->data = nd;
      cap *= 2;
    }
    struct iovec iov = {b->data + b->used, d->max_bytes};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t r = recvmsg(d->fd, &mh, MSG_DONTWAIT);
    if (r < 0) break; /* EAGAIN: the queue is empty; other errors: try again after poll */
    int32_t pid = 0, uid = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cr;
        memcpy(&cr, CMSG_DATA(c), sizeof cr);
        pid = cr.pid;
        uid = (int32_t)cr.uid;
      }
    }
    int32_t *m = b->meta + b->n * 4;
    m[0] = (int32_t)r;
    m[1] = pid;
    m[2] = uid;
    m[3] = (mh.msg_flags & MSG_TRUNC) ? 1 : 0;
    b->used += (size_t)r;
    b->n++;
  }
  if (b->n == 0) return free_batch(b), NULL;
  return b;
}

static void *reader(void *arg) {
  dgram_t *d = arg;
  struct pollfd p[2] = {{d->fd, POLLIN, 0}, {d->stop[0], POLLIN, 0}};
  while (!atomic_load(&d->closed)) {
    /* Paused: leave the datagrams in the kernel's queue (senders wait when it is full). */
    p[0].events = atomic_load(&d->paused) ? 0 : POLLIN;
    int r = poll(p, 2, 200);
    if (r < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (r <= 0 || !(p[0].revents & POLLIN)) continue;
    batch_t *b = read_batch(d);
    if (!b) continue;
    /* Blocks while JavaScript's queue is full: the socket is not read meanwhile. */
    if (napi_call_threadsafe_function(d->tsfn, b, napi_tsfn_blocking) != napi_ok) {
      free_batch(b);
      break;
    }
  }
  return NULL;
}

/*
 * Wakes the reader thread through its stop pipe, waits for it and closes the socket and the pipe.
 * Called once, by whoever set d->closed first (dgramClose or the finalizer). The reader may be
 * blocked handing a batch to the JS thread: aborting the threadsafe function releases it.
 */
static void stop_reader(dgram_t *d) {
  if (write(d->stop[1], "x", 1) < 0) {}
  napi_release_threadsafe_function(d->tsfn, napi_tsfn_abort);
  pthread_join(d->thread, NULL);
  close(d->fd);
  close(d->stop[0]);
  close(d->stop[1]);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  dgram_t *d = data;
  /* Garbage-collected without dgramClose: stop the thread before freeing what it uses. */
  if (!atomic_exchange(&d->closed, 1)) stop_reader(d);
  free(d);
}

napi_value DgramOpen(napi_env env, napi_callback_info info) {
  char *path_arg;
  uint32_t mode, max_bytes;
  napi_value on_batch;
  if (ll_args(env, info, "dgramOpen(path, mode, maxBytes, onBatch)", "suuv", &path_arg, &mode, &max_bytes, &on_batch)) return NULL;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t plen = strlen(path_arg);
  int path_ok = plen > 0 && plen < sizeof path - 1;
  if (path_ok) memcpy(path, path_arg, plen + 1);
  free(path_arg);
  if (!path_ok) return throw_err(env, "ERR_LOGLOOM_NATIVE", "dgramOpen: path must be a string of 1 to 106 bytes");
  if (max_bytes < 16) return throw_err(env, "ERR_LOGLOOM_NATIVE", "dgramOpen: maxBytes must be at least 16");
  dgram_t *d = calloc(1, sizeof *d);
  if (!d) return throw_err(env, "ENOMEM", "dgramOpen: out of memory");
  d->max_bytes = max_bytes;
  d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d->fd < 0) return free(d), throw_err(env, "ESOCKET", strerror(errno));
  int one = 1;
  setsockopt(d->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, path, plen);
  unlink(path); /* a stale socket from an earlier run */
  char why[256];
  if (bind(d->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    snprintf(why, sizeof why, "cannot bind %s: %s", path, strerror(errno));
    close(d->fd);
    free(d);
    return throw_err(env, "EBIND", why);
  }
  chmod(path, mode);
  if (pipe2(d->stop, O_CLOEXEC) != 0) {
    close(d->fd);
    free(d);
    return throw_err(env, "EPIPE", strerror(errno));
  }
  napi_value name;
  napi_create_string_utf8(env, "logloom dgram", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, on_batch, NULL, name, QUEUE_MAX, 1, NULL, NULL, NULL, call_js, &d->tsfn) != napi_ok) {
    close(d->fd);
    close(d->stop[0]);
    close(d->stop[1]);
    free(d);
    return throw_err(env, "ERR_LOGLOOM_NATIVE", "dgramOpen: cannot create the thread-safe function");
  }
  /* Not kept alive by the socket: the input's own lifecycle decides when the agent exits. */
  napi_unref_threadsafe_function(env, d->tsfn);
  if (pthread_create(&d->thread, NULL, reader, d) != 0) {
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_abort);
    close(d->fd);
    close(d->stop[0]);
    close(d->stop[1]);
    free(d);
    return throw_err(env, "ERR_LOGLOOM_NATIVE", "dgramOpen: cannot start the reader thread");
  }
  napi_value handle;
  if (napi_create_external(env, d, finalize_handle, NULL, &handle) != napi_ok) return NULL;
  return handle;
}

napi_value DgramPause(napi_env env, napi_callback_info info) {
  dgram_t *d;
  bool paused;
  if (ll_args(env, info, "dgramPause(handle, paused)", "xb", (void **)&d, &paused)) return NULL;
  atomic_store(&d->paused, paused ? 1 : 0);
  return NULL;
}

napi_value DgramClose(napi_env env, napi_callback_info info) {
  dgram_t *d;
  if (ll_args(env, info, "dgramClose(handle)", "x", (void **)&d)) return NULL;
  if (!atomic_exchange(&d->closed, 1)) stop_reader(d);
  return NULL;
}
